"""Rows of the embedded store for backups (see ``powermem.stores.dump``): read and written verbatim.

Every function runs inside the caller's transaction (reads: one statement each) on the
SQLite thread. Loading is an upsert by id; a memory's mentions and a relation's provenance
are replaced by the loaded ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from powermem.errors import InvalidInputError
from powermem.stores.base import Scope
from powermem.stores.dump import RELATION_TIMES, Row, Section, graph_scope, relation_times

__all__ = ["counts", "dump", "load"]

_Dumper = Callable[[sqlite3.Connection, int, int], list[Row]]


def _vector(blob: bytes) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    vector = np.frombuffer(blob, dtype=np.float32).copy()
    return vector if vector.any() else None  # a zero vector is "none", as the Neo4j store keeps it


def _blob(vector: Any, dims: int) -> bytes:
    if vector is None:
        return np.zeros(dims, dtype=np.float32).tobytes()
    array = np.ascontiguousarray(vector, dtype=np.float32).ravel()
    if array.shape[0] != dims:
        raise InvalidInputError(f"an embedding has {array.shape[0]} dimensions, the store has {dims}")
    return array.tobytes()


def _ids(text: str | None) -> list[int]:
    return sorted(json.loads(text)) if text else []


def _entities(conn: sqlite3.Connection, after: int, limit: int) -> list[Row]:
    rows = conn.execute(
        "SELECT id, tenant, name, name_key, type, embedding, created_at, updated_at FROM entities "
        "WHERE id > ? ORDER BY id LIMIT ?", (after, limit),
    ).fetchall()
    out = []
    for r in rows:
        scope = graph_scope(r[1])
        out.append({"id": r[0], "user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id,
                    "name": r[2], "name_key": r[3], "type": r[4], "embedding": _vector(r[5]),
                    "created_at": r[6], "updated_at": r[7]})
    return out


def _memories(conn: sqlite3.Connection, after: int, limit: int) -> list[Row]:
    rows = conn.execute(
        "SELECT id, memory, hash, user_id, agent_id, run_id, metadata, created_at, updated_at, embedding, "
        "(SELECT json_group_array(entity_id) FROM mentions WHERE memory_id = m.id) FROM memories m "
        "WHERE id > ? ORDER BY id LIMIT ?", (after, limit),
    ).fetchall()
    return [{"id": r[0], "memory": r[1], "hash": r[2], "user_id": r[3], "agent_id": r[4], "run_id": r[5],
             "metadata": json.loads(r[6]), "created_at": r[7], "updated_at": r[8], "embedding": _vector(r[9]),
             "entity_ids": _ids(r[10])} for r in rows]


def _relations(conn: sqlite3.Connection, after: int, limit: int) -> list[Row]:
    times = ", ".join(RELATION_TIMES)  # fixed column names
    rows = conn.execute(
        "SELECT id, source_id, destination_id, relationship, fact, "
        "(SELECT json_group_array(memory_id) FROM relation_memories WHERE relation_id = r.id), "
        f"{times} FROM relations r WHERE id > ? ORDER BY id LIMIT ?", (after, limit),
    ).fetchall()
    return [{"id": r[0], "source_id": r[1], "destination_id": r[2], "relationship": r[3], "fact": r[4],
             "memory_ids": _ids(r[5]), "times": dict(zip(RELATION_TIMES, r[6:], strict=True))} for r in rows]


_EVENT_COLUMNS = ("id", "memory_id", "event", "old_memory", "new_memory", "created_at", "actor",
                  "user_id", "agent_id", "run_id")


def _events(conn: sqlite3.Connection, after: int, limit: int) -> list[Row]:
    rows = conn.execute(
        f"SELECT {', '.join(_EVENT_COLUMNS)} FROM history WHERE id > ? ORDER BY id LIMIT ?", (after, limit),
    ).fetchall()
    return [dict(zip(_EVENT_COLUMNS, r, strict=True)) for r in rows]


_DUMPERS: dict[Section, _Dumper] = {
    "entities": _entities, "memories": _memories, "relations": _relations, "events": _events,
}


def dump(conn: sqlite3.Connection, section: Section, after: int | None, limit: int) -> tuple[list[Row], int | None]:
    rows = _DUMPERS[section](conn, -(2**63) if after is None else after, limit)
    return rows, (rows[-1]["id"] if len(rows) == limit else None)


def load(conn: sqlite3.Connection, section: Section, rows: Sequence[Row], dims: int) -> None:
    loader = {"entities": _load_entity, "memories": _load_memory, "relations": _load_relation,
              "events": _load_event}[section]
    for row in rows:
        loader(conn, row, dims)


def _load_entity(conn: sqlite3.Connection, row: Row, dims: int) -> None:
    scope = Scope(row["user_id"], row["agent_id"], row["run_id"])
    # Upsert on the id only: another entity with the same (tenant, name_key) fails the unique
    # constraint (and the batch), as in the Neo4j store, instead of being replaced.
    conn.execute(
        "INSERT INTO entities (id, tenant, user_id, agent_id, name, name_key, type, embedding, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "tenant = excluded.tenant, user_id = excluded.user_id, agent_id = excluded.agent_id, name = excluded.name, "
        "name_key = excluded.name_key, type = excluded.type, embedding = excluded.embedding, "
        "created_at = excluded.created_at, updated_at = excluded.updated_at",
        (row["id"], scope.graph_tenant, scope.user_id, scope.agent_id, row["name"], row["name_key"], row["type"],
         _blob(row["embedding"], dims), row["created_at"], row["updated_at"]),
    )


def _load_memory(conn: sqlite3.Connection, row: Row, dims: int) -> None:
    s = Scope(row["user_id"], row["agent_id"], row["run_id"])
    conn.execute("DELETE FROM memory_fts WHERE rowid = ?", (row["id"],))
    conn.execute("DELETE FROM mentions WHERE memory_id = ?", (row["id"],))
    conn.execute(
        "INSERT OR REPLACE INTO memories (id, memory, hash, embedding, user_id, agent_id, run_id, tenant, "
        "graph_tenant, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row["id"], row["memory"], row["hash"], _blob(row["embedding"], dims), s.user_id, s.agent_id, s.run_id,
         s.memory_tenant, s.graph_tenant, json.dumps(row["metadata"]), row["created_at"], row["updated_at"]),
    )
    conn.execute("INSERT INTO memory_fts (rowid, memory) VALUES (?, ?)", (row["id"], row["memory"]))
    conn.executemany("INSERT INTO mentions VALUES (?, ?)", [(row["id"], e) for e in row["entity_ids"]])


def _load_relation(conn: sqlite3.Connection, row: Row, dims: int) -> None:
    unknown = sorted(set(row["times"]) - set(RELATION_TIMES))
    if unknown:
        raise InvalidInputError(f"relation {row['id']}: this store keeps no relation time field {unknown[0]!r}")
    tenant = conn.execute("SELECT tenant FROM entities WHERE id = ?", (row["source_id"],)).fetchone()
    found = conn.execute("SELECT 1 FROM entities WHERE id = ?", (row["destination_id"],)).fetchone()
    if tenant is None or found is None:
        raise InvalidInputError(f"relation {row['id']}: one of its entities does not exist")
    times = list(relation_times(row["times"]).values())
    conn.execute(
        f"INSERT OR REPLACE INTO relations (id, tenant, source_id, destination_id, relationship, fact, "
        f"{', '.join(RELATION_TIMES)}) VALUES (?, ?, ?, ?, ?, ?{', ?' * len(RELATION_TIMES)})",
        (row["id"], tenant[0], row["source_id"], row["destination_id"], row["relationship"], row["fact"], *times),
    )
    conn.execute("DELETE FROM relation_memories WHERE relation_id = ?", (row["id"],))
    conn.executemany("INSERT INTO relation_memories VALUES (?, ?)", [(row["id"], m) for m in row["memory_ids"]])


def _load_event(conn: sqlite3.Connection, row: Row, dims: int) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO history ({', '.join(_EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})",
        tuple(row[key] for key in _EVENT_COLUMNS),
    )


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = {"memories": "memories", "entities": "entities", "relations": "relations", "events": "history"}
    return {section: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for section, table in tables.items()}
