"""``add(infer=True)``: one extraction call, one reconciliation call only when related
memories exist, then every change in one WritePlan (DESIGN.md §4).

Nothing is written until both calls have answered, so an LLM failure leaves the store as it
was; the store applies the plan in one transaction, so a write failure does too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from powermem import receipts, tracing
from powermem.config import MemoryConfig
from powermem.embeddings.base import Embedder, Vectors, reconcile_min_similarity
from powermem.errors import InvalidInputError
from powermem.filters import FilterNode, now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.ingest.entities import EntityResolver, NamedEntity
from powermem.ingest.linking import event_time, fact_times, link_facts
from powermem.ingest.messages import Message, storable
from powermem.ingest.raw import memory_hash
from powermem.llm.client import LLMClient, Usage
from powermem.llm.prompts import extraction_messages, reconciliation_messages
from powermem.llm.schemas import Extraction, Reconciliation
from powermem.records import added_record, memory_record
from powermem.stores.base import (
    ApplyResult,
    GraphStore,
    MemoryChange,
    MemoryRow,
    NewMemory,
    RelationRow,
    Scope,
    WritePlan,
)
from powermem.text.names import normalize_name

logger = logging.getLogger("powermem.ingest")
# At most this many existing relations are shown as ones the new facts may contradict: the
# invalidation candidates of one add (reported in its usage).
_RELATION_CONTEXT = 40
_Answer = TypeVar("_Answer", Extraction, Reconciliation)


@dataclass
class _Context:
    """Existing memories and relations the reconciliation may touch, by their small ids."""

    memories: list[MemoryRow] = field(default_factory=list)
    relations: list[RelationRow] = field(default_factory=list)


@dataclass
class _Outcome:
    plan: WritePlan
    added: list[int] = field(default_factory=list)
    updated: dict[int, str] = field(default_factory=dict)
    deleted: dict[int, MemoryRow] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)


class InferIngest:
    def __init__(self, store: GraphStore, embedder: Embedder, ids: SnowflakeGenerator, resolver: EntityResolver,
                 llm: LLMClient, config: MemoryConfig) -> None:
        self._store, self._embedder, self._ids, self._resolver = store, embedder, ids, resolver
        self._llm = llm
        self._config = config
        configured = config.ingest.reconcile_min_similarity
        self._min_similarity = reconcile_min_similarity(embedder) if configured is None else configured
        self.usage_log: list[Usage] = []  # one entry per add, for benchmarks and debugging

    @classmethod
    def from_config(cls, store: GraphStore, embedder: Embedder, ids: SnowflakeGenerator, resolver: EntityResolver,
                    config: MemoryConfig) -> InferIngest:
        llm = LLMClient.from_config(config.llm)
        assert llm is not None  # callers build this only when a provider is set
        return cls(store, embedder, ids, resolver, llm, config)

    async def aclose(self) -> None:
        await self._llm.aclose()

    async def add(self, messages: list[Message], scope: Scope, metadata: dict[str, Any],
                  filters: FilterNode | None) -> dict[str, Any]:
        if not storable(messages):
            raise InvalidInputError("messages hold no non-system message with non-blank content")
        usage = Usage()
        said_at = max((m.timestamp for m in messages if m.timestamp), default=None)
        extraction, used = await self._ask(self._extraction_prompt(messages, scope, said_at), Extraction)
        usage += used
        facts = list(dict.fromkeys(f.text.strip() for f in extraction.facts if f.text.strip()))
        if not facts:
            self._record(usage)
            return _empty()
        vectors = await self._embedder.embed(facts)
        context = await self._context(scope, filters, facts, vectors, extraction)
        decisions = None
        if context.memories:
            prompt = reconciliation_messages(
                facts, [(i, m.memory) for i, m in enumerate(context.memories)],
                [(i, r.source, r.relationship, r.destination) for i, r in enumerate(context.relations)],
                self._config.llm.prompts.reconciliation,
            )
            decisions, used = await self._ask(prompt, Reconciliation)
            usage += used
        outcome = await self._plan(scope, metadata, facts, vectors, extraction, context, decisions, said_at)
        applied = await self._store.apply(outcome.plan)
        self._record(usage)
        return _result(outcome, context, applied)

    async def _ask(self, prompt: list[dict[str, str]], schema: type[_Answer]) -> tuple[_Answer, Usage]:
        """One structured LLM call, timed and counted on the open receipt and traced."""
        attributes = {"gen_ai.request.model": self._llm.model, "powermem.llm.schema": schema.__name__}
        used = Usage()
        try:
            with tracing.span("powermem.llm", attributes) as span, receipts.timed("llm"):
                try:
                    answer, _ = await self._llm.structured(prompt, schema, usage=used)
                finally:
                    span.set_attribute("powermem.llm.calls", used.calls)
                    span.set_attribute("gen_ai.usage.input_tokens", used.prompt_tokens)
                    span.set_attribute("gen_ai.usage.output_tokens", used.completion_tokens)
        finally:
            # Counted even when the call raises: with on_llm_failure="store_raw" the add goes on.
            receipts.record_llm(used.calls, used.prompt_tokens, used.completion_tokens)
        return answer, used

    def _extraction_prompt(self, messages: list[Message], scope: Scope, said_at: str | None) -> list[dict[str, str]]:
        chat = [{"role": m.role, "content": m.content, **({"name": m.name} if m.name else {}),
                 **({"timestamp": m.timestamp} if m.timestamp else {})} for m in messages]
        label = scope.user_id or scope.agent_id or "user"
        # The reference time: when the conversation happened, which is today unless the caller said.
        today = said_at[:10] if said_at else date.today().isoformat()
        return extraction_messages(chat, label, today, self._config.llm.prompts.extraction)

    def _record(self, usage: Usage) -> None:
        self.usage_log.append(usage)
        logger.debug("add used %d LLM calls, %d prompt + %d completion tokens",
                     usage.calls, usage.prompt_tokens, usage.completion_tokens)

    async def _context(self, scope: Scope, filters: FilterNode | None, facts: list[str], vectors: Vectors,
                       extraction: Extraction) -> _Context:
        ingest = self._config.ingest
        similar: dict[int, float] = {}
        for vector in vectors:
            for hit in await self._store.vector_search(scope, filters, vector, ingest.reconcile_candidates):
                if hit.score >= self._min_similarity:
                    similar[hit.id] = max(similar.get(hit.id, -1.0), hit.score)
        rows = [r for r in await self._store.get_many(sorted(similar), scope, filters) if _same_graph(r, scope)]
        rows.sort(key=lambda r: (-similar[r.id], r.id))
        relations = await self._lane(scope, extraction) if rows else []
        receipts.record_candidates(len(relations))
        return _Context(rows, relations)

    async def _lane(self, scope: Scope, extraction: Extraction) -> list[RelationRow]:
        """The relations the new ones may contradict: of the caller's graph tenant (the store reads
        no other), from a source entity of a new relation and, when each new relation from that
        source names a family, of one of those families; at most _RELATION_CONTEXT."""
        families = _families_by_source(extraction)
        known = await self._store.entities_by_key(scope, sorted(families)) if families else []
        lane = {e.id: families[e.name_key] for e in known if e.name_key in families}
        if not lane:
            return []
        return await self._store.relations_from(scope, lane, _RELATION_CONTEXT)

    async def _plan(self, scope: Scope, metadata: dict[str, Any], facts: list[str], vectors: Vectors,
                    extraction: Extraction, context: _Context, decisions: Reconciliation | None,
                    said_at: str | None) -> _Outcome:
        at = now_timestamp()
        outcome = _Outcome(WritePlan(scope=scope, actor="llm", at=at))
        happened = fact_times(facts, extraction)
        events = _decide(facts, context, decisions)
        named = [NamedEntity(e.name, e.type) for e in extraction.entities]
        named += [NamedEntity(n) for r in extraction.relations for n in (r.source, r.destination)]
        resolution = await self._resolver.resolve(scope, named, fuzzy=True)
        outcome.plan.entities = resolution.entities
        links = link_facts(facts, extraction, resolution.keys, happened)
        memory_of_fact: dict[int, int] = {}
        for index, (event, target, text) in enumerate(events):
            if event == "ADD":
                memory_id = self._ids.next_id()
                created_at = event_time(happened[index], said_at or at)
                outcome.plan.creates.append(NewMemory(memory_id, facts[index], memory_hash(facts[index]), vectors[index],
                                                      scope, dict(metadata), created_at, links.entity_keys[index],
                                                      updated_at=at))
                outcome.added.append(memory_id)
                memory_of_fact[index] = memory_id
            elif event == "UPDATE" and target is not None:
                await self._update(outcome, context.memories[target], text or facts[index], facts[index],
                                   vectors[index], links.entity_keys[index], metadata)
                memory_of_fact[index] = context.memories[target].id
            elif event == "DELETE" and target is not None:
                row = context.memories[target]
                outcome.plan.deletes.append(row.id)
                outcome.deleted[row.id] = row
        outcome.plan.relations = links.relations(self._ids, memory_of_fact, at, facts, said_at)
        outcome.display = links.display
        outcome.plan.invalidations = _invalidations(decisions, context)
        outcome.plan.invalid_at = _invalid_from(outcome.plan, context, said_at)
        return outcome

    async def _update(self, outcome: _Outcome, row: MemoryRow, text: str, fact: str, fact_vector: Any,
                      keys: tuple[str, ...], metadata: dict[str, Any]) -> None:
        if row.id in outcome.updated or row.id in outcome.deleted:
            return
        vector = fact_vector if text == fact else (await self._embedder.embed([text]))[0]
        # Merged by the store inside its transaction (a concurrent update's keys survive).
        patch = dict(metadata) or None
        outcome.plan.updates.append(
            MemoryChange(row.id, outcome.plan.at, text, memory_hash(text), vector, patch, keys)
        )
        outcome.updated[row.id] = row.memory


def _decide(facts: list[str], context: _Context,
            decisions: Reconciliation | None) -> list[tuple[str, int | None, str | None]]:
    """(event, existing small id, text) per fact; facts without a usable decision are ADDed."""
    events: list[tuple[str, int | None, str | None]] = [("ADD", None, None) for _ in facts]
    if decisions is None:
        return events
    for decision in decisions.decisions:
        if not 0 <= decision.fact < len(facts):
            logger.warning("reconciliation named fact %d, which does not exist; ignored", decision.fact)
            continue
        if decision.event in ("UPDATE", "DELETE") and not (
            decision.target is not None and 0 <= decision.target < len(context.memories)
        ):
            logger.warning("reconciliation named memory %s, which was not shown; ignored", decision.target)
            continue
        events[decision.fact] = (decision.event, decision.target, decision.text)
    return events


def _families_by_source(extraction: Extraction) -> dict[str, frozenset[str] | None]:
    """Per source entity key of a new relation, the families its new relations name; None when
    one of them names none (then every relation from that source is a candidate, as before)."""
    families: dict[str, frozenset[str] | None] = {}
    for relation in extraction.relations:
        if not (key := normalize_name(relation.source)):
            continue
        named = families.get(key, frozenset())
        if relation.family is None or named is None:
            families[key] = None
        else:
            families[key] = named | {relation.family}
    return families


def _invalidations(decisions: Reconciliation | None, context: _Context) -> list[int]:
    if decisions is None:
        return []
    ids = []
    for small in decisions.contradicted_relations:
        if 0 <= small < len(context.relations):
            ids.append(context.relations[small].id)
        else:
            logger.warning("reconciliation named relation %d, which was not shown; ignored", small)
    return ids


def _invalid_from(plan: WritePlan, context: _Context, said_at: str | None) -> str | None:
    """When the contradicted relations stop being true: when the new relations from the same
    source start (the earliest), else when the messages were said (None: the time of the write)."""
    gone = set(plan.invalidations)
    sources = {normalize_name(r.source) for r in context.relations if r.id in gone}
    starts = [r.valid_at for r in plan.relations if r.source_key in sources]
    return min(starts) if starts else said_at


def _same_graph(row: MemoryRow, scope: Scope) -> bool:
    """The reconciliation sees only memories of the caller's own graph tenant."""
    return Scope(row.user_id, row.agent_id, row.run_id).graph_tenant == scope.graph_tenant


def _empty() -> dict[str, Any]:
    return {"results": [], "relations": {"added_entities": [], "deleted_entities": []}}


def _result(outcome: _Outcome, context: _Context, applied: ApplyResult) -> dict[str, Any]:
    plan = outcome.plan
    results: list[dict[str, Any]] = []
    results.extend(added_record(memory) for memory in plan.creates)
    by_id = {m.id: m for m in context.memories}
    for change in (c for c in plan.updates if c.id in applied.updated):
        old = by_id[change.id]
        metadata = {**old.metadata, **(change.metadata_patch or {})}
        row = MemoryRow(old.id, change.memory or old.memory, change.hash or old.hash, old.user_id, old.agent_id,
                        old.run_id, metadata, old.created_at, change.updated_at)
        results.append({**memory_record(row), "event": "UPDATE", "previous_memory": outcome.updated[change.id]})
    for row in (r for r in outcome.deleted.values() if r.id in applied.deleted):
        results.append({**memory_record(row), "event": "DELETE"})
    names = outcome.display
    written, invalid = set(applied.related), set(applied.invalidated)
    added = [{"source": names.get(r.source_key, r.source_key), "relationship": r.relationship,
              "destination": names.get(r.destination_key, r.destination_key)}
             for r in plan.relations if r.id in written]
    deleted = [{"source": r.source, "relationship": r.relationship, "destination": r.destination}
               for r in context.relations if r.id in invalid]
    return {"results": results, "relations": {"added_entities": added, "deleted_entities": deleted}}
