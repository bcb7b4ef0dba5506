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


async def apply_work(tx: AsyncManagedTransaction, p: dict[str, Any], ids: SnowflakeGenerator) -> ApplyResult:
    scope = p["scope"]
    if p["entities"]:
        await tx.run(as_query(Q.MERGE_ENTITIES.query), {**scope, "rows": p["entities"]})
    if p["creates"]:
        await tx.run(as_query(Q.CREATE_MEMORIES.query), {**scope, "rows": p["creates"]})
    if p["locks"]:
        await tx.run(as_query(Q.LOCK_MEMORIES.query), {"ids": p["locks"]})
    # Event ids are drawn once the locks are held, so that history's id order is the order in
    # which concurrent changes to one memory really happened.
    for row in p["updates"] + p["deletes"]:
        row["event_id"] = ids.next_id()
    touched: set[int] = set()  # entities that lost a link: deleted below if left with none
    updated: dict[int, str] = {}
    if p["updates"]:
        for row in await fetch_rows(await tx.run(as_query(Q.UPDATE_MEMORIES.query), {**scope, "rows": p["updates"]})):
            updated[int(row["id"])] = row["old"]
            touched.update(row["unlinked"])
    deleted = await _delete_work(tx, p, touched) if p["deletes"] else {}
    if p["relations"]:
        await tx.run(as_query(Q.CREATE_RELATIONS.query), {**scope, "rows": p["relations"]})
    if p["invalidations"]:
        await tx.run(as_query(Q.INVALIDATE_RELATIONS.query), {**scope, "ids": p["invalidations"]})
    if touched:
        await tx.run(as_query(Q.DROP_ORPHAN_ENTITIES.query), {"ids": sorted(touched)})
    return ApplyResult(created=tuple(p["created_ids"]), updated=updated, deleted=deleted)


async def _delete_work(tx: AsyncManagedTransaction, p: dict[str, Any], touched: set[int]) -> dict[int, str]:
    deleted: dict[int, str] = {}
    by_tenant: dict[str, list[int]] = {}
    for row in await fetch_rows(await tx.run(as_query(Q.DELETE_MEMORIES.query), {**p["scope"], "rows": p["deletes"]})):
        deleted[int(row["id"])] = row["old"]
        touched.update(row["linked"])
        by_tenant.setdefault(Scope(row["user_id"], row["agent_id"]).entity_tenant, []).append(int(row["id"]))
    if by_tenant:
        groups = [{"tenant": tenant, "memory_ids": ids} for tenant, ids in by_tenant.items()]
        for row in await fetch_rows(await tx.run(as_query(Q.DROP_MEMORY_RELATIONS.query), {"groups": groups})):
            touched.update((row["source_id"], row["destination_id"]))
    return deleted


def plan_parameters(plan: WritePlan, ids: SnowflakeGenerator, dims: int | None) -> dict[str, Any]:
    """The parameters of every statement of ``apply``: rows ready to UNWIND, plus event ids.

    The ids of ADD events are drawn here; those of UPDATE and DELETE events inside the
    transaction, once the memories are locked (see _apply_work).
    """
    s = plan.scope
    scope = {
        "user_id": s.user_id, "agent_id": s.agent_id, "run_id": s.run_id, "entity_tenant": s.entity_tenant,
        "actor": plan.actor, "at": plan.at or now_timestamp(),
    }
    entities = {e.name_key: e for e in reversed(plan.entities)}  # the first of duplicates wins
    return {
        "scope": scope,
        # Sorted by name_key: every writer locks entities in one order, which avoids deadlocks.
        "entities": [_entity_param(entities[key], dims) for key in sorted(entities)],
        "creates": [_create_param(m, ids.next_id(), dims) for m in plan.creates],
        "created_ids": [m.id for m in plan.creates],
        "updates": [_update_param(c, dims) for c in plan.updates],
        "deletes": [{"id": int(i)} for i in dict.fromkeys(plan.deletes)],
        "locks": sorted({int(c.id) for c in plan.updates} | {int(i) for i in plan.deletes}),
        # The same fact twice in one plan is one relation (as concurrent plans are, in Cypher).
        "relations": [_relation_param(r) for r in _unique_relations(plan.relations)],
        "invalidations": [int(i) for i in plan.invalidations],
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
        "tenant": m.scope.memory_tenant, "scope_tokens": scope_tokens(m.scope),
        "metadata": _metadata_json(m.metadata, f"memory {m.id}"), "md": metadata_properties(m.metadata),
        "created_at": m.created_at, "event_id": event_id, "entity_keys": sorted(set(m.entity_keys)),
    }


def _update_param(c: MemoryChange, dims: int | None) -> dict[str, Any]:
    meta = c.metadata
    embedding = None if c.embedding is None else _stored_embedding(c.embedding, dims, f"memory {c.id}")
    return {
        "id": c.id, "updated_at": c.updated_at, "memory": c.memory, "hash": c.hash,
        "embedding": embedding, "zero_embedding": c.embedding is not None and embedding is None,
        "metadata": None if meta is None else _metadata_json(meta, f"memory {c.id}"),
        "md": None if meta is None else metadata_properties(meta),
        "entity_keys": None if c.entity_keys is None else sorted(set(c.entity_keys)),
    }


def _unique_relations(relations: Sequence[RelationInput]) -> list[RelationInput]:
    unique: dict[tuple[str, str, str], RelationInput] = {}
    for r in relations:
        unique.setdefault((r.source_key, r.relationship, r.destination_key), r)
    return list(unique.values())


def _relation_param(r: RelationInput) -> dict[str, Any]:
    return {
        "id": r.id, "source_key": r.source_key, "destination_key": r.destination_key,
        "relationship": r.relationship, "fact": r.fact, "memory_id": r.memory_id,
        "valid_at": r.valid_at, "created_at": r.created_at,
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

