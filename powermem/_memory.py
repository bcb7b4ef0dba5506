"""AsyncMemory, the one implementation, and Memory, its synchronous facade."""

from __future__ import annotations

import asyncio
import logging
import warnings
from types import TracebackType
from typing import Any, Literal

from powermem import receipts, tracing
from powermem._sync import LoopThread
from powermem._validate import (
    content_of,
    metadata_of,
    offset_of,
    page_size,
    query_of,
    scope_of,
    threshold_of,
)
from powermem.config import MemoryConfig
from powermem.embeddings import CachedQueryEmbedder, Embedder, create_embedder
from powermem.errors import InvalidInputError
from powermem.filters import parse_filters
from powermem.ids import SnowflakeGenerator, parse_id
from powermem.ingest.pipeline import AddPipeline
from powermem.limits import MAX_GET_ALL_LIMIT, MAX_SEARCH_LIMIT
from powermem.records import history_record, memory_record, relation_record
from powermem.search.engine import SearchEngine
from powermem.stores import create_store
from powermem.stores.base import GraphStore, Scope
from powermem.stores.instrumented import instrument
from powermem.when import created_by, point_in_time

logger = logging.getLogger("powermem")

_SORT_FIELDS = ("created_at", "updated_at", "id", "memory")


class AsyncMemory:
    """A graph + vector memory store. Natively async; see ``Memory`` for the sync facade."""

    def __init__(
        self,
        config: MemoryConfig | dict[str, Any] | None = None,
        storage_type: str | None = None,
        llm_provider: str | None = None,
        embedding_provider: str | None = None,
        agent_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        cfg = MemoryConfig.from_any(config)
        overrides = {"store": storage_type, "llm": llm_provider, "embedding": embedding_provider}
        for section, provider in overrides.items():
            if provider is not None:
                warnings.warn(
                    f"the {section} provider argument is deprecated; set config['{section}']['provider']",
                    DeprecationWarning, stacklevel=2,
                )
                data = cfg.model_dump()
                data[section]["provider"] = {"sqlite": "embedded"}.get(provider, provider)
                cfg = MemoryConfig.from_any(data)
        self.config = cfg
        defaults = scope_of(user_id, agent_id, None, required=False)
        self._default_user, self._default_agent = defaults.user_id, defaults.agent_id
        self._lock: asyncio.Lock | None = None
        self._store: GraphStore | None = None
        self._embedder: Embedder | None = None
        self._pipeline: AddPipeline | None = None
        self._search: SearchEngine | None = None

    # lifecycle ---------------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect, create the schema idempotently and check connectivity. Safe to call twice."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._store is not None:
                return
            embedder = create_embedder(self.config.embedding)
            store = instrument(create_store(self.config.store))
            try:
                await store.initialize(embedder.dims)
            except BaseException:
                await store.close()
                await embedder.aclose()
                raise
            ids = SnowflakeGenerator(self.config.worker_id)
            self._pipeline = AddPipeline(store, embedder, ids, self.config)
            self._search = SearchEngine(store, CachedQueryEmbedder(embedder), self.config.search)
            self._embedder, self._store = embedder, store

    async def _ready(self) -> tuple[GraphStore, AddPipeline, SearchEngine]:
        if self._store is None:
            await self.initialize()
        assert self._store is not None and self._pipeline is not None and self._search is not None
        return self._store, self._pipeline, self._search

    async def close(self) -> None:
        if self._pipeline is not None:
            await self._pipeline.aclose()
        if self._store is not None:
            await self._store.close()
        if self._embedder is not None:
            await self._embedder.aclose()
        self._store = self._embedder = self._pipeline = self._search = None

    async def __aenter__(self) -> AsyncMemory:
        await self.initialize()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # methods -----------------------------------------------------------------------------------
    async def add(
        self, messages: Any, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None,
        metadata: dict[str, Any] | None = None, filters: dict[str, Any] | None = None, infer: bool = True,
        timestamp: Any = None,
    ) -> dict[str, Any]:
        """Store messages as memories (``infer=False``) or let the LLM pipeline distil them.

        ``timestamp`` (datetime, ISO-8601 text or epoch seconds; default now) is when the
        messages were said; a message's own ``timestamp`` key wins over it.
        """
        scope = self._scope("add", user_id, agent_id, run_id, required=True)
        if not isinstance(infer, bool):
            raise InvalidInputError(f"infer must be a bool, not {type(infer).__name__}")
        meta = metadata_of(metadata)
        node = parse_filters(filters)
        event_time = point_in_time(timestamp, "timestamp")
        _, pipeline, _ = await self._ready()
        with tracing.span("powermem.add", {"powermem.infer": infer}) as span, receipts.opened() as receipt:
            result = await pipeline.add(messages, scope, meta, node, infer, event_time)
            span.set_attribute("powermem.results", len(result["results"]))
        result["usage"] = receipt.as_dict()
        return result

    async def search(
        self, query: str, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None,
        filters: dict[str, Any] | None = None, limit: int = 30, threshold: float | None = None,
        as_of: Any = None,
    ) -> dict[str, Any]:
        """Hybrid search; results best first with ``score`` in [0, 1] and per-signal ``scores``.

        ``as_of`` (datetime, ISO-8601 text or epoch seconds) answers as the world was then:
        memories created by then, relations valid then.
        """
        text = query_of(query)
        scope = self._scope("search", user_id, agent_id, run_id)
        node = parse_filters(filters)
        limit = page_size(limit, "limit", MAX_SEARCH_LIMIT, "search")
        cutoff = threshold_of(threshold)
        when = point_in_time(as_of, "as_of")
        if not text.strip():
            return {"results": [], "relations": []}
        _, _, engine = await self._ready()
        with tracing.span("powermem.search", {"powermem.limit": limit}) as span:
            found = await engine.search(text, scope, node, limit, cutoff, as_of=when)
            span.set_attribute("powermem.results", len(found["results"]))
        return found

    async def get(self, memory_id: int | str, user_id: str | None = None,
                  agent_id: str | None = None) -> dict[str, Any] | None:
        key = parse_id(memory_id)
        scope = self._scope("get", user_id, agent_id, None)
        store, _, _ = await self._ready()
        row = await store.get(key, scope)
        return memory_record(row) if row else None

    async def update(
        self, memory_id: int | str, content: str | None = None, user_id: str | None = None,
        agent_id: str | None = None, metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Change text (re-embedded, entities relinked) and/or merge metadata (None removes a key)."""
        key = parse_id(memory_id)
        text = content_of(content)
        meta = metadata_of(metadata, allow_none_values=True) if metadata is not None else None
        if text is None and meta is None:
            raise InvalidInputError("update needs content or metadata")
        scope = self._scope("update", user_id, agent_id, None)
        _, pipeline, _ = await self._ready()
        return await pipeline.update(key, scope, text, meta)

    async def delete(self, memory_id: int | str, user_id: str | None = None, agent_id: str | None = None) -> bool:
        key = parse_id(memory_id)
        scope = self._scope("delete", user_id, agent_id, None)
        _, pipeline, _ = await self._ready()
        return await pipeline.delete(key, scope)

    async def delete_all(self, user_id: str | None = None, agent_id: str | None = None,
                         run_id: str | None = None, *, all: bool = False) -> dict[str, int]:  # noqa: A002
        """Delete every memory of a scope. With no scope it refuses unless ``all=True``."""
        scope = self._scope("delete_all", user_id, agent_id, run_id, explicit_all=all is True)
        if scope.empty and all is not True:
            raise InvalidInputError(
                "delete_all needs user_id, agent_id or run_id; pass all=True to delete every memory of every tenant"
            )
        store, _, _ = await self._ready()
        return {"deleted": await store.delete_scope(scope)}

    async def get_all(
        self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None,
        limit: int = 100, offset: int = 0, filters: dict[str, Any] | None = None,
        sort_by: str = "created_at", order: Literal["asc", "desc"] | str = "desc",
        as_of: Any = None, include_invalidated: bool = False,
    ) -> dict[str, Any]:
        """A page of memories and the graph's relations; ``as_of``: as the world was then (see
        ``search``); ``include_invalidated``: superseded relations too, each with its times."""
        scope = self._scope("get_all", user_id, agent_id, run_id)
        when = point_in_time(as_of, "as_of")
        if not isinstance(include_invalidated, bool):
            raise InvalidInputError(f"include_invalidated must be a bool, not {type(include_invalidated).__name__}")
        limit = page_size(limit, "limit", MAX_GET_ALL_LIMIT, "get_all")
        offset = offset_of(offset)
        node = parse_filters(filters)
        if sort_by not in _SORT_FIELDS:
            raise InvalidInputError(f"sort_by must be one of {', '.join(_SORT_FIELDS)}, got {sort_by!r}")
        if order not in ("asc", "desc"):
            raise InvalidInputError(f"order must be 'asc' or 'desc', got {order!r}")
        store, _, _ = await self._ready()
        rows, total = await store.list_memories(scope, created_by(node, when), limit, offset, sort_by,  # type: ignore[arg-type]
                                                order == "desc")
        relations = await store.relations(scope, include_invalidated, 100, when) if not scope.empty else []
        timed = include_invalidated or when is not None
        return {"results": [memory_record(r) for r in rows],
                "relations": [relation_record(r, timed) for r in relations], "total": total}

    async def history(self, memory_id: int | str, user_id: str | None = None,
                      agent_id: str | None = None) -> list[dict[str, Any]]:
        key = parse_id(memory_id)
        scope = self._scope("history", user_id, agent_id, None)
        store, _, _ = await self._ready()
        return [history_record(r) for r in await store.history(key, scope)]

    async def reset(self) -> None:
        """Wipe the whole store: every tenant's memories, graph and history."""
        store, _, _ = await self._ready()
        await store.reset()

    # scope: the instance's defaults, and require_scope ------------------------------------------
    def _scope(self, method: str, user_id: str | None, agent_id: str | None, run_id: str | None, *,
               required: bool = False, explicit_all: bool = False) -> Scope:
        """The call's scope, the instance's user_id/agent_id filling what the call leaves None."""
        scope = scope_of(self._default_user if user_id is None else user_id,
                         self._default_agent if agent_id is None else agent_id, run_id, required=required)
        if scope.empty and self.config.require_scope and not explicit_all:
            raise InvalidInputError(
                f"{method} needs user_id, agent_id or run_id: require_scope is on, so a call never reaches "
                "every tenant's memories"
            )
        return scope


class Memory:
    """The synchronous facade: the same core, driven on a private background event loop."""

    def __init__(
        self,
        config: MemoryConfig | dict[str, Any] | None = None,
        storage_type: str | None = None,
        llm_provider: str | None = None,
        embedding_provider: str | None = None,
        agent_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._async = AsyncMemory(config, storage_type, llm_provider, embedding_provider, agent_id, user_id)
        # Re-issued from here so that they point at the caller's line, not at this module's.
        with warnings.catch_warnings():
            warnings.simplefilter("default", DeprecationWarning)
            for warning in caught:
                warnings.warn(warning.message, warning.category, stacklevel=2)
        self._loop = LoopThread()
        try:
            self._loop.run(self._async.initialize())
        except BaseException:
            self._loop.stop()
            raise

    @property
    def config(self) -> MemoryConfig:
        return self._async.config

    def add(self, messages: Any, user_id: str | None = None, agent_id: str | None = None,
            run_id: str | None = None, metadata: dict[str, Any] | None = None,
            filters: dict[str, Any] | None = None, infer: bool = True, timestamp: Any = None) -> dict[str, Any]:
        return self._loop.run(self._async.add(messages, user_id, agent_id, run_id, metadata, filters, infer, timestamp))

    def search(self, query: str, user_id: str | None = None, agent_id: str | None = None,
               run_id: str | None = None, filters: dict[str, Any] | None = None, limit: int = 30,
               threshold: float | None = None, as_of: Any = None) -> dict[str, Any]:
        return self._loop.run(self._async.search(query, user_id, agent_id, run_id, filters, limit, threshold, as_of))

    def get(self, memory_id: int | str, user_id: str | None = None,
            agent_id: str | None = None) -> dict[str, Any] | None:
        return self._loop.run(self._async.get(memory_id, user_id, agent_id))

    def update(self, memory_id: int | str, content: str | None = None, user_id: str | None = None,
               agent_id: str | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self._loop.run(self._async.update(memory_id, content, user_id, agent_id, metadata))

    def delete(self, memory_id: int | str, user_id: str | None = None, agent_id: str | None = None) -> bool:
        return self._loop.run(self._async.delete(memory_id, user_id, agent_id))

    def delete_all(self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None,
                   *, all: bool = False) -> dict[str, int]:  # noqa: A002
        return self._loop.run(self._async.delete_all(user_id, agent_id, run_id, all=all))

    def get_all(self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None,
                limit: int = 100, offset: int = 0, filters: dict[str, Any] | None = None,
                sort_by: str = "created_at", order: str = "desc", as_of: Any = None,
                include_invalidated: bool = False) -> dict[str, Any]:
        return self._loop.run(self._async.get_all(user_id, agent_id, run_id, limit, offset, filters, sort_by, order,
                                                  as_of, include_invalidated))

    def history(self, memory_id: int | str, user_id: str | None = None,
                agent_id: str | None = None) -> list[dict[str, Any]]:
        return self._loop.run(self._async.history(memory_id, user_id, agent_id))

    def reset(self) -> None:
        self._loop.run(self._async.reset())

    def close(self) -> None:
        try:
            self._loop.run(self._async.close())
        finally:
            self._loop.stop()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
