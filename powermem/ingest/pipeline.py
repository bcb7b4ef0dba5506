"""The write side: add (raw or inferred), update and delete, each as one WritePlan."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from powermem.config import MemoryConfig
from powermem.embeddings.base import Embedder
from powermem.errors import InvalidInputError, LLMError
from powermem.filters import FilterNode, now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.ingest.entities import EntityResolver
from powermem.ingest.messages import Message, parse_messages, storable
from powermem.ingest.raw import RawIngest, drafts_from_messages, memory_hash, named_speaker
from powermem.records import added_record, memory_record
from powermem.stores.base import GraphStore, MemoryChange, MemoryRow, Scope, WritePlan

logger = logging.getLogger("powermem")

# The metadata key (and value) marking messages stored as given because extraction failed
# (ingest.on_llm_failure = "store_raw"): find them later with filters={RAW_MARK: "llm_failure"}.
RAW_MARK = "powermem_raw"


class AddPipeline:
    def __init__(self, store: GraphStore, embedder: Embedder, ids: SnowflakeGenerator, config: MemoryConfig) -> None:
        self._store = store
        self._embedder = embedder
        self._ids = ids
        self._resolver = EntityResolver(store, embedder, ids, config.ingest.entity_similarity_threshold)
        self._raw = RawIngest(store, embedder, ids, self._resolver, config.ingest.offline_extractor,
                              config.ingest.offline_relations)
        self._infer: Any = None
        self._on_llm_failure = config.ingest.on_llm_failure
        self._warned_no_llm = False
        if config.llm.provider != "none":
            from powermem.ingest.infer import InferIngest

            self._infer = InferIngest.from_config(store, embedder, ids, self._resolver, config)

    async def aclose(self) -> None:
        if self._infer is not None:
            await self._infer.aclose()

    async def add(
        self, messages: object, scope: Scope, metadata: dict[str, Any], filters: FilterNode | None, infer: bool,
        timestamp: str | None = None,
    ) -> dict[str, Any]:
        parsed = parse_messages(messages)
        if timestamp is not None:  # the add's event time, for the messages that carry none of their own
            parsed = [m if m.timestamp else replace(m, timestamp=timestamp) for m in parsed]
        if infer and self._infer is not None:
            try:
                return await self._infer.add(parsed, scope, metadata, filters)  # type: ignore[no-any-return]
            except LLMError as exc:
                if self._on_llm_failure != "store_raw":
                    raise
                # The LLM writes nothing before both calls answered, so nothing is half-written.
                logger.warning("extraction failed (%s); storing the messages as given", exc)
                result = await self._add_raw(parsed, scope, {**metadata, RAW_MARK: "llm_failure"})
                return {**result, "llm_failure": {"type": type(exc).__name__, "message": str(exc),
                                                  "status": exc.status}}
        if infer and not self._warned_no_llm:
            self._warned_no_llm = True
            # WARNING, once per memory: an off switch nobody sees looks like broken extraction.
            logger.warning("inference is off: no LLM is configured (llm.provider 'none'; set LLM_PROVIDER, or "
                           "LLM_API_KEY / OPENAI_API_KEY): add(infer=True) stores the messages as given")
        return await self._add_raw(parsed, scope, metadata)

    async def _add_raw(self, parsed: list[Message], scope: Scope, metadata: dict[str, Any]) -> dict[str, Any]:
        kept = storable(parsed)
        if not kept:
            raise InvalidInputError("messages hold no non-system message with non-blank content to store")
        plan = await self._raw.plan(drafts_from_messages(kept, metadata), scope, actor=kept[0].role)
        applied = await self._store.apply(plan)
        names = {e.name_key: e.name for e in plan.entities}
        written = set(applied.related)
        added = [{"source": names.get(r.source_key, r.source_key), "relationship": r.relationship,
                  "destination": names.get(r.destination_key, r.destination_key)}
                 for r in plan.relations if r.id in written]
        return {"results": [added_record(m) for m in plan.creates],
                "relations": {"added_entities": added, "deleted_entities": []}}

    async def update(
        self, memory_id: int, scope: Scope, content: str | None, metadata: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        row = await self._store.get(memory_id, scope)
        if row is None:
            return None
        owner = Scope(row.user_id, row.agent_id, row.run_id)
        at = now_timestamp()
        plan = WritePlan(scope=owner, at=at)
        # The patch is merged by the store inside its transaction: concurrent updates of
        # different keys all survive.
        change = MemoryChange(memory_id, at, metadata_patch=metadata)
        if content is not None:
            linked = await self._raw.link_entities([content], owner, [named_speaker(row.metadata)])
            plan.entities = linked.entities
            plan.relations = linked.relations(self._ids, [memory_id], [at], at)  # true from the edit on
            vector = (await self._embedder.embed([content]))[0]
            change = MemoryChange(memory_id, at, content, memory_hash(content), vector, metadata, linked.keys[0])
        plan.updates.append(change)
        result = await self._store.apply(plan)
        if memory_id not in result.updated:
            return None
        fresh = await self._store.get(memory_id, owner)
        if fresh is None:  # deleted by a concurrent call after this update committed: report what it wrote
            text = change.memory if change.memory is not None else result.updated[memory_id]
            meta = {k: v for k, v in {**row.metadata, **(metadata or {})}.items() if v is not None}
            fresh = MemoryRow(row.id, text, memory_hash(text), row.user_id, row.agent_id, row.run_id, meta,
                              row.created_at, at)
        return memory_record(fresh)

    async def delete(self, memory_id: int, scope: Scope) -> bool:
        row = await self._store.get(memory_id, scope)
        if row is None:
            return False
        owner = Scope(row.user_id, row.agent_id, row.run_id)
        result = await self._store.apply(WritePlan(scope=owner, deletes=[memory_id], at=now_timestamp()))
        return memory_id in result.deleted
