"""A writer of embedded store files as graph version 1 left them (commit 078ee15, before issue 12).

The schema is that version's, verbatim; rows are written as its PlanWriter wrote them: one
optional ``memory_id`` per relation, and one entity tenant (user, U+001F, agent) per scope, so
every run-only scope shares the tenant U+001F alone. Used to test the migration on initialize().
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from powermem.stores.base import Scope, Vector

AT = "2026-01-01T00:00:00.000000+00:00"

LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memories (
    id INTEGER PRIMARY KEY,
    memory TEXT NOT NULL,
    hash TEXT NOT NULL,
    embedding BLOB NOT NULL,
    user_id TEXT, agent_id TEXT, run_id TEXT,
    tenant TEXT NOT NULL,
    entity_tenant TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS memories_tenant ON memories (tenant, id);
CREATE INDEX IF NOT EXISTS memories_user ON memories (user_id, id);
CREATE INDEX IF NOT EXISTS memories_agent ON memories (agent_id, id);
CREATE INDEX IF NOT EXISTS memories_run ON memories (run_id, id);
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5 (memory, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts_terms USING fts5vocab (memory_fts, 'row');
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT, agent_id TEXT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    type TEXT NOT NULL,
    embedding BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant, name_key)
);
CREATE TABLE IF NOT EXISTS mentions (
    memory_id INTEGER NOT NULL,
    entity_id INTEGER NOT NULL,
    PRIMARY KEY (memory_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mentions_entity ON mentions (entity_id, memory_id);
CREATE TABLE IF NOT EXISTS relations (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    destination_id INTEGER NOT NULL,
    relationship TEXT NOT NULL,
    fact TEXT NOT NULL,
    memory_id INTEGER,
    valid_at TEXT NOT NULL,
    invalid_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS relations_source ON relations (source_id);
CREATE INDEX IF NOT EXISTS relations_destination ON relations (destination_id);
CREATE INDEX IF NOT EXISTS relations_memory ON relations (memory_id);
CREATE INDEX IF NOT EXISTS relations_tenant ON relations (tenant, id);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    memory_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    old_memory TEXT,
    new_memory TEXT,
    created_at TEXT NOT NULL,
    actor TEXT,
    user_id TEXT, agent_id TEXT, run_id TEXT
);
CREATE INDEX IF NOT EXISTS history_memory ON history (memory_id, id);
"""


def _tenant(scope: Scope) -> str:
    return f"{scope.user_id or ''}\x1f{scope.agent_id or ''}"  # version 1's Scope.entity_tenant


def _blob(vector: Vector) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class LegacyStore:
    """Rows of a version-1 store, written straight with version 1's statements."""

    def __init__(self, path: Path, dims: int) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.executescript(LEGACY_SCHEMA)
        self.conn.execute("BEGIN")  # one commit for the whole file, at close()
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('dims', ?)", (str(dims),))

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()

    def memory(self, memory_id: int, text: str, scope: Scope, vector: Vector, metadata: dict[str, object] | None = None) -> None:
        memory_tenant = f"{scope.user_id or ''}\x1f{scope.agent_id or ''}\x1f{scope.run_id or ''}"
        self.conn.execute(
            "INSERT INTO memories (id, memory, hash, embedding, user_id, agent_id, run_id, tenant, "
            "entity_tenant, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (memory_id, text, str(memory_id), _blob(vector), scope.user_id, scope.agent_id, scope.run_id,
             memory_tenant, _tenant(scope), json.dumps(metadata or {}), AT, AT),
        )
        self.conn.execute("INSERT INTO memory_fts (rowid, memory) VALUES (?, ?)", (memory_id, text))
        self.conn.execute(
            "INSERT INTO history (id, memory_id, event, old_memory, new_memory, created_at, actor, "
            "user_id, agent_id, run_id) VALUES (?, ?, 'ADD', NULL, ?, ?, NULL, ?, ?, ?)",
            (memory_id + 900_000, memory_id, text, AT, scope.user_id, scope.agent_id, scope.run_id),
        )

    def entity(self, entity_id: int, name: str, scope: Scope, vector: Vector) -> None:
        self.conn.execute(
            "INSERT INTO entities (id, tenant, user_id, agent_id, name, name_key, type, embedding, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entity_id, _tenant(scope), scope.user_id, scope.agent_id, name, name.lower(), "person",
             _blob(vector), AT, AT),
        )

    def mention(self, memory_id: int, entity_id: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO mentions VALUES (?, ?)", (memory_id, entity_id))

    def relation(
        self, relation_id: int, scope: Scope, source_id: int, destination_id: int, relationship: str,
        memory_id: int | None, invalid_at: str | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO relations (id, tenant, source_id, destination_id, relationship, fact, memory_id, "
            "valid_at, invalid_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (relation_id, _tenant(scope), source_id, destination_id, relationship, f"fact {relation_id}",
             memory_id, AT, invalid_at, AT),
        )
