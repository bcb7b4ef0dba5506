"""delete_scope: every memory of a scope, its history, and the graph only it supported."""

from __future__ import annotations

import sqlite3
from typing import Any

from powermem.stores.base import Scope
from powermem.stores.embedded.scoping import scope_sql, tenants_within_sql
from powermem.stores.embedded.writes import drop_orphans, drop_unsupported

_FORGOTTEN = "(SELECT id FROM temp.forgotten)"


def forget_scope(conn: sqlite3.Connection, scope: Scope) -> list[tuple[str, int]]:
    """Deletes inside the caller's transaction; returns the (tenant, id) of each deleted memory.

    No DELETE events are written: every event of the scope goes, the ones of memories deleted
    earlier included, so that nothing of a forgotten tenant stays behind.
    """
    params: list[Any] = []
    where = scope_sql(scope, params)
    deleted: list[tuple[str, int]] = conn.execute(f"SELECT tenant, id FROM memories WHERE {where}", params).fetchall()
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS forgotten (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.forgotten")
    conn.executemany("INSERT INTO temp.forgotten (id) VALUES (?)", [(memory_id,) for _, memory_id in deleted])
    relations = {r[0] for r in conn.execute(
        f"SELECT DISTINCT relation_id FROM relation_memories WHERE memory_id IN {_FORGOTTEN}"
    )}
    entities = {r[0] for r in conn.execute(f"SELECT DISTINCT entity_id FROM mentions WHERE memory_id IN {_FORGOTTEN}")}
    conn.execute(f"DELETE FROM relation_memories WHERE memory_id IN {_FORGOTTEN}")
    conn.execute(f"DELETE FROM mentions WHERE memory_id IN {_FORGOTTEN}")
    conn.executemany("DELETE FROM memory_fts WHERE rowid = ?", [(memory_id,) for _, memory_id in deleted])
    conn.execute(f"DELETE FROM memories WHERE id IN {_FORGOTTEN}")
    conn.execute("DELETE FROM temp.forgotten")
    conn.execute(f"DELETE FROM history WHERE {where}", params)
    drop_unsupported(conn, relations, entities)
    drop_orphans(conn, entities)
    if not scope.run_narrowed:
        _sweep_graphs(conn, scope)
    return deleted


def _sweep_graphs(conn: sqlite3.Connection, scope: Scope) -> None:
    """Deletes the whole graph of each tenant inside the scope.

    Every memory that could support such a graph matched the scope and is gone, so the rules
    above already left it empty; this makes sure of it for stores whose graph outlived its
    memories (written before provenance was recorded). A run inside a user/agent graph is not
    swept: the graph spans the other runs.
    """
    params: list[Any] = []
    where = tenants_within_sql(scope, params)
    tenants = [r[0] for r in conn.execute(f"SELECT DISTINCT tenant FROM entities WHERE {where}", params)]
    for tenant in tenants:
        conn.execute(
            "DELETE FROM relation_memories WHERE relation_id IN (SELECT id FROM relations WHERE tenant = ?)", (tenant,)
        )
        conn.execute("DELETE FROM relations WHERE tenant = ?", (tenant,))
        conn.execute("DELETE FROM mentions WHERE entity_id IN (SELECT id FROM entities WHERE tenant = ?)", (tenant,))
        conn.execute("DELETE FROM entities WHERE tenant = ?", (tenant,))
