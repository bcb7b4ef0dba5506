"""The Neo4j implementation of the GraphStore protocol (see ``powermem.stores.base``).

One session and one managed transaction per operation (``execute_read``/``execute_write``),
so the driver retries transient failures and deadlocks; ``apply`` writes a whole plan in one
transaction with ``UNWIND`` batches. Every statement lives in ``cypher/`` and every value is
a parameter; filters and scopes are compiled to fragments by ``filters.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, LiteralString, TypeVar

import numpy as np
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, AsyncResult, Query
from neo4j import exceptions as neo

from powermem.config import StoreConfig
from powermem.errors import ConfigError, InvalidInputError
from powermem.filters import KEY_PATTERN, FilterNode, now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.stores.base import (
    ApplyResult,
    EntityInput,
    EntityRow,
    HistoryRow,
    Hit,
    MemoryChange,
    MemoryRow,
    NewMemory,
    RelationInput,
    RelationRow,
    Scope,
    SortField,
    Subgraph,
    TenantStats,
    Vector,
    WritePlan,
)
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.errors import translate_errors
from powermem.stores.neo4j.filters import (
    METADATA_PREFIX,
    Cypher,
    Params,
    compile_filter,
    entity_scope,
    memory_scope,
    where,
)
from powermem.stores.neo4j.vector_plans import FIRST_FETCH_FACTOR, MAX_FETCH, MIN_FETCH, VectorPlans, next_fetch

__all__ = ["Neo4jStore", "lucene_query", "metadata_properties", "scope_tokens"]

T = TypeVar("T")
RELATION_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_SORT_FIELDS = frozenset({"created_at", "updated_at", "id", "memory"})
# Raised when another process created the same schema object between IF NOT EXISTS and ours.
_SCHEMA_RACE_CODES = frozenset(
    {
        "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
        "Neo.ClientError.Schema.IndexAlreadyExists",
        "Neo.ClientError.Schema.ConstraintAlreadyExists",
        "Neo.ClientError.Schema.IndexWithNameAlreadyExists",
        "Neo.ClientError.Schema.ConstraintWithNameAlreadyExists",
    }
)
# A managed transaction retries transient errors (deadlocks included) for this long, then
# fails: long enough to ride out lock contention, short enough that a dead server fails fast.
_MAX_RETRY_SECONDS = 5.0
_LOCK_RETRY_SECONDS = 60.0
_LOCK_CODES = frozenset(
    {
        "Neo.TransientError.Transaction.DeadlockDetected",
        "Neo.TransientError.Transaction.LockAcquisitionTimeout",
        "Neo.TransientError.Transaction.LockClientStopped",
    }
)
_VECTOR_INDEX_NAMES = {"Memory": "memory_embedding", "Entity": "entity_embedding"}
_HUB_ROWS_PER_NODE = 4  # expansion rows per allowed node, so one hub cannot flood a hop
_MIN_MENTIONS_PER_ENTITY = 8  # as the embedded store: both return the same subgraph
_INT64 = (-(1 << 63), (1 << 63) - 1)
_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})


def _q(text: str) -> LiteralString:
    # The driver asks for a LiteralString: statement texts are the cypher/ files plus compiled
    # fragments (constants and parameter names), never data. mypy treats both types alike.
    return text


async def _rows(result: AsyncResult) -> list[dict[str, Any]]:
    return [record.data() async for record in result]


class Neo4jStore:
    """GraphStore on a Neo4j server, cluster or Aura (``bolt://`` and ``neo4j://`` URIs)."""

    def __init__(self, config: StoreConfig, worker_id: int | None = None) -> None:
        self._config = config
        self._database = config.database or None
        self._target = f"{config.uri}, database {config.database or '<default>'}, user {config.username}"
        self._driver: AsyncDriver | None = None
        self._dims: int | None = None
        self._search_clause = False  # Cypher 25 SEARCH with in-index filtering is usable
        self._version = ""
        self._ids = SnowflakeGenerator(worker_id)
        self._plans = VectorPlans()

    @property
    def server_version(self) -> str:
        return self._version

    @property
    def uses_search_clause(self) -> bool:
        return self._search_clause

    # -- lifecycle -------------------------------------------------------------------------

    def _require_driver(self) -> AsyncDriver:
        if self._driver is None:
            scheme = self._config.uri.partition("://")[0].lower()
            if scheme not in _SCHEMES:
                raise ConfigError(
                    f"Neo4j URI {self._config.uri!r} must start with one of {', '.join(sorted(_SCHEMES))}"
                )
            timeout = self._config.connection_timeout
            try:
                self._driver = AsyncGraphDatabase.driver(
                    self._config.uri,
                    auth=(self._config.username, self._config.password or ""),
                    connection_timeout=timeout,
                    # Waiting for a free pooled connection is queueing, not failure detection
                    # (connection_timeout bounds connecting): bursts of writes must not fail.
                    connection_acquisition_timeout=timeout + 50.0,
                    max_transaction_retry_time=_MAX_RETRY_SECONDS,
                    initial_retry_delay=0.1,  # contention clears in milliseconds, not seconds
                    user_agent="powermem",
                    # Planner hints (e.g. "property key does not exist" on an empty store) are
                    # not actionable for users; they would only fill the log.
                    notifications_min_severity="OFF",
                )
            except (ValueError, neo.ConfigurationError) as exc:
                raise ConfigError(f"invalid Neo4j connection settings for {self._config.uri!r}: {exc}") from exc
        return self._driver

    async def initialize(self, dims: int) -> None:
        if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= 4096:
            raise ConfigError(f"embedding dimension must be an integer in [1, 4096], got {dims!r}")
        driver = self._require_driver()
        async with translate_errors(self._target, "connect"):
            # One attempt, no retries: an unreachable server or bad credentials fail at once.
            await driver.verify_connectivity()
            # Then a query on the configured database, which checks that it exists.
            self._version = await self._server_version()
        async with translate_errors(self._target, "schema creation"):
            for statement in Q.SCHEMA:
                await self._schema(statement.query, {})
            await self._vector_indexes(dims)
            await self._write(Q.AWAIT_INDEXES.query, {"seconds": 120})
        self._dims = dims

    async def _server_version(self) -> str:
        rows = await self._read(Q.SERVER_COMPONENTS.query, {})
        versions = [str(r["version"]) for r in rows if r["name"] == "Neo4j Kernel"] or [str(r["version"]) for r in rows]
        return versions[0] if versions else ""

    async def _vector_indexes(self, dims: int) -> None:
        statements = (Q.SCHEMA_MEMORY_VECTOR, Q.SCHEMA_ENTITY_VECTOR)
        if _supports_search_clause(self._version):
            statements = (Q.SCHEMA_MEMORY_VECTOR_FILTERED, Q.SCHEMA_ENTITY_VECTOR_FILTERED)
        for statement in statements:
            await self._schema(statement.query, {"dims": dims})
        filtered = True
        for row in await self._read(Q.VECTOR_INDEX_DIMS.query, {}):
            expected = _VECTOR_INDEX_NAMES[row["label"]]
            if row["name"] != expected:
                raise ConfigError(
                    f"the Neo4j store at {self._config.uri} has a vector index {row['name']!r} on "
                    f":{row['label']}(embedding), so powermem cannot create {expected!r}; drop it "
                    "or use a fresh database"
                )
            existing = row["dims"]
            if existing is not None and int(existing) != dims:
                raise ConfigError(
                    f"the Neo4j store at {self._config.uri} holds {existing}-dimensional embeddings "
                    f"(index {row['name']}) but the embedder makes {dims}; use the same embedder or a "
                    "fresh database"
                )
            filtered = filtered and bool(row["filtered"])
        # An index created by an older server has no filter properties: keep post-filtering.
        self._search_clause = _supports_search_clause(self._version) and filtered

    async def _schema(self, query: str, params: dict[str, Any]) -> None:
        try:
            await self._write(query, params)
        except neo.ClientError as exc:
            if exc.code not in _SCHEMA_RACE_CODES:
                raise

    async def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            async with translate_errors(self._target, "close"):
                await driver.close()

    async def reset(self) -> None:
        driver = self._require_driver()
        self._plans.clear()
        # CALL ... IN TRANSACTIONS runs only in an auto-commit transaction, hence session.run.
        async with translate_errors(self._target, "reset"), driver.session(database=self._database) as session:
            result = await session.run(Query(_q(Q.RESET.query)))
            await result.consume()

    # -- transactions ----------------------------------------------------------------------

    async def _read(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            return await _rows(await tx.run(_q(query), dict(params)))

        return await self._in_read(work)

    async def _write(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            return await _rows(await tx.run(_q(query), dict(params)))

        return await self._in_write(work)

    async def _in_read(self, work: Callable[[AsyncManagedTransaction], Awaitable[T]]) -> T:
        async with self._require_driver().session(database=self._database) as session:
            return await session.execute_read(work)

    async def _in_write(self, work: Callable[[AsyncManagedTransaction], Awaitable[T]]) -> T:
        """A managed write; lock conflicts get more retries than the driver's short budget.

        The driver's retry time is kept short so that a dead server fails fast; deadlocks under
        heavy write contention are a different matter: they always clear, so keep trying.
        """
        deadline = time.monotonic() + _LOCK_RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                async with self._require_driver().session(database=self._database) as session:
                    return await session.execute_write(work)
            except neo.TransientError as exc:
                if exc.code not in _LOCK_CODES or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 1.0)

    # -- writes ----------------------------------------------------------------------------

    async def apply(self, plan: WritePlan) -> ApplyResult:
        for relation in plan.relations:
            if not RELATION_TYPE.fullmatch(relation.relationship):
                raise InvalidInputError(
                    f"relationship type {relation.relationship!r} does not match ^[A-Z][A-Z0-9_]{{0,63}}$"
                )
        if plan.empty and not plan.entities:
            return ApplyResult(created=(), updated={}, deleted={})
        params = plan_parameters(plan, self._ids, self._dims)

        async def work(tx: AsyncManagedTransaction) -> ApplyResult:
            return await _apply_work(tx, params, self._ids)

        async with translate_errors(self._target, "write"):
            return await self._in_write(work)

    async def delete_scope(self, scope: Scope) -> int:
        # An empty scope deletes every memory: the facade only passes one for delete_all(all=True).
        self._plans.clear()
        params = Params("s")
        query = Q.DELETE_SCOPE_IDS.render(scope=memory_scope(scope, params))
        at = now_timestamp()

        async def work(tx: AsyncManagedTransaction) -> int:
            ids = [int(row["id"]) for row in await _rows(await tx.run(_q(query), params.values))]
            if not ids:
                return 0
            plan = WritePlan(scope=scope, deletes=ids, at=at)
            result = await _apply_work(tx, plan_parameters(plan, self._ids, self._dims), self._ids)
            return len(result.deleted)

        async with translate_errors(self._target, "delete"):
            return await self._in_write(work)

    # -- reads -----------------------------------------------------------------------------

    async def get(self, memory_id: int, scope: Scope) -> MemoryRow | None:
        params = Params("s")
        query = Q.GET_MEMORY.render(scope=memory_scope(scope, params))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "id": int(memory_id)})
        return _memory_row(rows[0]["m"]) if rows else None

    async def get_many(self, ids: Sequence[int], scope: Scope, filters: FilterNode | None) -> list[MemoryRow]:
        unique = list(dict.fromkeys(int(i) for i in ids))
        if not unique:
            return []
        params = Params("f")
        query = Q.GET_MEMORIES.render(where=where(memory_scope(scope, params), compile_filter(filters, params)))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "ids": unique})
        return [_memory_row(row["m"]) for row in rows]

    async def list_memories(
        self, scope: Scope, filters: FilterNode | None, limit: int, offset: int, sort_by: SortField, descending: bool
    ) -> tuple[list[MemoryRow], int]:
        if sort_by not in _SORT_FIELDS:
            raise InvalidInputError(f"sort_by must be one of {sorted(_SORT_FIELDS)}, got {sort_by!r}")
        if limit < 0 or offset < 0:
            raise InvalidInputError("limit and offset must not be negative")
        params = Params("f")
        condition = where(memory_scope(scope, params), compile_filter(filters, params))
        page = (Q.LIST_PAGE_DESC if descending else Q.LIST_PAGE_ASC).render(where=condition)
        count = Q.LIST_COUNT.render(where=condition)
        page_params = {**params.values, "sort_by": sort_by, "limit": limit, "offset": offset}

        async def work(tx: AsyncManagedTransaction) -> tuple[list[MemoryRow], int]:
            total = (await _rows(await tx.run(_q(count), params.values)))[0]["total"]
            rows = await _rows(await tx.run(_q(page), page_params)) if limit else []
            return [_memory_row(row["m"]) for row in rows], int(total)

        async with translate_errors(self._target, "read"):
            return await self._in_read(work)

    async def history(self, memory_id: int, scope: Scope) -> list[HistoryRow]:
        params = {"id": int(memory_id), "user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id}
        async with translate_errors(self._target, "read"):
            rows = await self._read(Q.HISTORY.query, params)
        return [_history_row(row["ev"]) for row in rows]

    # -- search ----------------------------------------------------------------------------

    async def vector_search(self, scope: Scope, filters: FilterNode | None, vector: Vector, k: int) -> list[Hit]:
        if k <= 0:
            return []
        values = self._vector_param(vector)
        params = Params("f")
        condition = where(memory_scope(scope, params), compile_filter(filters, params))
        # A zero query vector has no cosine to anything: every memory scores 0, exactly scanned.
        zero = not any(values)
        limit = _INT64[1] - 1 if zero else self._config.exact_scan_limit
        # Filters vary per call; only a plain scope search is planned from the ones before it.
        plan_key = ("memory", scope) if filters is None and not zero else None
        async with translate_errors(self._target, "vector search"):
            if plan_key is None or not self._plans.is_large(plan_key):
                exact = await self._read(
                    Q.VECTOR_EXACT.render(where=condition),
                    {**params.values, "vector": values, "k": k, "cap": limit + 1, "zero": zero},
                )
                if exact[0]["candidates"] <= limit:
                    return _hits(exact[0]["hits"])
                if plan_key is not None:
                    self._plans.mark_large(plan_key)
            if filters is None and self._search_clause and not scope.empty:
                hits = await self._search_clause_query(scope, values, k)
                if len(hits) >= k:
                    return hits
            return await self._ann_search(condition, params.values, values, k, plan_key)

    async def _search_clause_query(self, scope: Scope, vector: list[float], k: int) -> list[Hit]:
        params = Params("s")
        query = Q.VECTOR_SEARCH_FILTERED.render(scope=memory_scope(scope, params))
        rows = await self._read(query, {**params.values, "vector": vector, "k": k})
        return [Hit(int(row["id"]), _cosine(row["score"])) for row in rows]

    async def _ann_search(
        self, condition: Cypher, params: dict[str, Any], vector: list[float], k: int, plan_key: Hashable | None
    ) -> list[Hit]:
        """Post-filtered ANN: grow the over-fetch until k hits match or the index runs dry."""
        fetch = self._plans.first_fetch(plan_key, k)
        query = Q.VECTOR_ANN.render(where=condition)
        while fetch <= MAX_FETCH:
            row = (await self._read(query, {**params, "vector": vector, "k": k, "fetch": fetch}))[0]
            self._plans.record(plan_key, row["fetched"], row["matched"])
            if len(row["hits"]) >= k:
                return _hits(row["hits"])
            if row["fetched"] < fetch:
                break  # the index gave all it would (HNSW may stop short of the whole store)
            fetch = next_fetch(fetch, len(row["hits"]), k)
        # A selective filter over a large scope: scan the filtered set exactly, without a cap.
        exact = await self._read(
            Q.VECTOR_EXACT.render(where=condition), {**params, "vector": vector, "k": k, "cap": _INT64[1], "zero": False}
        )
        return _hits(exact[0]["hits"])

    async def fulltext_search(
        self, scope: Scope, filters: FilterNode | None, terms: Sequence[str], k: int
    ) -> list[Hit]:
        lucene = lucene_query(terms, scope)
        if lucene is None or k <= 0:
            return []
        params = Params("f")
        query = Q.FULLTEXT_MEMORIES.render(where=where(memory_scope(scope, params), compile_filter(filters, params)))
        # Scope is filtered inside Lucene (scope tokens): only filters make over-fetch necessary.
        fetch = k if filters is None else max(k * FIRST_FETCH_FACTOR, MIN_FETCH)
        async with translate_errors(self._target, "full-text search"):
            while True:
                row = (await self._read(query, {**params.values, "query": lucene, "k": k, "fetch": fetch}))[0]
                if len(row["hits"]) >= k or row["fetched"] < fetch:
                    return [Hit(int(i), float(s)) for i, s in row["hits"]]
                fetch = next_fetch(fetch, len(row["hits"]), k)

    async def entities_by_key(self, scope: Scope, name_keys: Sequence[str]) -> list[EntityRow]:
        keys = list(dict.fromkeys(name_keys))
        if not keys:
            return []
        params = Params("s")
        query = Q.ENTITIES_BY_KEY.render(scope=entity_scope(scope, params))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "keys": keys})
        return [_entity_row(row["e"]) for row in rows]

    async def similar_entities(
        self, scope: Scope, vector: Vector, k: int, min_score: float
    ) -> list[tuple[EntityRow, float]]:
        if k <= 0:
            return []
        values = self._vector_param(vector)
        params = Params("s")
        condition = entity_scope(scope, params)
        zero = not any(values)
        limit = _INT64[1] - 1 if zero else self._config.exact_scan_limit
        async with translate_errors(self._target, "entity search"):
            exact = await self._read(
                Q.ENTITY_VECTOR_EXACT.render(scope=condition),
                {**params.values, "vector": values, "k": k, "cap": limit + 1, "zero": zero},
            )
            hits = exact[0]["hits"]
            if exact[0]["candidates"] > limit:
                hits = await self._entity_ann(condition, params.values, values, k, min_score)
        # Best first, so filtering the top k on min_score equals the top k of those above it.
        scored = [(_entity_row(e), _cosine(s)) for e, s in hits]
        return [(row, score) for row, score in scored if score >= min_score][:k]

    async def _entity_ann(
        self, condition: Cypher, params: dict[str, Any], vector: list[float], k: int, min_score: float
    ) -> list[Any]:
        fetch = max(k * FIRST_FETCH_FACTOR, MIN_FETCH)
        query = Q.ENTITY_VECTOR_ANN.render(scope=condition)
        while True:
            row = (await self._read(query, {**params, "vector": vector, "k": k, "fetch": fetch}))[0]
            exhausted = row["fetched"] < fetch or fetch >= MAX_FETCH
            # Scores come best first: once the worst one fetched is below min_score, more cannot help.
            below = row["lowest"] is not None and _cosine(row["lowest"]) < min_score
            if len(row["hits"]) >= k or exhausted or below:
                return list(row["hits"])
            fetch *= 2

    def _vector_param(self, vector: Vector) -> list[float]:
        return _embedding(vector, self._dims, "query")

    # -- graph -----------------------------------------------------------------------------

    async def expand(
        self, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int, max_nodes: int
    ) -> Subgraph:
        entities, memories = [int(i) for i in entity_ids], [int(i) for i in memory_ids]

        async def work(tx: AsyncManagedTransaction) -> Subgraph:
            return await _expand_work(tx, scope, entities, memories, hops, max_nodes)

        async with translate_errors(self._target, "graph expansion"):
            return await self._in_read(work)

    async def adjacent(self, scope: Scope, memory_ids: Sequence[int], window: int) -> list[tuple[int, int]]:
        ids = list(dict.fromkeys(int(i) for i in memory_ids))
        if window < 1 or not ids:
            return []
        params = Params("s")
        query = Q.ADJACENT.render(scope=memory_scope(scope, params))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "ids": ids, "window": window})
        return [(int(row["id"]), int(n)) for row in rows for n in row["neighbours"]]

    async def relations(self, scope: Scope, include_invalid: bool, limit: int) -> list[RelationRow]:
        if limit <= 0:
            return []
        params = Params("s")
        query = Q.RELATIONS.render(scope=entity_scope(scope, params, var="a"))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "include_invalid": include_invalid, "limit": limit})
        return [_relation_row(row) for row in rows]

    async def stats(self, scope: Scope) -> list[TenantStats]:
        mparams, eparams = Params("s"), Params("s")
        mquery = Q.STATS_MEMORIES.render(scope=memory_scope(scope, mparams))
        equery = Q.STATS_ENTITIES.render(scope=entity_scope(scope, eparams))
        async with translate_errors(self._target, "read"):
            memories = await self._read(mquery, mparams.values)
            entities = await self._read(equery, eparams.values)
        return _merge_stats(memories, entities)


# -- apply: one transaction, statements in an order where each sees the last ------------------


async def _apply_work(tx: AsyncManagedTransaction, p: dict[str, Any], ids: SnowflakeGenerator) -> ApplyResult:
    scope = p["scope"]
    if p["entities"]:
        await tx.run(_q(Q.MERGE_ENTITIES.query), {**scope, "rows": p["entities"]})
    if p["creates"]:
        await tx.run(_q(Q.CREATE_MEMORIES.query), {**scope, "rows": p["creates"]})
    if p["locks"]:
        await tx.run(_q(Q.LOCK_MEMORIES.query), {"ids": p["locks"]})
    # Event ids are drawn once the locks are held, so that history's id order is the order in
    # which concurrent changes to one memory really happened.
    for row in p["updates"] + p["deletes"]:
        row["event_id"] = ids.next_id()
    touched: set[int] = set()  # entities that lost a link: deleted below if left with none
    updated: dict[int, str] = {}
    if p["updates"]:
        for row in await _rows(await tx.run(_q(Q.UPDATE_MEMORIES.query), {**scope, "rows": p["updates"]})):
            updated[int(row["id"])] = row["old"]
            touched.update(row["unlinked"])
    deleted = await _delete_work(tx, p, touched) if p["deletes"] else {}
    if p["relations"]:
        await tx.run(_q(Q.CREATE_RELATIONS.query), {**scope, "rows": p["relations"]})
    if p["invalidations"]:
        await tx.run(_q(Q.INVALIDATE_RELATIONS.query), {**scope, "ids": p["invalidations"]})
    if touched:
        await tx.run(_q(Q.DROP_ORPHAN_ENTITIES.query), {"ids": sorted(touched)})
    return ApplyResult(created=tuple(p["created_ids"]), updated=updated, deleted=deleted)


async def _delete_work(tx: AsyncManagedTransaction, p: dict[str, Any], touched: set[int]) -> dict[int, str]:
    deleted: dict[int, str] = {}
    by_tenant: dict[str, list[int]] = {}
    for row in await _rows(await tx.run(_q(Q.DELETE_MEMORIES.query), {**p["scope"], "rows": p["deletes"]})):
        deleted[int(row["id"])] = row["old"]
        touched.update(row["linked"])
        by_tenant.setdefault(Scope(row["user_id"], row["agent_id"]).entity_tenant, []).append(int(row["id"]))
    if by_tenant:
        groups = [{"tenant": tenant, "memory_ids": ids} for tenant, ids in by_tenant.items()]
        for row in await _rows(await tx.run(_q(Q.DROP_MEMORY_RELATIONS.query), {"groups": groups})):
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


def _embedding(vector: Vector, dims: int | None, what: str) -> list[float]:
    array = np.asarray(vector, dtype=np.float64).ravel()  # numpy converts in C: bulk writes stay fast
    if dims is not None and array.shape[0] != dims:
        raise InvalidInputError(f"{what} embedding has {array.shape[0]} dimensions, the store has {dims}")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{what} embedding contains NaN or infinite values")
    values: list[float] = array.tolist()
    return values


def _stored_embedding(vector: Vector, dims: int | None, what: str) -> list[float] | None:
    """The embedding to store, or None for a zero vector, which has no cosine to anything."""
    values = _embedding(vector, dims, what)
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
        number = isinstance(value, int) and _INT64[0] <= value <= _INT64[1]
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


_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')


def lucene_query(terms: Sequence[str], scope: Scope) -> str | None:
    """A Lucene query matching any of ``terms`` in the memory text, within ``scope``.

    Each term is escaped (every special character backslashed) and quoted, so AND/OR/NOT and
    characters such as ``*`` are searched for literally, never interpreted. None: no terms.
    """
    quoted = ['"' + _LUCENE_SPECIAL.sub(r"\\\1", term) + '"' for term in terms if term and term.strip()]
    if not quoted:
        return None
    query = "memory:(" + " OR ".join(quoted) + ")"
    return query + "".join(" AND scope_tokens:" + token for token in scope_tokens(scope).split())


# -- graph expansion -----------------------------------------------------------------------------


async def _expand_work(
    tx: AsyncManagedTransaction, scope: Scope, entity_ids: list[int], memory_ids: list[int], hops: int,
    max_nodes: int,
) -> Subgraph:
    """Breadth-first over valid relations, one query per hop, visiting at most max_nodes entities."""
    params = Params("s")
    seeds = Q.EXPAND_SEEDS.render(scope=entity_scope(scope, params))
    rows = await _rows(await tx.run(_q(seeds), {**params.values, "entity_ids": entity_ids, "memory_ids": memory_ids}))
    graph = Subgraph(entities={int(r["e"]["id"]): _entity_row(r["e"]) for r in rows})
    frontier = sorted(graph.entities)
    relations: dict[int, RelationRow] = {}
    for _ in range(hops):
        if not frontier or len(graph.entities) >= max_nodes:
            break
        frontier = await _expand_hop(tx, graph, relations, frontier, max_nodes)
    graph.relations = [
        r for r in relations.values() if r.source_id in graph.entities and r.destination_id in graph.entities
    ]
    await _expand_mentions(tx, scope, graph, max_nodes)
    return graph


async def _expand_hop(
    tx: AsyncManagedTransaction, graph: Subgraph, relations: dict[int, RelationRow], frontier: list[int],
    max_nodes: int,
) -> list[int]:
    params = {"frontier": frontier, "max_rows": max_nodes * _HUB_ROWS_PER_NODE}
    found: list[int] = []
    for row in await _rows(await tx.run(_q(Q.EXPAND_HOP.query), params)):
        relation = _relation_row(row)
        relations[relation.id] = relation
        neighbour = _entity_row(row["neighbour"])
        if neighbour.id not in graph.entities and len(graph.entities) < max_nodes:
            graph.entities[neighbour.id] = neighbour
            found.append(neighbour.id)
    return found


async def _expand_mentions(tx: AsyncManagedTransaction, scope: Scope, graph: Subgraph, max_nodes: int) -> None:
    if not graph.entities:
        return
    per_entity = max(_MIN_MENTIONS_PER_ENTITY, max_nodes // len(graph.entities))
    params = Params("s")
    query = Q.EXPAND_MENTIONS.render(scope=memory_scope(scope, params))
    values = {**params.values, "entity_ids": sorted(graph.entities), "per_entity": per_entity}
    rows = await _rows(await tx.run(_q(query), values))
    graph.degrees = {int(row["id"]): int(row["degree"]) for row in rows}
    # Rarely mentioned entities first: they say the most about which memories matter.
    for row in sorted(rows, key=lambda r: (int(r["degree"]), int(r["id"]))):
        graph.mentions.extend((int(mid), int(row["id"])) for mid in row["memory_ids"])
        if len(graph.mentions) >= max_nodes:
            break


# -- rows ----------------------------------------------------------------------------------------


def _supports_search_clause(version: str) -> bool:
    """SEARCH with in-index filtering is GA from 2026.01 (calendar versions)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (2026, 1)


def _cosine(score: float) -> float:
    """Neo4j reports cosine rescaled to [0, 1] as (1 + cos) / 2; give back the cosine."""
    return max(-1.0, min(1.0, 2.0 * float(score) - 1.0))


def _hits(pairs: Iterable[Sequence[Any]]) -> list[Hit]:
    return [Hit(int(i), _cosine(s)) for i, s in pairs]


def _memory_row(m: Mapping[str, Any]) -> MemoryRow:
    return MemoryRow(
        id=int(m["id"]), memory=m["memory"], hash=m["hash"],
        user_id=m["user_id"], agent_id=m["agent_id"], run_id=m["run_id"],
        metadata=json.loads(m["metadata"]) if m["metadata"] else {},
        created_at=m["created_at"], updated_at=m["updated_at"],
    )


def _history_row(ev: Mapping[str, Any]) -> HistoryRow:
    return HistoryRow(
        id=int(ev["id"]), memory_id=int(ev["memory_id"]), event=ev["event"], old_memory=ev["old_memory"],
        new_memory=ev["new_memory"], created_at=ev["created_at"], actor=ev["actor"],
    )


def _entity_row(e: Mapping[str, Any]) -> EntityRow:
    return EntityRow(
        id=int(e["id"]), name=e["name"], name_key=e["name_key"], type=e["type"] or "", mentions=int(e.get("mentions") or 0)
    )


def _relation_row(row: Mapping[str, Any]) -> RelationRow:
    return RelationRow(
        id=int(row["id"]), source=row["source"], relationship=row["relationship"], destination=row["destination"],
        fact=row["fact"] or "", memory_id=None if row["memory_id"] is None else int(row["memory_id"]),
        valid_at=row["valid_at"], invalid_at=row["invalid_at"],
        source_id=int(row["source_id"]), destination_id=int(row["destination_id"]),
    )


def _merge_stats(memories: list[dict[str, Any]], entities: list[dict[str, Any]]) -> list[TenantStats]:
    table: dict[tuple[str | None, str | None], list[int]] = {}
    for row in memories:
        table.setdefault((row["user_id"], row["agent_id"]), [0, 0, 0])[0] += int(row["memories"])
    for row in entities:
        counts = table.setdefault((row["user_id"], row["agent_id"]), [0, 0, 0])
        counts[1] += int(row["entities"])
        counts[2] += int(row["relations"])
    # Same order as the embedded store: by the (user_id, agent_id) pair's text.
    return [TenantStats(u, a, *counts) for (u, a), counts in sorted(table.items(), key=lambda t: str(t[0]))]
