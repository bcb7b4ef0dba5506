"""Store-level helpers for the agent surfaces: per-tenant counts, bulk import, graph export.

These reach past the public API into the store and the raw ingest path of an AsyncMemory.
They exist because the API has no call for "add these N texts, each with its own metadata,
in one transaction" (``add`` applies one metadata dict to every message), for reading a
tenant's whole graph, nor for one entity's neighbourhood; ``powermem import``, ``powermem
graph export`` and the MCP tool ``related_entities`` need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from powermem._memory import AsyncMemory
from powermem._validate import bounded_text, metadata_of
from powermem.errors import InvalidInputError
from powermem.ingest.raw import Draft
from powermem.records import added_record
from powermem.stores.base import EntityRow, GraphStore, MemoryRow, RelationRow, Scope, TenantStats, WritePlan
from powermem.text.names import normalize_name

__all__ = ["Neighbourhood", "PlannedTexts", "TenantGraph", "add_texts", "entity_neighbourhood", "graph_of", "plan_texts",
           "store_of", "tenant_stats"]

_PAGE = 1000


async def store_of(memory: AsyncMemory) -> GraphStore:
    store, _, _ = await memory._ready()
    return store


async def tenant_stats(memory: AsyncMemory, scope: Scope) -> list[TenantStats]:
    """Memories, entities and valid relations per (user_id, agent_id) tenant within scope."""
    return await (await store_of(memory)).stats(scope)


@dataclass
class PlannedTexts:
    """Memories planned by :func:`plan_texts` (ids taken, texts embedded), not yet written."""

    store: GraphStore
    plan: WritePlan

    async def write(self) -> list[dict[str, Any]]:
        """Writes them in ONE transaction; their records, as ``add`` returns them."""
        await self.store.apply(self.plan)
        return [added_record(m) for m in self.plan.creates]


async def plan_texts(
    memory: AsyncMemory, scope: Scope, items: Sequence[tuple[str, dict[str, Any]]], actor: str | None
) -> PlannedTexts:
    """Plans each (text, metadata) as one memory, as ``add(infer=False)`` would.

    Ids are handed out in the order of ``items`` before the first await, so plans made one
    after another keep the input's order even while they embed concurrently.
    """
    if scope.empty:
        raise InvalidInputError("at least one of user_id, agent_id or run_id is required")
    drafts = []
    for text, metadata in items:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("a memory must be a non-blank string")
        drafts.append(Draft(bounded_text(text, "a memory"), metadata_of(metadata)))
    store, pipeline, _ = await memory._ready()
    # The raw-ingest planner is the exact path of add(infer=False), minus the one-metadata limit.
    return PlannedTexts(store, await pipeline._raw.plan(drafts, scope, actor))


async def add_texts(
    memory: AsyncMemory, scope: Scope, items: Sequence[tuple[str, dict[str, Any]]], actor: str | None
) -> list[dict[str, Any]]:
    """Stores each (text, metadata) as one memory, as ``add(infer=False)`` would, in ONE transaction."""
    return await (await plan_texts(memory, scope, items, actor)).write()


@dataclass
class TenantGraph:
    """Everything ``graph export`` draws: memories, entities, mentions and relations."""

    memories: list[MemoryRow] = field(default_factory=list)
    entities: dict[int, EntityRow] = field(default_factory=dict)
    mentions: list[tuple[int, int]] = field(default_factory=list)  # (memory_id, entity_id)
    relations: list[RelationRow] = field(default_factory=list)
    truncated: bool = False


async def _memories(store: GraphStore, scope: Scope, limit: int | None) -> tuple[list[MemoryRow], int]:
    rows: list[MemoryRow] = []
    total = 0
    while limit is None or len(rows) < limit:
        page = _PAGE if limit is None else min(_PAGE, limit - len(rows))
        batch, total = await store.list_memories(scope, None, page, len(rows), "id", False)
        rows.extend(batch)
        if len(batch) < page:
            break
    return rows, total


async def graph_of(memory: AsyncMemory, scope: Scope, limit: int | None = None,
                   relation_limit: int = 1_000_000) -> TenantGraph:
    """The scope's graph: its oldest ``limit`` memories (all when None) and every relation."""
    store = await store_of(memory)
    memories, total = await _memories(store, scope, limit)
    relations = await store.relations(scope, True, relation_limit)
    endpoints = sorted({r.source_id for r in relations} | {r.destination_id for r in relations})
    ids = [m.id for m in memories]
    # hops=0 returns the seeds and their mentions only; a huge node budget lifts the per-entity
    # cap that expansion applies during search.
    budget = max(1_000_000, 50 * (len(ids) + len(endpoints)))
    sub = await store.expand(scope, endpoints, ids, 0, budget)
    wanted = set(ids)
    mentions = sorted({(m, e) for m, e in sub.mentions if m in wanted})
    return TenantGraph(memories, dict(sub.entities), mentions, relations, truncated=len(memories) < total)


@dataclass
class Neighbourhood:
    """An entity (or the few entities a name resembles), their valid relations and their memories."""

    entities: list[EntityRow] = field(default_factory=list)  # the entities the name matched
    matched_by: str = "none"  # "name" (normalised name), "similarity" (embedding) or "none"
    relations: list[RelationRow] = field(default_factory=list)
    neighbours: list[EntityRow] = field(default_factory=list)  # entities reached over those relations
    memories: list[MemoryRow] = field(default_factory=list)  # newest first


_SIMILAR_ENTITIES = 3


async def _matching_entities(memory: AsyncMemory, store: GraphStore, scope: Scope,
                             name: str) -> tuple[list[EntityRow], str]:
    key = normalize_name(name)
    if not key:
        raise InvalidInputError("name must contain a letter or a digit")
    exact = await store.entities_by_key(scope, [key])
    if exact:
        return exact, "name"
    # "Alice Smith" for an entity stored as "Alice": the same embedding link search uses.
    embedder = memory._embedder
    assert embedder is not None  # store_of initialized the memory
    vector = (await embedder.embed([name]))[0]
    similar = await store.similar_entities(scope, vector, _SIMILAR_ENTITIES, memory.config.search.entity_link_similarity)
    return [entity for entity, _ in similar], "similarity" if similar else "none"


async def entity_neighbourhood(memory: AsyncMemory, scope: Scope, name: str, *, hops: int = 1,
                               limit: int = 20) -> Neighbourhood:
    """What the scope's graph knows around ``name``: valid relations within ``hops`` and the
    ``limit`` newest memories that mention the entity (scope's graph tenant only)."""
    if scope.empty:
        raise InvalidInputError("at least one of user_id, agent_id or run_id is required")
    if not isinstance(name, str):
        raise InvalidInputError(f"name must be a string, not {type(name).__name__}")
    bounded_text(name, "an entity name")
    if not 1 <= hops <= 3:
        raise InvalidInputError(f"hops must be between 1 and 3, got {hops}")
    if not 1 <= limit <= 1000:
        raise InvalidInputError(f"limit must be between 1 and 1,000, got {limit}")
    store = await store_of(memory)
    entities, how = await _matching_entities(memory, store, scope, name)
    if not entities:
        return Neighbourhood(matched_by=how)
    seeds = {e.id for e in entities}
    # Mentions are capped per visited entity; a budget of `limit` per entity keeps the seeds' own.
    sub = await store.expand(scope, sorted(seeds), [], hops, max(500, 50 * limit))
    mentioning = sorted({m for m, e in sub.mentions if e in seeds}, reverse=True)[:limit]
    rows = {row.id: row for row in await store.get_many(mentioning, scope, None)}
    neighbours = [e for i, e in sorted(sub.entities.items()) if i not in seeds]
    return Neighbourhood(entities, how, sub.relations, neighbours, [rows[i] for i in mentioning if i in rows])
