"""SQLite schema of the embedded store. Every statement is idempotent.

``SCHEMA_VERSION`` is the store's schema version, kept in ``PRAGMA user_version`` (a field of
the file header, written in the same transaction as the migration that reaches it):

1. before graph tenancy: one shared graph for run-only scopes, one ``memory_id`` per relation;
2. graph tenancy (per-run graphs, relation provenance); ``meta`` says ``graph_version`` 2. Stores
   of 0.1.0 up to commit e330da7 are at 2 but record no ``user_version`` (it reads 0);
3. the schema version is recorded in ``user_version``; no data change.

migrate.py brings an older store up to date; a newer one is refused (see ``upgrade``).
``GRAPH_VERSION`` stays in ``meta`` for the code of version 2, which reads it.
"""

from __future__ import annotations

import sqlite3

MMAP_BYTES = 1 << 30

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL mode survives a killed process; only power loss can drop the last commits.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA busy_timeout=10000",
    # Reads map the file instead of copying pages through SQLite's 2 MB cache: full-text
    # queries at 100,000 memories take 3.6 instead of 4.5 ms. Address space, not memory,
    # except for the pages a read touches: those count as the process's resident memory.
    f"PRAGMA mmap_size={MMAP_BYTES}",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memories (
    id INTEGER PRIMARY KEY,
    memory TEXT NOT NULL,
    hash TEXT NOT NULL,
    embedding BLOB NOT NULL,
    user_id TEXT, agent_id TEXT, run_id TEXT,
    tenant TEXT NOT NULL,
    graph_tenant TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS memories_tenant ON memories (tenant, id);
CREATE INDEX IF NOT EXISTS memories_user ON memories (user_id, id);
-- A user's memories of a period or up to an as_of, read from the index alone.
CREATE INDEX IF NOT EXISTS memories_user_created ON memories (user_id, created_at);
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
    valid_at TEXT NOT NULL,
    invalid_at TEXT,
    created_at TEXT NOT NULL,
    expired_at TEXT,
    origin TEXT NOT NULL DEFAULT 'llm',
    family TEXT
);
CREATE INDEX IF NOT EXISTS relations_source ON relations (source_id);
CREATE INDEX IF NOT EXISTS relations_destination ON relations (destination_id);
CREATE INDEX IF NOT EXISTS relations_tenant ON relations (tenant, id);
-- Provenance: the memories asserting each relation (it goes with the last of them).
CREATE TABLE IF NOT EXISTS relation_memories (
    relation_id INTEGER NOT NULL,
    memory_id INTEGER NOT NULL,
    PRIMARY KEY (relation_id, memory_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relation_memories_memory ON relation_memories (memory_id, relation_id);
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

GRAPH_VERSION = "2"
SCHEMA_VERSION = 3


def create(conn: sqlite3.Connection) -> None:
    """Creates what is missing, statement by statement: inside the caller's transaction, which
    ``executescript`` would commit first. No statement holds a semicolon inside."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    # Stores written before relations had a system end time: the column starts empty.
    if "expired_at" not in {row[1] for row in conn.execute("PRAGMA table_info(relations)")}:
        conn.execute("ALTER TABLE relations ADD COLUMN expired_at TEXT")
    # A store made before relations kept their origin: its relations all came from an LLM.
    if "origin" not in {row[1] for row in conn.execute("PRAGMA table_info(relations)")}:
        conn.execute("ALTER TABLE relations ADD COLUMN origin TEXT NOT NULL DEFAULT 'llm'")
    # A store made before relations kept their type family: none was named.
    if "family" not in {row[1] for row in conn.execute("PRAGMA table_info(relations)")}:
        conn.execute("ALTER TABLE relations ADD COLUMN family TEXT")

