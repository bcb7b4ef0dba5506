"""Applies one WritePlan inside the caller's SQLite transaction."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

import numpy as np

from powermem.ids import SnowflakeGenerator
from powermem.stores.base import (
    ApplyResult,
    MemoryChange,
    NewMemory,
    RelationInput,
    Scope,
    Vector,
    WritePlan,
)
from powermem.stores.embedded.scoping import scope_sql

logger = logging.getLogger("powermem.store")

_INSERT_EVENT = (
    "INSERT INTO history (id, memory_id, event, old_memory, new_memory, created_at, actor, "
    "user_id, agent_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _blob(vector: Vector) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def patched(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``stored`` with the patch's keys set, and those it sets to None removed."""
    merged = {**stored, **patch}
    return {key: value for key, value in merged.items() if value is not None}


class PlanWriter:
    """Writes a plan; records which cached vectors change once the transaction commits."""

    def __init__(self, conn: sqlite3.Connection, ids: SnowflakeGenerator, plan: WritePlan) -> None:
        self._conn = conn
        self._ids = ids
        self._plan = plan
        self._tenant = plan.scope.graph_tenant
        self._entity_ids: dict[str, int] = {}
        self._touched_entities: set[int] = set()
        self._touched_relations: set[int] = set()
        self.vector_puts: list[tuple[str, int, Vector, str]] = []  # tenant, id, vector, created_at
        self.vector_removes: list[tuple[str, int]] = []

    def run(self) -> ApplyResult:
        self._merge_entities()
        self._create_all(self._plan.creates)
        updated = {c.id: old for c in self._plan.updates if (old := self._update(c)) is not None}
        deleted = {i: old for i in self._plan.deletes if (old := self._delete(i)) is not None}
        # Invalidations first, as the Neo4j store: a plan that invalidates a fact and states it
        # again keeps one valid relation (the other order would merge into it, then drop it).
        invalidated = tuple(i for i in self._plan.invalidations if self._invalidate(i))
        related = tuple(rel.id for rel in self._plan.relations if self._add_relation(rel))
        drop_unsupported(self._conn, self._touched_relations, self._touched_entities)
        drop_orphans(self._conn, self._touched_entities)
        return ApplyResult(tuple(m.id for m in self._plan.creates), updated, deleted, related, invalidated)

    def _merge_entities(self) -> None:
        scope, at, entities = self._plan.scope, self._plan.at, self._plan.entities
        if not entities:
            return
        self._conn.executemany(
            "INSERT INTO entities (id, tenant, user_id, agent_id, name, name_key, type, embedding, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant, name_key) DO UPDATE SET updated_at = excluded.updated_at",
            [(entity.id, self._tenant, scope.user_id, scope.agent_id, entity.name, entity.name_key,
              entity.type, _blob(entity.embedding), at, at) for entity in entities],
        )
        # One read for the ids of them all, instead of one per key as they are linked.
        self._entity_ids.update(self._conn.execute(
            "SELECT name_key, id FROM entities WHERE tenant = ? AND name_key IN (SELECT value FROM json_each(?))",
            (self._tenant, json.dumps([entity.name_key for entity in entities])),
        ).fetchall())
        # An entity of the plan that nothing ends up linking to goes when the plan is applied.
        self._touched_entities.update(self._entity_ids.values())

    def _entity_id(self, name_key: str) -> int | None:
        if name_key not in self._entity_ids:
            row = self._conn.execute(
                "SELECT id FROM entities WHERE tenant = ? AND name_key = ?", (self._tenant, name_key)
            ).fetchone()
            if row is None:
                return None
            self._entity_ids[name_key] = row[0]
        return self._entity_ids[name_key]

    def _mentions(self, memory_id: int, graph_tenant: str, entity_keys: tuple[str, ...]) -> list[tuple[int, int]]:
        """The (memory, entity) rows of the memory's mentions."""
        if graph_tenant != self._tenant:  # a memory mentions entities of its own graph only
            if entity_keys:
                logger.warning("mentions of memory %s skipped: it is outside the plan's graph", memory_id)
            return []
        return [(memory_id, entity_id) for key in entity_keys if (entity_id := self._entity_id(key)) is not None]

    def _link(self, memory_id: int, graph_tenant: str, entity_keys: tuple[str, ...]) -> None:
        self._conn.executemany("INSERT OR IGNORE INTO mentions VALUES (?, ?)",
                               self._mentions(memory_id, graph_tenant, entity_keys))

    def _create_all(self, memories: list[NewMemory]) -> None:
        """The plan's new memories: one statement per table for them all (an add of 1,000
        messages is 5 statements, not 5,000), rows in plan order as one by one."""
        if not memories:
            return
        rows, mentions, events = [], [], []
        tenants: dict[Scope, tuple[str, str]] = {}  # the tenant keys are formatted once per scope
        plan = self._plan
        for memory in memories:
            s = memory.scope
            if s not in tenants:
                tenants[s] = (s.memory_tenant, s.graph_tenant)
            tenant, graph_tenant = tenants[s]
            rows.append((memory.id, memory.memory, memory.hash, _blob(memory.embedding), s.user_id, s.agent_id,
                         s.run_id, tenant, graph_tenant, json.dumps(memory.metadata), memory.created_at,
                         memory.updated_at or memory.created_at))
            mentions += self._mentions(memory.id, graph_tenant, memory.entity_keys)
            events.append((self._ids.next_id(), memory.id, "ADD", None, memory.memory, plan.at, plan.actor,
                           s.user_id, s.agent_id, s.run_id))
            self.vector_puts.append((tenant, memory.id, memory.embedding, memory.created_at))
        self._conn.executemany(
            "INSERT INTO memories (id, memory, hash, embedding, user_id, agent_id, run_id, tenant, "
            "graph_tenant, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
        )
        self._conn.executemany("INSERT INTO memory_fts (rowid, memory) VALUES (?, ?)", [(r[0], r[1]) for r in rows])
        if mentions:
            self._conn.executemany("INSERT OR IGNORE INTO mentions VALUES (?, ?)", mentions)
        self._conn.executemany(_INSERT_EVENT, events)

    def _owned(self, memory_id: int) -> tuple[Any, ...] | None:
        params: list[Any] = [memory_id]
        where = scope_sql(self._plan.scope, params)
        return self._conn.execute(  # type: ignore[no-any-return]
            "SELECT memory, tenant, user_id, agent_id, run_id, graph_tenant, metadata, created_at FROM memories "
            f"WHERE id = ? AND {where}",
            params,
        ).fetchone()

    def _update(self, change: MemoryChange) -> str | None:
        row = self._owned(change.id)
        if row is None:
            return None
        old, tenant = row[0], row[1]
        sets: dict[str, Any] = {"updated_at": change.updated_at}
        if change.memory is not None:
            sets.update(memory=change.memory, hash=change.hash)
        if change.embedding is not None:
            sets["embedding"] = _blob(change.embedding)
            self.vector_puts.append((tenant, change.id, change.embedding, row[7]))
        if change.metadata_patch is not None:
            # Read and written inside this BEGIN IMMEDIATE transaction: no concurrent patch is lost.
            sets["metadata"] = json.dumps(patched(json.loads(row[6]), change.metadata_patch))
        assignments = ", ".join(f"{column} = ?" for column in sets)  # columns are the fixed names above
        self._conn.execute(f"UPDATE memories SET {assignments} WHERE id = ?", [*sets.values(), change.id])
        if change.memory is not None:
            self._conn.execute("DELETE FROM memory_fts WHERE rowid = ?", (change.id,))
            self._conn.execute("INSERT INTO memory_fts (rowid, memory) VALUES (?, ?)", (change.id, change.memory))
        if change.entity_keys is not None:
            self._unlink(change.id)
            self._link(change.id, row[5], change.entity_keys)
        new = change.memory if change.memory is not None else old
        self._event(change.id, "UPDATE", old, new, Scope(row[2], row[3], row[4]))
        return str(old)

    def _unlink(self, memory_id: int) -> None:
        for (entity_id,) in self._conn.execute("SELECT entity_id FROM mentions WHERE memory_id = ?", (memory_id,)):
            self._touched_entities.add(entity_id)
        self._conn.execute("DELETE FROM mentions WHERE memory_id = ?", (memory_id,))

    def _delete(self, memory_id: int) -> str | None:
        row = self._owned(memory_id)
        if row is None:
            return None
        self._unlink(memory_id)
        self._touched_relations.update(
            r[0] for r in self._conn.execute("SELECT relation_id FROM relation_memories WHERE memory_id = ?", (memory_id,))
        )
        self._conn.execute("DELETE FROM relation_memories WHERE memory_id = ?", (memory_id,))
        self._conn.execute("DELETE FROM memory_fts WHERE rowid = ?", (memory_id,))
        self._conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
        self._event(memory_id, "DELETE", row[0], None, Scope(row[2], row[3], row[4]))
        self.vector_removes.append((row[1], memory_id))
        return str(row[0])

    def _asserting(self, rel: RelationInput) -> list[int]:
        """The relation's memories that exist in the plan's graph, this plan's creates and deletes applied."""
        return [r[0] for r in self._conn.execute(
            "SELECT id FROM memories WHERE id IN (SELECT value FROM json_each(?)) AND graph_tenant = ? ORDER BY id",
            (json.dumps(list(rel.memory_ids)), self._tenant),
        )]

    def _add_relation(self, rel: RelationInput) -> bool:
        """Writes the relation, or adds its memories to the same valid relation; False when skipped."""
        memory_ids = self._asserting(rel)
        if not memory_ids:
            logger.warning("relation %s skipped: none of its memories exists in the graph", rel.relationship)
            return False
        source, destination = self._entity_id(rel.source_key), self._entity_id(rel.destination_key)
        if source is None or destination is None:
            logger.warning("relation %s skipped: an endpoint entity does not exist", rel.relationship)
            return False
        # Concurrent adds stating the same fact each planned it before the other committed: the
        # tenant keeps one valid relation per (source, type, destination), asserted by them all.
        # A statement already over when made ("lived in Rome until 2019") is a relation of its own.
        found = None if rel.invalid_at is not None else self._conn.execute(
            "SELECT id FROM relations WHERE source_id = ? AND destination_id = ? AND relationship = ? "
            "AND invalid_at IS NULL AND tenant = ?", (source, destination, rel.relationship, self._tenant),
        ).fetchone()
        relation_id = rel.id if found is None else found[0]
        if found is None:
            self._conn.execute(
                "INSERT INTO relations (id, tenant, source_id, destination_id, relationship, fact, valid_at, "
                "invalid_at, created_at, origin, family) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rel.id, self._tenant, source, destination, rel.relationship, rel.fact, rel.valid_at, rel.invalid_at,
                 rel.created_at, rel.origin, rel.family),
            )
        self._conn.executemany(
            "INSERT OR IGNORE INTO relation_memories (relation_id, memory_id) VALUES (?, ?)",
            [(relation_id, memory_id) for memory_id in memory_ids],
        )
        return True

    def _invalidate(self, relation_id: int) -> bool:
        # Never before it became true: a fact learnt out of order does not erase a later one.
        ends = self._plan.invalid_at or self._plan.at
        cursor = self._conn.execute(
            "UPDATE relations SET invalid_at = ?, expired_at = ? WHERE id = ? AND tenant = ? AND invalid_at IS NULL "
            "AND valid_at <= ?",
            (ends, self._plan.at, relation_id, self._tenant, ends),
        )
        return cursor.rowcount > 0

    def _event(self, memory_id: int, event: str, old: str | None, new: str | None, scope: Scope) -> None:
        self._conn.execute(
            _INSERT_EVENT,
            (self._ids.next_id(), memory_id, event, old, new, self._plan.at, self._plan.actor,
             scope.user_id, scope.agent_id, scope.run_id),
        )


def drop_unsupported(conn: sqlite3.Connection, relation_ids: set[int], touched_entities: set[int]) -> None:
    """Deletes those relations no memory asserts any more; their endpoints may be orphans now."""
    for relation_id in relation_ids:
        for ends in conn.execute(
            "DELETE FROM relations WHERE id = ? AND NOT EXISTS "
            "(SELECT 1 FROM relation_memories WHERE relation_id = ?) RETURNING source_id, destination_id",
            (relation_id, relation_id),
        ).fetchall():
            touched_entities.update(ends)


def drop_orphans(conn: sqlite3.Connection, entity_ids: set[int]) -> None:
    """Deletes those entities left with neither mentions nor relations."""
    for entity_id in entity_ids:
        conn.execute(
            "DELETE FROM entities WHERE id = ? "
            "AND NOT EXISTS (SELECT 1 FROM mentions WHERE entity_id = ?) "
            "AND NOT EXISTS (SELECT 1 FROM relations WHERE source_id = ?) "
            "AND NOT EXISTS (SELECT 1 FROM relations WHERE destination_id = ?)",
            (entity_id, entity_id, entity_id, entity_id),
        )
