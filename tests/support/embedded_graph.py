"""Builders of store-level write plans, and scans of an embedded store file's every table."""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from powermem.stores.base import EntityInput, NewMemory, RelationInput, Scope, Vector
from powermem.stores.embedded.engine import SqliteEngine

DIMS = 8
AT = "2026-02-02T00:00:00.000000+00:00"


def axis(i: int) -> Vector:
    vector = np.zeros(DIMS, dtype=np.float32)
    vector[i % DIMS] = 1.0
    return vector


def new_memory(memory_id: int, text: str, scope: Scope, *keys: str, metadata: dict[str, Any] | None = None) -> NewMemory:
    return NewMemory(memory_id, text, f"h{memory_id}", axis(memory_id), scope, metadata or {}, AT, tuple(keys))


def entity(entity_id: int, key: str, vector: Vector | None = None) -> EntityInput:
    return EntityInput(entity_id, key.title(), key, "person", axis(entity_id) if vector is None else vector)


def relation(relation_id: int, source: str, relationship: str, destination: str, *memory_ids: int) -> RelationInput:
    fact = f"{source} {relationship.lower()} {destination}"
    return RelationInput(relation_id, source, destination, relationship, fact, tuple(memory_ids), AT, AT)


def triples(rows: list[Any]) -> set[tuple[str, str, str, tuple[int, ...]]]:
    """(source name_key-ish name, type, destination, provenance) of relation rows."""
    return {(r.source.lower(), r.relationship, r.destination.lower(), r.memory_ids) for r in rows}


def tables(conn: sqlite3.Connection) -> list[str]:
    """Every table holding rows of the store: plain tables and the full-text table, not its shadows."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [n for n in names if not n.startswith(("sqlite_", "memory_fts_")) and n != "meta"]


def leftovers(engine: SqliteEngine, needle: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Every row, in any table, with a text cell containing ``needle`` (ids, tenant keys, text)."""
    conn = engine._conn
    found = []
    for table in tables(conn):
        for row in conn.execute(f"SELECT * FROM {table}"):  # table: a name read from sqlite_master
            if any(isinstance(cell, str) and needle in cell for cell in row):
                found.append((table, tuple(row)))
    return found


def dangling(engine: SqliteEngine) -> dict[str, int]:
    """Rows that the graph rules forbid; all counts are zero in a consistent store."""
    conn = engine._conn
    checks = {
        "mention of a missing memory or entity, or across graphs":
            "SELECT count(*) FROM mentions x WHERE NOT EXISTS (SELECT 1 FROM memories m JOIN entities e "
            "ON e.id = x.entity_id WHERE m.id = x.memory_id AND m.graph_tenant = e.tenant)",
        "provenance of a missing relation or memory, or across graphs":
            "SELECT count(*) FROM relation_memories p WHERE NOT EXISTS (SELECT 1 FROM relations r JOIN memories m "
            "ON m.id = p.memory_id WHERE r.id = p.relation_id AND m.graph_tenant = r.tenant)",
        "relation without provenance":
            "SELECT count(*) FROM relations r WHERE NOT EXISTS (SELECT 1 FROM relation_memories p "
            "WHERE p.relation_id = r.id)",
        "relation with an end outside its graph":
            "SELECT count(*) FROM relations r WHERE NOT EXISTS (SELECT 1 FROM entities s JOIN entities d "
            "WHERE s.id = r.source_id AND d.id = r.destination_id AND s.tenant = r.tenant AND d.tenant = r.tenant)",
        "orphan entity":
            "SELECT count(*) FROM entities e WHERE NOT EXISTS (SELECT 1 FROM mentions WHERE entity_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM relations WHERE source_id = e.id OR destination_id = e.id)",
        "full-text row without its memory":
            "SELECT count(*) FROM memory_fts WHERE rowid NOT IN (SELECT id FROM memories)",
    }
    return {name: conn.execute(sql).fetchone()[0] for name, sql in checks.items()}


def consistent(engine: SqliteEngine) -> bool:
    return not any(dangling(engine).values())


def count(engine: SqliteEngine, table: str) -> int:
    return int(engine._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # table: a fixed name
