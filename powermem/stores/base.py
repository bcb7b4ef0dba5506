"""The GraphStore protocol and the plain data it exchanges with the pipelines.

Stores know nothing of LLMs or prompts; pipelines know nothing of SQL or Cypher. Both stores
implement exactly this protocol and pass the same contract suite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from powermem.filters import FilterNode

if TYPE_CHECKING:
    from powermem.stores.dump import Row, Section

Vector = npt.NDArray[np.float32]
SortField = Literal["created_at", "updated_at", "id", "memory"]


@dataclass(frozen=True)
class Scope:
    """The tenant an operation is restricted to; ``None`` fields are unconstrained."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    @property
    def empty(self) -> bool:
        return self.user_id is None and self.agent_id is None and self.run_id is None

    @property
    def graph_tenant(self) -> str:
        """The one key of the graph this scope reads and writes (API.md, "The graph's tenancy").

        Entities are shared by all runs of a user/agent pair, so the graph spans sessions; a
        scope with neither has a graph of its own run. Ids never hold U+001F (validated), so the
        two shapes (one separator, two) cannot collide.
        """
        if self.user_id is None and self.agent_id is None:
            return f"\x1f\x1f{self.run_id or ''}"
        return f"{self.user_id or ''}\x1f{self.agent_id or ''}"

    @property
    def run_narrowed(self) -> bool:
        """A run inside a user/agent graph: only relations asserted by memories of that run show."""
        return self.run_id is not None and not (self.user_id is None and self.agent_id is None)

    @property
    def memory_tenant(self) -> str:
        """The full tenant of a memory: conversation neighbours are looked up within it."""
        return f"{self.user_id or ''}\x1f{self.agent_id or ''}\x1f{self.run_id or ''}"


@dataclass(frozen=True)
class MemoryRow:
    id: int
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class EntityInput:
    """An entity to MERGE on (tenant, name_key). ``id`` is used only when it is created."""

    id: int
    name: str
    name_key: str
    type: str
    embedding: Vector


@dataclass(frozen=True)
class NewMemory:
    id: int
    memory: str
    hash: str
    embedding: Vector
    scope: Scope
    metadata: dict[str, Any]
    created_at: str  # the event time: when it was said (the time of the add unless the caller said)
    entity_keys: tuple[str, ...] = ()  # name_keys of the entities it MENTIONS (all in the plan)
    updated_at: str | None = None  # the system time of the write; None: created_at


@dataclass(frozen=True)
class MemoryChange:
    """An update of an existing memory. ``None`` fields are left as they are."""

    id: int
    updated_at: str
    memory: str | None = None
    hash: str | None = None
    embedding: Vector | None = None
    # Keys to set, merged into the stored metadata inside the store's transaction (concurrent
    # patches of different keys all survive); a key set to None is removed.
    metadata_patch: dict[str, Any] | None = None
    entity_keys: tuple[str, ...] | None = None  # replaces its MENTIONS when given


@dataclass(frozen=True)
class RelationInput:
    """A relation of the plan's graph tenant, asserted by ``memory_ids`` (never empty).

    When the tenant already holds a valid relation (source, relationship, destination), the
    store adds ``memory_ids`` to its provenance instead of creating another; ``id`` is used only
    when it is created. Ids of memories that do not exist once the plan is applied are ignored,
    and a relation left with none is not written.
    """

    id: int
    source_key: str
    destination_key: str
    relationship: str  # already sanitised to UPPER_SNAKE_CASE
    fact: str
    memory_ids: tuple[int, ...]
    valid_at: str  # world time: true from then on
    created_at: str  # system time: written then
    invalid_at: str | None = None  # world time it stopped being true, when the statement says so
    origin: str = "llm"  # what extracted it: "llm", or "offline" (the pattern extractor, no LLM)
    family: str | None = None  # its type family (llm.schemas.FAMILIES), when the model named one


@dataclass
class WritePlan:
    """Everything one API operation changes; a store applies it in ONE transaction.

    Updates and deletes only touch memories inside ``scope`` (the rest behave as missing).
    The store writes the ADD/UPDATE/DELETE history events itself, reading old text inside
    the transaction. A deleted memory leaves the provenance of every relation; a relation left
    with no memory is deleted, and so is every entity left with neither mentions nor relations
    (including entities of this plan that nothing links to). Entities, relations and
    invalidations all belong to ``scope.graph_tenant``.
    """

    scope: Scope
    actor: str | None = None
    creates: list[NewMemory] = field(default_factory=list)
    updates: list[MemoryChange] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    entities: list[EntityInput] = field(default_factory=list)
    relations: list[RelationInput] = field(default_factory=list)
    invalidations: list[int] = field(default_factory=list)  # relation ids to mark invalid_at
    at: str = ""
    # World time the invalidated relations stop being true (the new facts' valid_at); None: ``at``.
    # They also get expired_at = ``at`` (system time), and only one valid at that time is marked.
    invalid_at: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.creates or self.updates or self.deletes or self.relations or self.invalidations)


@dataclass(frozen=True)
class ApplyResult:
    created: tuple[int, ...]
    updated: dict[int, str]  # id -> text before the update
    deleted: dict[int, str]  # id -> text before the delete
    # Ids (RelationInput.id) of the plan's relations that were written: created, or an existing
    # valid relation that took the plan's memories into its provenance. Never a skipped one.
    related: tuple[int, ...] = ()
    invalidated: tuple[int, ...] = ()  # relation ids this plan marked invalid


@dataclass(frozen=True)
class HistoryRow:
    id: int
    memory_id: int
    event: str
    old_memory: str | None
    new_memory: str | None
    created_at: str
    actor: str | None = None


@dataclass(frozen=True)
class RelationRow:
    id: int
    source: str
    relationship: str
    destination: str
    fact: str
    memory_ids: tuple[int, ...]  # provenance: the memories that assert it, ascending
    valid_at: str
    invalid_at: str | None
    source_id: int
    destination_id: int
    created_at: str | None = None  # system time it was written
    expired_at: str | None = None  # system time it was invalidated
    origin: str = "llm"  # "llm" or "offline"; relations written before origins were kept read "llm"
    family: str | None = None  # type family (llm.schemas.FAMILIES); None: not named, or written before families


@dataclass(frozen=True)
class EntityRow:
    id: int
    name: str
    name_key: str
    type: str
    # How many memories mention it, where the lookup reports it (entities_by_key and
    # similar_entities do, so that search can tell hub names without another query).
    mentions: int = 0


@dataclass(frozen=True)
class Hit:
    id: int
    score: float  # vector: cosine in [-1, 1]; full-text: the engine's BM25-style score; entity: cosine


@dataclass
class Subgraph:
    """What graph expansion fetched: entity-entity relations and memory-entity mentions."""

    relations: list[RelationRow] = field(default_factory=list)
    mentions: list[tuple[int, int]] = field(default_factory=list)  # (memory_id, entity_id)
    entities: dict[int, EntityRow] = field(default_factory=dict)
    degrees: dict[int, int] = field(default_factory=dict)  # entity id -> memories mentioning it (the embedded store stops at 2,000)


@dataclass(frozen=True)
class TenantStats:
    user_id: str | None
    agent_id: str | None
    memories: int
    entities: int
    relations: int


class GraphStore(Protocol):
    """What the pipelines need from a store. Every method is scoped; none sees another tenant.

    Scope matching: a memory matches when each non-None scope field equals its own. Entities
    and relations belong to exactly one graph tenant (``Scope.graph_tenant``): every graph read
    (``entities_by_key``, ``similar_entities``, ``expand``, ``relations``) matches that key
    exactly, as writes do. When ``scope.run_narrowed``, ``expand`` and ``relations`` see only
    relations with a provenance memory of ``scope.run_id``.

    - ``get``/``get_many``/``list``/``vector_search``/``fulltext_search`` return only memories
      matching scope and filters. Vector hits carry cosine similarity, best first, and there are
      min(k, matching memories) of them. Full-text hits: memories containing any of ``terms``
      (already tokenised, lower-case, plain words; the store quotes them, never interprets them),
      scored BM25-style, best first.
    - ``expand``: from the seed entities plus the entities the seed memories mention, walk
      valid (``invalid_at`` null) relations in both directions up to ``hops``; returns those
      relations, the visited entities, their degree, and up to ``max_nodes`` mentions
      (memory, entity) of visited entities by memories in scope, capped per entity so a hub
      cannot flood the result.
    - ``adjacent``: for each given memory, up to ``window`` memories before and after it in id
      order within its own (user, agent, run), restricted to scope: (memory_id, neighbour_id).
    - ``relations``: relations of the scope's graph tenant (run-narrowed as above), newest first.
    - ``relations_from``: the valid relations whose source is a key of ``lanes`` and whose
      family is one of that key's families (any, for None), run-narrowed as ``relations``,
      newest first, at most ``limit``. A relation without a family is in every lane: its kind
      is unknown, not different, and leaving it out would stop it ever being invalidated.
    - ``as_of`` (``expand``, ``relations``): instead of the relations valid now (``invalid_at``
      null), those valid at that time: ``valid_at <= as_of < invalid_at`` (no ``invalid_at``: open).
    - ``delete_scope`` deletes every memory matching the scope (an empty scope: every memory)
      and every history event whose scope fields match it (no event of the scope remains),
      with the relations and entities that only those memories supported.
    - ``initialize`` creates the schema idempotently, migrates a store written by an earlier
      version (graph tenancy and provenance), and raises ConfigError when the store was created
      with a different embedding dimension.
    """

    async def initialize(self, dims: int) -> None: ...
    async def close(self) -> None: ...
    async def reset(self) -> None: ...

    async def apply(self, plan: WritePlan) -> ApplyResult: ...
    async def delete_scope(self, scope: Scope) -> int: ...

    async def get(self, memory_id: int, scope: Scope) -> MemoryRow | None: ...
    async def get_many(self, ids: Sequence[int], scope: Scope, filters: FilterNode | None) -> list[MemoryRow]: ...
    async def list_memories(
        self, scope: Scope, filters: FilterNode | None, limit: int, offset: int, sort_by: SortField, descending: bool
    ) -> tuple[list[MemoryRow], int]: ...
    async def history(self, memory_id: int, scope: Scope) -> list[HistoryRow]: ...

    async def vector_search(self, scope: Scope, filters: FilterNode | None, vector: Vector, k: int) -> list[Hit]: ...
    async def fulltext_search(
        self, scope: Scope, filters: FilterNode | None, terms: Sequence[str], k: int
    ) -> list[Hit]: ...
    async def entities_by_key(self, scope: Scope, name_keys: Sequence[str]) -> list[EntityRow]: ...
    async def similar_entities(self, scope: Scope, vector: Vector, k: int, min_score: float) -> list[tuple[EntityRow, float]]: ...
    async def expand(self, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int, max_nodes: int,
                     as_of: str | None = None) -> Subgraph: ...
    async def adjacent(self, scope: Scope, memory_ids: Sequence[int], window: int) -> list[tuple[int, int]]: ...
    async def relations(self, scope: Scope, include_invalid: bool, limit: int,
                        as_of: str | None = None) -> list[RelationRow]: ...
    async def relations_from(self, scope: Scope, lanes: Mapping[int, frozenset[str] | None],
                             limit: int) -> list[RelationRow]: ...
    async def stats(self, scope: Scope) -> list[TenantStats]: ...

    async def dump_rows(self, section: Section, after: int | None, limit: int) -> tuple[list[Row], int | None]: ...
    async def load_rows(self, section: Section, rows: Sequence[Row]) -> None: ...
    async def content_counts(self) -> dict[str, int]: ...
