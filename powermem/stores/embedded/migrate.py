"""Upgrades a store written before graph version 2 (per-tenant graphs with provenance).

Version 1 kept one optional ``memory_id`` per relation, and put the entities and relations of
every run-only scope into one shared tenant (user and agent both empty). Version 2 records
every asserting memory in ``relation_memories`` and gives each run-only scope a graph of its
own. Runs inside the caller's transaction: a crash leaves the old store as it was, and a
second process waiting on the lock finds the store already migrated.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from powermem.errors import ConfigError
from powermem.ids import SnowflakeGenerator
from powermem.stores.base import Scope
from powermem.stores.embedded.schema import SCHEMA_VERSION, create

LEGACY_RUN_TENANT = "\x1f"  # version 1: every scope with neither user nor agent

# Memories of the relation's own graph that mention both of its ends, or else either end.
_BOTH_ENDS = (
    "SELECT r.id, a.memory_id FROM relations r JOIN mentions a ON a.entity_id = r.source_id "
    "JOIN mentions b ON b.entity_id = r.destination_id AND b.memory_id = a.memory_id "
    "JOIN memories m ON m.id = a.memory_id AND m.graph_tenant = r.tenant"
)
_EITHER_END = (
    "SELECT r.id, a.memory_id FROM relations r JOIN mentions a ON a.entity_id IN (r.source_id, r.destination_id) "
    "JOIN memories m ON m.id = a.memory_id AND m.graph_tenant = r.tenant"
)
_UNPROVEN = "NOT EXISTS (SELECT 1 FROM relation_memories x WHERE x.relation_id = r.id)"


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # table: a fixed name


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version of the store (a new, empty file: the current one)."""
    recorded = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if recorded:
        return recorded
    if not _columns(conn, "memories"):
        return SCHEMA_VERSION
    return 1 if needs_migration(conn) else 2


def upgrade(conn: sqlite3.Connection, ids: SnowflakeGenerator, path: object) -> int:
    """Migrate the store to SCHEMA_VERSION inside the caller's transaction; the version it had.

    A store written by a newer powermem is refused: this code cannot know what it holds.
    """
    version = stored_version(conn)
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"the embedded store {path} has schema version {version}, newer than this powermem knows "
            f"({SCHEMA_VERSION}); upgrade powermem, or restore a backup made by this version"
        )
    if version < 2:
        migrate(conn, ids)
    # 2 -> 3: the version is recorded; nothing else changes. (PRAGMA takes no parameters.)
    conn.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
    return version


def needs_migration(conn: sqlite3.Connection) -> bool:
    """A version-1 store: its memories still carry the old ``entity_tenant`` column."""
    return "entity_tenant" in _columns(conn, "memories")


def migrate(conn: sqlite3.Connection, ids: SnowflakeGenerator) -> None:
    """Version 1 -> 2, inside the caller's transaction."""
    conn.execute("ALTER TABLE memories RENAME COLUMN entity_tenant TO graph_tenant")
    conn.execute(
        "UPDATE memories SET graph_tenant = char(31, 31) || coalesce(run_id, '') "
        "WHERE user_id IS NULL AND agent_id IS NULL"
    )
    create(conn)  # relation_memories, among others
    _provenance(conn)
    _split_legacy_run_tenant(conn, ids)
    # Links across graphs (or to deleted memories) were never meant to be: they go.
    conn.execute(
        "DELETE FROM mentions WHERE NOT EXISTS (SELECT 1 FROM memories m JOIN entities e ON e.id = mentions.entity_id "
        "WHERE m.id = mentions.memory_id AND m.graph_tenant = e.tenant)"
    )
    conn.execute(
        "DELETE FROM entities WHERE NOT EXISTS (SELECT 1 FROM mentions WHERE entity_id = entities.id) "
        "AND NOT EXISTS (SELECT 1 FROM relations WHERE source_id = entities.id) "
        "AND NOT EXISTS (SELECT 1 FROM relations WHERE destination_id = entities.id)"
    )
    conn.execute("DROP INDEX IF EXISTS relations_memory")
    conn.execute("ALTER TABLE relations DROP COLUMN memory_id")


def _provenance(conn: sqlite3.Connection) -> None:
    """Provenance of the relations of user/agent graphs; those nothing asserts are deleted."""
    outside = "r.tenant != char(31)"
    conn.execute(
        "INSERT OR IGNORE INTO relation_memories (relation_id, memory_id) SELECT r.id, r.memory_id FROM relations r "
        f"JOIN memories m ON m.id = r.memory_id AND m.graph_tenant = r.tenant WHERE {outside}"
    )
    for found in (_BOTH_ENDS, _EITHER_END):
        conn.execute(f"INSERT OR IGNORE INTO relation_memories {found} WHERE {outside} AND {_UNPROVEN}")
    conn.execute(f"DELETE FROM relations AS r WHERE {outside} AND {_UNPROVEN}")


@dataclass
class _Entity:
    id: int
    values: tuple[object, ...]  # name, name_key, type, embedding, created_at, updated_at


@dataclass
class _Relation:
    id: int
    source_id: int
    destination_id: int
    values: tuple[object, ...]  # relationship, fact, valid_at, invalid_at, created_at
    memory_id: int | None


def _split_legacy_run_tenant(conn: sqlite3.Connection, ids: SnowflakeGenerator) -> None:
    """Copies the shared run-only graph into one graph per run, then deletes it.

    Each run gets a copy of the entities its memories mention or its relations join, with the
    mentions of its memories, and a copy of each relation that its memories assert.
    """
    entities = {
        row[0]: _Entity(row[0], row[1:]) for row in conn.execute(
            "SELECT id, name, name_key, type, embedding, created_at, updated_at FROM entities WHERE tenant = ?",
            (LEGACY_RUN_TENANT,),
        )
    }
    if not entities:
        return
    run_of = {row[0]: row[1] for row in conn.execute(
        "SELECT id, run_id FROM memories WHERE user_id IS NULL AND agent_id IS NULL"
    )}
    mentions: dict[int, set[int]] = defaultdict(set)  # entity -> run-only memories mentioning it
    for memory_id, entity_id in conn.execute(
        "SELECT x.memory_id, x.entity_id FROM mentions x JOIN entities e ON e.id = x.entity_id WHERE e.tenant = ?",
        (LEGACY_RUN_TENANT,),
    ):
        if memory_id in run_of:
            mentions[entity_id].add(memory_id)
    relations = [
        _Relation(row[0], row[1], row[2], row[3:8], row[8]) for row in conn.execute(
            "SELECT id, source_id, destination_id, relationship, fact, valid_at, invalid_at, created_at, memory_id "
            "FROM relations WHERE tenant = ?", (LEGACY_RUN_TENANT,),
        )
    ]
    copies: dict[tuple[str, int], int] = {}  # (run graph, legacy entity id) -> the copy's id

    def copy_of(tenant: str, entity_id: int) -> int:
        if (tenant, entity_id) not in copies:
            copies[(tenant, entity_id)] = ids.next_id()
            conn.execute(
                "INSERT INTO entities (id, tenant, user_id, agent_id, name, name_key, type, embedding, created_at, "
                "updated_at) VALUES (?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?)",
                (copies[(tenant, entity_id)], tenant, *entities[entity_id].values),
            )
        return copies[(tenant, entity_id)]

    def graph_of(memory_id: int) -> str:
        return Scope(run_id=run_of[memory_id]).graph_tenant

    for entity_id, mentioning in mentions.items():
        for memory_id in sorted(mentioning):
            conn.execute("INSERT INTO mentions VALUES (?, ?)", (memory_id, copy_of(graph_of(memory_id), entity_id)))
    for rel in relations:
        per_run: dict[str, list[int]] = defaultdict(list)
        for memory_id in _asserting(rel, mentions, run_of):
            per_run[graph_of(memory_id)].append(memory_id)
        for tenant, asserting in per_run.items():
            relation_id = ids.next_id()
            conn.execute(
                "INSERT INTO relations (id, tenant, source_id, destination_id, relationship, fact, valid_at, "
                "invalid_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (relation_id, tenant, copy_of(tenant, rel.source_id), copy_of(tenant, rel.destination_id),
                 *rel.values),
            )
            conn.executemany("INSERT INTO relation_memories VALUES (?, ?)", [(relation_id, m) for m in asserting])
    conn.execute("DELETE FROM relations WHERE tenant = ?", (LEGACY_RUN_TENANT,))
    conn.execute(
        "DELETE FROM mentions WHERE entity_id IN (SELECT id FROM entities WHERE tenant = ?)", (LEGACY_RUN_TENANT,)
    )
    conn.execute("DELETE FROM entities WHERE tenant = ?", (LEGACY_RUN_TENANT,))


def _asserting(rel: _Relation, mentions: dict[int, set[int]], run_of: dict[int, str | None]) -> list[int]:
    """Its recorded memory if it still exists, else memories mentioning both ends, else either end."""
    if rel.memory_id is not None and rel.memory_id in run_of:
        return [rel.memory_id]
    source, destination = mentions.get(rel.source_id, set()), mentions.get(rel.destination_id, set())
    return sorted((source & destination) or (source | destination))
