"""Moving an embedded store to another embedder in place (``powermem reembed``).

The new vectors go to two side tables, ``reembed_memories`` and ``reembed_entities`` (id ->
embedding), each batch one transaction, while searches keep reading ``embedding`` with the
old dimension. ``meta`` key ``reembed`` names the target embedder; while it is there every
write is refused, so a row in a side table is a finished row and a killed run resumes with
the rows that have none. The switch is one transaction: the side tables' vectors replace the
old ones, ``dims`` changes, the side tables and the key go. Readers see all old or all new.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from powermem.errors import StoreError

__all__ = ["SIDE_TABLES", "abort", "begin", "pending", "remaining", "state", "switch", "write"]

# kind -> (the table re-embedded, its text column, the side table of its new vectors)
SIDE_TABLES = {
    "memories": ("memories", "memory", "reembed_memories"),
    "entities": ("entities", "name", "reembed_entities"),
}


def state(conn: sqlite3.Connection) -> tuple[int | None, dict[str, Any] | None]:
    """The store's dimension (None: a new store) and the target of a re-embed in progress."""
    found = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('dims', 'reembed')").fetchall())
    target = json.loads(found["reembed"]) if "reembed" in found else None
    return (int(found["dims"]) if "dims" in found else None), target


def begin(conn: sqlite3.Connection, target: dict[str, Any]) -> None:
    """Records the target and creates the side tables (in the caller's transaction)."""
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('reembed', ?)", (json.dumps(target, sort_keys=True),))
    for _, _, side in SIDE_TABLES.values():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {side} (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")


def pending(conn: sqlite3.Connection, kind: str, after: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` rows after id ``after`` without a new vector: (id, text), in id order."""
    table, column, side = SIDE_TABLES[kind]
    sql = (f"SELECT t.id, t.{column} FROM {table} AS t WHERE t.id > ? "
           f"AND NOT EXISTS (SELECT 1 FROM {side} AS s WHERE s.id = t.id) ORDER BY t.id LIMIT ?")
    return [(int(r[0]), str(r[1])) for r in conn.execute(sql, (after, limit))]


def write(conn: sqlite3.Connection, kind: str, rows: Sequence[tuple[int, bytes]]) -> None:
    side = SIDE_TABLES[kind][2]
    conn.executemany(f"INSERT OR REPLACE INTO {side} (id, embedding) VALUES (?, ?)", rows)


def remaining(conn: sqlite3.Connection, kind: str) -> tuple[int, int]:
    """(rows in all, rows still without a new vector)."""
    table, _, side = SIDE_TABLES[kind]
    total = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    left = conn.execute(
        f"SELECT count(*) FROM {table} AS t WHERE NOT EXISTS (SELECT 1 FROM {side} AS s WHERE s.id = t.id)"
    ).fetchone()[0]
    return int(total), int(left)


def switch(conn: sqlite3.Connection, dims: int) -> None:
    """The new vectors replace the old, in the caller's transaction; every row must have one."""
    for kind, (table, _, side) in SIDE_TABLES.items():
        if remaining(conn, kind)[1]:
            raise StoreError(f"re-embed: some {kind} have no new vector yet; run it again to finish")
        conn.execute(f"UPDATE {table} SET embedding = s.embedding FROM {side} AS s WHERE s.id = {table}.id")
    abort(conn)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('dims', ?)", (str(dims),))


def abort(conn: sqlite3.Connection) -> None:
    """Forgets a re-embed in progress: its new vectors, and the key that refuses writes."""
    for _, _, side in SIDE_TABLES.values():
        conn.execute(f"DROP TABLE IF EXISTS {side}")
    conn.execute("DELETE FROM meta WHERE key = 'reembed'")
