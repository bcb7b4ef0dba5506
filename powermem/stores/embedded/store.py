"""EmbeddedStore: the GraphStore protocol over one SQLite file, for laptops and tests.

All SQLite work runs on one dedicated thread, so each operation is one transaction and the
event loop never blocks on disk I/O.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from powermem._blas import use_one_blas_thread
from powermem.config import StoreConfig, default_embedded_path
from powermem.errors import PowermemError, StoreError
from powermem.filters import FilterNode
from powermem.stores.base import (
    ApplyResult,
    EntityRow,
    HistoryRow,
    Hit,
    MemoryRow,
    RelationRow,
    Scope,
    SortField,
    Subgraph,
    TenantStats,
    Vector,
    WritePlan,
)
from powermem.stores.dump import Row, Section
from powermem.stores.embedded.engine import SqliteEngine
from powermem.stores.embedded.vectors import rank
from powermem.stores.reembedding import ReembedState

T = TypeVar("T")


class EmbeddedStore:
    def __init__(self, config: StoreConfig) -> None:
        self.path = Path(config.path).expanduser() if config.path else default_embedded_path()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="powermem-sqlite")
        # Vector ranking is numpy work that releases the GIL: on its own thread it overlaps the
        # full-text and graph queries of the same search on the SQLite thread.
        self._ranker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="powermem-vectors")
        # A second core scans half of a very large tenant's vectors (vectors.SPLIT_MIN_ROWS).
        self._scan_helper = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="powermem-vectors-scan")
            if (os.cpu_count() or 1) > 1 else None
        )
        self._engine: SqliteEngine | None = None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(fn, *args))
        except PowermemError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store {self.path}: {exc}") from exc

    @property
    def engine(self) -> SqliteEngine:
        if self._engine is None:
            raise StoreError("the embedded store is not initialized")
        return self._engine

    async def initialize(self, dims: int) -> None:
        await self._open()
        await self._run(self.engine.initialize, dims)

    async def _open(self) -> None:
        use_one_blas_thread()
        if self._engine is None:
            try:
                self._engine = await self._run(SqliteEngine, self.path)
            except OSError as exc:
                raise StoreError(f"cannot open embedded store {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._engine is not None:
            await self._run(self._engine.close)
            self._engine = None
        self._executor.shutdown(wait=True)
        self._ranker.shutdown(wait=True)
        if self._scan_helper is not None:
            self._scan_helper.shutdown(wait=True)

    async def reset(self) -> None:
        await self._run(self.engine.reset)

    async def apply(self, plan: WritePlan) -> ApplyResult:
        return await self._run(self.engine.apply, plan)

    async def delete_scope(self, scope: Scope) -> int:
        return await self._run(self.engine.delete_scope, scope)

    async def get(self, memory_id: int, scope: Scope) -> MemoryRow | None:
        return await self._run(self.engine.get, memory_id, scope)

    async def get_many(self, ids: Sequence[int], scope: Scope, filters: FilterNode | None) -> list[MemoryRow]:
        return await self._run(self.engine.get_many, ids, scope, filters)

    async def list_memories(
        self, scope: Scope, filters: FilterNode | None, limit: int, offset: int, sort_by: SortField, descending: bool
    ) -> tuple[list[MemoryRow], int]:
        return await self._run(self.engine.list_memories, scope, filters, limit, offset, sort_by, descending)

    async def history(self, memory_id: int, scope: Scope) -> list[HistoryRow]:
        return await self._run(self.engine.history, memory_id, scope)

    async def vector_search(self, scope: Scope, filters: FilterNode | None, vector: Vector, k: int) -> list[Hit]:
        matrices, allowed, window = await self._run(self.engine.vector_candidates, scope, filters)
        return await asyncio.get_running_loop().run_in_executor(
            self._ranker, rank, matrices, vector, k, allowed, self._scan_helper, window)

    async def fulltext_search(
        self, scope: Scope, filters: FilterNode | None, terms: Sequence[str], k: int
    ) -> list[Hit]:
        return await self._run(self.engine.fulltext_search, scope, filters, terms, k)

    async def entities_by_key(self, scope: Scope, name_keys: Sequence[str]) -> list[EntityRow]:
        return await self._run(self.engine.entities_by_key, scope, name_keys)

    async def similar_entities(
        self, scope: Scope, vector: Vector, k: int, min_score: float
    ) -> list[tuple[EntityRow, float]]:
        return await self._run(self.engine.similar_entities, scope, vector, k, min_score)

    async def expand(
        self, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int, max_nodes: int,
        as_of: str | None = None,
    ) -> Subgraph:
        return await self._run(self.engine.expand, scope, entity_ids, memory_ids, hops, max_nodes, as_of)

    async def adjacent(self, scope: Scope, memory_ids: Sequence[int], window: int) -> list[tuple[int, int]]:
        return await self._run(self.engine.adjacent, scope, memory_ids, window)

    async def relations(self, scope: Scope, include_invalid: bool, limit: int,
                        as_of: str | None = None) -> list[RelationRow]:
        return await self._run(self.engine.relations, scope, include_invalid, limit, as_of)

    async def relations_from(self, scope: Scope, lanes: Mapping[int, frozenset[str] | None],
                             limit: int) -> list[RelationRow]:
        return await self._run(self.engine.relations_from, scope, lanes, limit)

    async def stats(self, scope: Scope) -> list[TenantStats]:
        return await self._run(self.engine.stats, scope)

    async def dump_rows(self, section: Section, after: int | None, limit: int) -> tuple[list[Row], int | None]:
        return await self._run(self.engine.dump_rows, section, after, limit)

    async def load_rows(self, section: Section, rows: Sequence[Row]) -> None:
        await self._run(self.engine.load_rows, section, rows)

    async def content_counts(self) -> dict[str, int]:
        return await self._run(self.engine.content_counts)

    # re-embedding (powermem.reembed drives these) ---------------------------------------------
    async def reembed_open(self) -> ReembedState:
        await self._open()
        return await self._run(self.engine.reembed_open)

    async def reembed_begin(self, target: dict[str, Any]) -> None:
        await self._run(self.engine.reembed_begin, target)

    async def reembed_pending(self, kind: str, after: int, limit: int) -> list[tuple[int, str]]:
        return await self._run(self.engine.reembed_pending, kind, after, limit)

    async def reembed_write(self, kind: str, rows: Sequence[tuple[int, str, Vector]]) -> None:
        await self._run(self.engine.reembed_write, kind, rows)

    async def reembed_remaining(self, kind: str) -> tuple[int, int]:
        return await self._run(self.engine.reembed_remaining, kind)

    async def reembed_switch(self, dims: int, batch: int) -> None:
        await self._run(self.engine.reembed_switch, dims)

    async def reembed_abort(self, batch: int) -> None:
        await self._run(self.engine.reembed_abort)
