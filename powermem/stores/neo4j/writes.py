"""A write plan as Cypher parameters, and the one transaction that applies it.

``plan_parameters`` turns a :class:`~powermem.stores.base.WritePlan` into rows ready to
``UNWIND`` (checking vectors and metadata on the way); ``apply_work`` runs the statements in an
order where each sees the last.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from neo4j import AsyncManagedTransaction

from powermem.errors import InvalidInputError
from powermem.filters import INT64, KEY_PATTERN, now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.stores.base import (
    ApplyResult,
    EntityInput,
    MemoryChange,
    NewMemory,
    RelationInput,
    Scope,
    Vector,
    WritePlan,
)
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.filters import METADATA_PREFIX
from powermem.stores.neo4j.queries import as_query, fetch_rows

__all__ = ["apply_work", "embedding_values", "metadata_properties", "plan_parameters", "scope_tokens"]


async def apply_work(
    tx: AsyncManagedTransaction, p: dict[str, Any], ids: SnowflakeGenerator, *, events: bool = True
) -> ApplyResult:
    """Apply one plan's parameters in ``tx``; ``events=False`` writes no DELETE events (a scope
    deletion, which deletes the scope's history as well)."""
    scope = p["scope"]
    touched: set[int] = set()  # entities that may be left with no link: deleted at the end if so
    if p["entities"]:
        rows = await _run(tx, Q.MERGE_ENTITIES.query, {**scope, "rows": p["entities"]})
        touched.update(int(row["id"]) for row in rows)
    if p["creates"]:
        await tx.run(as_query(Q.CREATE_MEMORIES.query), {**scope, "rows": p["creates"]})
    if p["locks"]:
        await tx.run(as_query(Q.LOCK_MEMORIES.query), {"ids": p["locks"]})
    # Event ids are drawn once the locks are held, so that history's id order is the order in
    # which concurrent changes to one memory really happened.
    for row in p["updates"] + p["deletes"]:
        row["event_id"] = ids.next_id()
    updated = await _update_work(tx, p, touched) if p["updates"] else {}
    deleted = await _delete_work(tx, p, touched, events) if p["deletes"] else {}
    # Invalidations first: a plan that marks a relation outdated and states the same fact
    # again leaves one valid relation (the new one), not the old one marked invalid.
    invalidated: tuple[int, ...] = ()
    if p["invalidations"]:
        rows = await _run(tx, Q.INVALIDATE_RELATIONS.query,
                          {**scope, "ids": p["invalidations"], "invalid_at": p["invalid_at"]})
        invalidated = tuple(sorted({int(row["id"]) for row in rows}))
    related = await _relation_work(tx, p) if p["relations"] else ()
    if touched:
        await tx.run(as_query(Q.DROP_ORPHAN_ENTITIES.query), {"ids": sorted(touched)})
    return ApplyResult(
        created=tuple(p["created_ids"]), updated=updated, deleted=deleted, related=related, invalidated=invalidated
    )


async def _run(tx: AsyncManagedTransaction, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await fetch_rows(await tx.run(as_query(query), params))


async def _update_work(tx: AsyncManagedTransaction, p: dict[str, Any], touched: set[int]) -> dict[int, str]:
    """Updates of memories of the scope; metadata patches merge into what the locks protect."""
    scope = p["scope"]
    ids = sorted({row["id"] for row in p["updates"]})
    stored = {int(row["id"]): row for row in await _run(tx, Q.READ_LOCKED.query, {**scope, "ids": ids})}
    rows = []
    for row in p["updates"]:
        current = stored.get(row["id"])
        if current is None:
            continue  # outside the scope, or missing: the plan behaves as if it were missing
        # The same memory twice in one plan: each patch merges into the result of the last.
        metadata = _patched(current, row["patch"])
        rows.append({
            **{key: value for key, value in row.items() if key != "patch"},
            "graph_tenant": Scope(current["user_id"], current["agent_id"], current["run_id"]).graph_tenant,
            "metadata": None if metadata is None else json.dumps(metadata),
            "md": None if metadata is None else metadata_properties(metadata),
        })
    updated: dict[int, str] = {}
    if rows:
        for row in await _run(tx, Q.UPDATE_MEMORIES.query, {**scope, "rows": rows}):
            updated.setdefault(int(row["id"]), row["old"])
            touched.update(row["unlinked"])
    return updated


def _patched(current: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored metadata with ``patch`` merged in (None removes a key); None: no patch."""
    if patch is None:
        return None
    metadata: dict[str, Any] = json.loads(current["metadata"]) if current["metadata"] else {}
    for key, value in patch.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    current["metadata"] = json.dumps(metadata)
    return metadata


async def _delete_work(
    tx: AsyncManagedTransaction, p: dict[str, Any], touched: set[int], events: bool
) -> dict[int, str]:
    deleted: dict[int, str] = {}
    by_tenant: dict[str, list[int]] = {}
    params = {**p["scope"], "rows": p["deletes"], "events": events}
    for row in await _run(tx, Q.DELETE_MEMORIES.query, params):
        deleted[int(row["id"])] = row["old"]
        touched.update(row["linked"])
        tenant = Scope(row["user_id"], row["agent_id"], row["run_id"]).graph_tenant
        by_tenant.setdefault(tenant, []).append(int(row["id"]))
    if by_tenant:
        groups = [{"tenant": tenant, "memory_ids": ids} for tenant, ids in by_tenant.items()]
        for row in await _run(tx, Q.DROP_PROVENANCE.query, {"groups": groups}):
            touched.update((row["source_id"], row["destination_id"]))
    return deleted


async def _relation_work(tx: AsyncManagedTransaction, p: dict[str, Any]) -> tuple[int, ...]:
    """Write the plan's relations with the memories of its graph tenant that exist now."""
    scope = p["scope"]
    cited = sorted({i for row in p["relations"] for i in row["memory_ids"]})
    own = {
        int(row["id"])
        for row in await _run(tx, Q.READ_MEMORIES.query, {"ids": cited})
        if Scope(row["user_id"], row["agent_id"], row["run_id"]).graph_tenant == scope["tenant"]
    }
    rows = [{**row, "memory_ids": [i for i in row["memory_ids"] if i in own]} for row in p["relations"]]
    rows = [row for row in rows if row["memory_ids"]]
    if not rows:
        return ()
    keys = sorted({row["source_key"] for row in rows} | {row["destination_key"] for row in rows})
    await tx.run(as_query(Q.LOCK_ENTITIES.query), {**scope, "keys": keys})
    written = await _run(tx, Q.WRITE_RELATIONS.query, {**scope, "rows": rows})
    return tuple(int(row["id"]) for row in written)


def plan_parameters(plan: WritePlan, ids: SnowflakeGenerator, dims: int | None) -> dict[str, Any]:
    """The parameters of every statement of ``apply``: rows ready to UNWIND, plus event ids.

    The ids of ADD events are drawn here; those of UPDATE and DELETE events inside the
    transaction, once the memories are locked (see apply_work).
    """
    s = plan.scope
    scope = {
        "user_id": s.user_id, "agent_id": s.agent_id, "run_id": s.run_id, "tenant": s.graph_tenant,
        "actor": plan.actor, "at": plan.at or now_timestamp(),
    }
    entities = {e.name_key: e for e in reversed(plan.entities)}  # the first of duplicates wins
    relations = [_relation_param(r) for r in _unique_relations(plan.relations)]
    created = {int(m.id) for m in plan.creates}
    cited = {i for row in relations for i in row["memory_ids"]} - created
    return {
        "scope": scope,
        # Sorted by name_key: every writer locks entities in one order, which avoids deadlocks.
        "entities": [_entity_param(entities[key], dims) for key in sorted(entities)],
        "creates": [_create_param(m, ids.next_id(), dims) for m in plan.creates],
        "created_ids": [m.id for m in plan.creates],
        "updates": [_update_param(c, dims) for c in plan.updates],
        "deletes": [{"id": int(i)} for i in dict.fromkeys(plan.deletes)],
        # The memories cited as provenance are locked too: none can be deleted under a relation
        # that is about to record it.
        "locks": sorted({int(c.id) for c in plan.updates} | {int(i) for i in plan.deletes} | cited),
        "relations": relations,
        "invalidations": [int(i) for i in plan.invalidations],
        "invalid_at": plan.invalid_at or scope["at"],
    }


def embedding_values(vector: Vector, dims: int | None, what: str) -> list[float]:
    array = np.asarray(vector, dtype=np.float64).ravel()  # numpy converts in C: bulk writes stay fast
    if dims is not None and array.shape[0] != dims:
        raise InvalidInputError(f"{what} embedding has {array.shape[0]} dimensions, the store has {dims}")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{what} embedding contains NaN or infinite values")
    values: list[float] = array.tolist()
    return values


def _stored_embedding(vector: Vector, dims: int | None, what: str) -> list[float] | None:
    """The embedding to store, or None for a zero vector, which has no cosine to anything."""
    values = embedding_values(vector, dims, what)
    return values if any(values) else None


def _metadata_json(metadata: Mapping[str, Any], what: str) -> str:
    try:
        return json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} metadata is not JSON-serialisable: {exc}") from exc


def _entity_param(e: EntityInput, dims: int | None) -> dict[str, Any]:
    embedding = _stored_embedding(e.embedding, dims, f"entity {e.name_key!r}")
    return {"id": e.id, "name": e.name, "name_key": e.name_key, "type": e.type, "embedding": embedding}


def _create_param(m: NewMemory, event_id: int, dims: int | None) -> dict[str, Any]:
    return {
        "id": m.id, "memory": m.memory, "hash": m.hash,
        "embedding": _stored_embedding(m.embedding, dims, f"memory {m.id}"),
        "user_id": m.scope.user_id, "agent_id": m.scope.agent_id, "run_id": m.scope.run_id,
        "tenant": m.scope.memory_tenant, "graph_tenant": m.scope.graph_tenant, "scope_tokens": scope_tokens(m.scope),
        "metadata": _metadata_json(m.metadata, f"memory {m.id}"), "md": metadata_properties(m.metadata),
        "created_at": m.created_at, "updated_at": m.updated_at or m.created_at, "event_id": event_id, "entity_keys": sorted(set(m.entity_keys)),
    }


def _update_param(c: MemoryChange, dims: int | None) -> dict[str, Any]:
    embedding = None if c.embedding is None else _stored_embedding(c.embedding, dims, f"memory {c.id}")
    if c.metadata_patch is not None:
        _metadata_json(c.metadata_patch, f"memory {c.id}")  # checked before anything is written
    return {
        "id": int(c.id), "updated_at": c.updated_at, "memory": c.memory, "hash": c.hash,
        "embedding": embedding, "zero_embedding": c.embedding is not None and embedding is None,
        "patch": None if c.metadata_patch is None else dict(c.metadata_patch),
        "entity_keys": None if c.entity_keys is None else sorted(set(c.entity_keys)),
    }


def _unique_relations(relations: Sequence[RelationInput]) -> list[RelationInput]:
    """The same fact twice in one plan is one relation (as concurrent plans are, in Cypher),
    asserted by the memories of both."""
    unique: dict[tuple[str, str, str], RelationInput] = {}
    for r in relations:
        key = (r.source_key, r.relationship, r.destination_key)
        first = unique.get(key)
        memory_ids = r.memory_ids if first is None else first.memory_ids + r.memory_ids
        unique[key] = replace(first or r, memory_ids=tuple(dict.fromkeys(int(i) for i in memory_ids)))
    return list(unique.values())


def _relation_param(r: RelationInput) -> dict[str, Any]:
    return {
        "id": r.id, "source_key": r.source_key, "destination_key": r.destination_key,
        "relationship": r.relationship, "fact": r.fact, "memory_ids": list(r.memory_ids),
        "valid_at": r.valid_at, "created_at": r.created_at, "invalid_at": r.invalid_at, "origin": r.origin,
        "family": r.family,
    }


def metadata_properties(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The md_* filter properties: top-level scalar values under filterable keys."""
    props: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            continue
        number = isinstance(value, int) and INT64[0] <= value <= INT64[1]
        if isinstance(value, (bool, str)) or number or (isinstance(value, float) and math.isfinite(value)):
            props[METADATA_PREFIX + key] = value
    return props


def scope_tokens(scope: Scope) -> str:
    """One opaque token per scope field for the full-text index (see schema_memory_fulltext).

    Hex digests stay single Lucene tokens under any analyzer, whatever the ids contain.
    """
    fields = (("u", scope.user_id), ("a", scope.agent_id), ("r", scope.run_id))
    return " ".join(
        prefix + hashlib.blake2b(value.encode("utf-8"), digest_size=10).hexdigest()
        for prefix, value in fields
        if value is not None
    )

