"""The Neo4j implementation of the GraphStore protocol (see ``powermem.stores.base``).

A read is an auto-commit query (one round trip), retried here on retryable errors; a read
that needs one transaction (a page and its count) and every write is a managed transaction,
which the driver retries; ``apply`` writes a whole plan in one transaction with ``UNWIND`` batches.
Every statement lives in ``cypher/`` and every value is a parameter; filters and scopes are
compiled to fragments by ``filters.py``. Beside it: ``writes.py`` (a write plan as
parameters, and the apply transaction), ``expansion.py`` (graph expansion), ``fulltext.py``
(full-text queries and plans), ``vector_search.py`` (exact scan, post-filtered index query or
SEARCH), ``scope_plans.py`` (what searches remember per scope), ``rows.py``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from neo4j import READ_ACCESS, AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, Query
from neo4j import exceptions as neo

from powermem.config import StoreConfig
from powermem.errors import ConfigError, InvalidInputError
from powermem.filters import INT64, FilterNode, now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.redact import redact_url, reveal
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
from powermem.stores.neo4j import backup, reembed
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.errors import translate_errors
from powermem.stores.neo4j.expansion import expand_work, narrowed_run
from powermem.stores.neo4j.filters import (
    Params,
    compile_filter,
    memory_scope,
    stats_entity_scope,
    where,
)
from powermem.stores.neo4j.fulltext import fulltext_hits
from powermem.stores.neo4j.migration import migrate
from powermem.stores.neo4j.queries import Statement, as_query, fetch_rows
from powermem.stores.neo4j.retries import (
    FIRST_LOCK_RETRY_DELAY,
    FIRST_RETRY_DELAY,
    LOCK_RETRY_SECONDS,
    MAX_RETRY_SECONDS,
    lock_conflict,
    retryable_read,
    retrying,
)
from powermem.stores.neo4j.rows import cosine, entity_row, history_row, memory_row, merge_stats, relation_row
from powermem.stores.neo4j.scope_plans import FIRST_FETCH_FACTOR, MAX_FETCH, MIN_FETCH, ScopePlans
from powermem.stores.neo4j.vector_search import memory_vector_hits
from powermem.stores.neo4j.writes import apply_work, embedding_values, plan_parameters
from powermem.stores.reembedding import ReembedState, check_dims

__all__ = ["Neo4jStore"]

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
_log = logging.getLogger(__name__)
_DELETE_BATCH = 5000  # memories deleted per transaction by delete_scope
_VECTOR_INDEX_NAMES = {"Memory": "memory_embedding", "Entity": "entity_embedding"}
_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})


class Neo4jStore:
    """GraphStore on a Neo4j server, cluster or Aura (``bolt://`` and ``neo4j://`` URIs)."""

    def __init__(self, config: StoreConfig, worker_id: int | None = None) -> None:
        self._config = config
        self._database = config.database or None
        self._target = f"{redact_url(config.uri)}, database {config.database or '<default>'}, user {config.username}"
        self._driver: AsyncDriver | None = None
        self._dims: int | None = None
        self._reembed_target: dict[str, Any] | None = None  # a re-embed in progress, seen at initialize
        self._search_clause = False  # Cypher 25 SEARCH with in-index filtering is usable
        self._entity_search_clause = False  # the same, for entities of a graph tenant
        self._version = ""
        self._ids = SnowflakeGenerator(worker_id)
        self._plans = ScopePlans()
        self._text_plans = ScopePlans()

    @property
    def server_version(self) -> str:
        return self._version

    @property
    def uses_search_clause(self) -> bool:
        return self._search_clause

    @property
    def uses_entity_search_clause(self) -> bool:
        return self._entity_search_clause

    # -- lifecycle -------------------------------------------------------------------------

    def _require_driver(self) -> AsyncDriver:
        if self._driver is None:
            scheme = self._config.uri.partition("://")[0].lower()
            if scheme not in _SCHEMES:
                raise ConfigError(
                    f"Neo4j URI {redact_url(self._config.uri)!r} must start with one of {', '.join(sorted(_SCHEMES))}"
                )
            timeout = self._config.connection_timeout
            try:
                self._driver = AsyncGraphDatabase.driver(
                    self._config.uri,
                    auth=(self._config.username, reveal(self._config.password) or ""),
                    connection_timeout=timeout,
                    # Waiting for a free pooled connection is queueing, not failure detection
                    # (connection_timeout bounds connecting): bursts of writes must not fail.
                    connection_acquisition_timeout=timeout + 50.0,
                    max_transaction_retry_time=MAX_RETRY_SECONDS,
                    initial_retry_delay=FIRST_RETRY_DELAY,  # contention clears in milliseconds, not seconds
                    user_agent="powermem",
                    # Planner hints (e.g. "property key does not exist" on an empty store) are
                    # not actionable for users; they would only fill the log.
                    notifications_min_severity="OFF",
                )
            except (ValueError, neo.ConfigurationError) as exc:
                raise ConfigError(f"invalid Neo4j connection settings for {redact_url(self._config.uri)!r}: {exc}") from exc
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
        async with translate_errors(self._target, "read"):
            self._reembed_target, phase, _ = await reembed.state(self._read)
        # Mid-switch the old indexes may be gone: creating them again would undo the switch.
        reembed.refuse_open(self._where, phase)
        async with translate_errors(self._target, "schema creation"):
            for statement in Q.SCHEMA:
                await self._schema(statement.query, {})
            await self._vector_indexes(dims)
            await self._write(Q.AWAIT_INDEXES.query, {"seconds": 120})
            await self._write(Q.RECORD_DIMS.query, {"dims": dims})
        async with translate_errors(self._target, "migration"):
            await migrate(self._read, self._in_write, self._ids, self._target)
        self._dims = dims

    @property
    def _where(self) -> str:
        return f"the Neo4j store at {redact_url(self._config.uri)}"

    async def _server_version(self) -> str:
        rows = await self._read(Q.SERVER_COMPONENTS.query, {})
        versions = [str(r["version"]) for r in rows if r["name"] == "Neo4j Kernel"] or [str(r["version"]) for r in rows]
        return versions[0] if versions else ""

    async def _vector_indexes(self, dims: int) -> None:
        statements = (Q.SCHEMA_MEMORY_VECTOR, Q.SCHEMA_ENTITY_VECTOR)
        if _supports_search_clause(self._version):
            statements = (Q.SCHEMA_MEMORY_VECTOR_FILTERED, Q.SCHEMA_ENTITY_VECTOR_FILTERED)
            await self._drop_stale_entity_index(dims)
        for statement in statements:
            await self._schema(statement.query, {"dims": dims})
        filters: dict[str, list[str]] = {}
        indexes = await self._read(Q.VECTOR_INDEX_DIMS.query, {})
        _warn_quantized([row["name"] for row in indexes if row["quantized"]])
        for row in indexes:
            expected = _VECTOR_INDEX_NAMES[row["label"]]
            if row["name"] != expected:
                raise ConfigError(
                    f"the Neo4j store at {self._config.uri} has a vector index {row['name']!r} on "
                    f":{row['label']}(embedding), so powermem cannot create {expected!r}; drop it "
                    "or use a fresh database"
                )
            existing = row["dims"]
            if existing is not None:
                check_dims(f"{self._where} (index {row['name']})", int(existing), dims, self._reembed_target)
            filters[row["label"]] = list(row["filters"] or [])
        # An index created by an older server has no filter properties: keep post-filtering.
        search = _supports_search_clause(self._version)
        self._search_clause = search and bool(filters.get("Memory"))
        self._entity_search_clause = search and filters.get("Entity") == ["tenant"]

    async def _drop_stale_entity_index(self, dims: int) -> None:
        """Drop an entity vector index filtered on (user_id, agent_id) by an earlier version:
        entities are looked up by graph tenant, so it is recreated filtered on e.tenant."""
        for row in await self._read(Q.VECTOR_INDEX_DIMS.query, {}):
            stale = row["label"] == "Entity" and row["name"] == _VECTOR_INDEX_NAMES["Entity"]
            stale = stale and bool(row["filters"]) and list(row["filters"]) != ["tenant"]
            # With another dimension the check below raises, and the index must stay as it is.
            if stale and (row["dims"] is None or int(row["dims"]) == dims):
                _log.info("recreating the entity vector index filtered on the graph tenant")
                await self._write(Q.DROP_ENTITY_VECTOR_INDEX.query, {})

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
        self._plans.clear()
        self._text_plans.clear()
        async with translate_errors(self._target, "reset"):
            await self._auto_commit_write(Q.RESET.query, {})

    # -- transactions ----------------------------------------------------------------------

    async def _read(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One statement as an auto-commit read, retried as the driver retries managed ones.

        An auto-commit query is one round trip; a managed transaction adds BEGIN and COMMIT,
        a second round trip. A search runs ten or so reads, so that is ~4 ms of its 25 ms
        budget. The driver never retries auto-commit queries (it cannot know they are safe);
        a read is, so this does, on the errors the driver itself calls retryable.
        """

        async def attempt() -> list[dict[str, Any]]:
            async with self._require_driver().session(database=self._database, default_access_mode=READ_ACCESS) as session:
                return await fetch_rows(await session.run(as_query(query), dict(params)))

        return await retrying(attempt, retryable_read, MAX_RETRY_SECONDS, FIRST_RETRY_DELAY, log=True)

    async def _write(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            return await fetch_rows(await tx.run(as_query(query), dict(params)))

        return await self._in_write(work)

    async def _auto_commit_write(self, query: str, params: Mapping[str, Any]) -> None:
        """A write that commits its own batches (CALL ... IN TRANSACTIONS runs only in an
        auto-commit transaction, hence session.run); retried on lock conflicts, so it must
        be one that finishes what an interrupted run left."""

        async def attempt() -> None:
            async with self._require_driver().session(database=self._database) as session:
                result = await session.run(Query(as_query(query)), dict(params))
                await result.consume()

        await retrying(attempt, lock_conflict, LOCK_RETRY_SECONDS, FIRST_LOCK_RETRY_DELAY, log=False)

    async def _in_read(self, work: Callable[[AsyncManagedTransaction], Awaitable[T]]) -> T:
        async with self._require_driver().session(database=self._database) as session:
            return await session.execute_read(work)

    async def _in_write(self, work: Callable[[AsyncManagedTransaction], Awaitable[T]]) -> T:
        """A managed write; lock conflicts get more retries than the driver's short budget.

        The driver's retry time is kept short so that a dead server fails fast; deadlocks under
        heavy write contention are a different matter: they always clear, so keep trying.
        """

        async def attempt() -> T:
            async with self._require_driver().session(database=self._database) as session:
                return await session.execute_write(work)

        return await retrying(attempt, lock_conflict, LOCK_RETRY_SECONDS, FIRST_LOCK_RETRY_DELAY, log=False)

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
            await reembed.check_writable(tx, self._where, self._dims)
            return await apply_work(tx, params, self._ids)

        async with translate_errors(self._target, "write"):
            return await self._in_write(work)

    async def delete_scope(self, scope: Scope) -> int:
        """Delete the scope's memories in batches, each one transaction (their provenance,
        mentions, unsupported relations, orphan entities and history), then the rest of its
        history. Each step is atomic and a retry finishes what was left, so the end state is
        the same however often it runs."""
        # An empty scope deletes every memory: the facade only passes one for delete_all(all=True).
        self._plans.clear()
        self._text_plans.clear()
        params = Params("s")
        query = Q.DELETE_SCOPE_IDS.render(scope=memory_scope(scope, params))

        async def batch(tx: AsyncManagedTransaction) -> int:
            found = await fetch_rows(await tx.run(as_query(query), {**params.values, "batch": _DELETE_BATCH}))
            ids = [int(row["id"]) for row in found]
            if not ids:
                return 0
            plan = WritePlan(scope=scope, deletes=ids, at=now_timestamp())
            result = await apply_work(tx, plan_parameters(plan, self._ids, self._dims), self._ids, events=False)
            await tx.run(as_query(Q.DELETE_MEMORY_EVENTS.query), {"ids": ids})
            return len(result.deleted)

        total = 0
        fields = {"user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id}
        async with translate_errors(self._target, "delete"):
            while deleted := await self._in_write(batch):
                total += deleted
            await self._auto_commit_write(Q.DELETE_SCOPE_EVENTS.query, fields)
        return total

    # -- reads -----------------------------------------------------------------------------

    async def get(self, memory_id: int, scope: Scope) -> MemoryRow | None:
        params = Params("s")
        query = Q.GET_MEMORY.render(scope=memory_scope(scope, params))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "id": int(memory_id)})
        return memory_row(rows[0]["m"]) if rows else None

    async def get_many(self, ids: Sequence[int], scope: Scope, filters: FilterNode | None) -> list[MemoryRow]:
        rows = await self._read_by_ids(Q.GET_MEMORIES, ids, scope, filters)
        return [memory_row(row["m"]) for row in rows]

    async def _read_by_ids(
        self, statement: Statement, ids: Sequence[int], scope: Scope, filters: FilterNode | None
    ) -> list[dict[str, Any]]:
        """``statement`` over the distinct ``ids`` in scope and filters (nothing read for none)."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        if not unique:
            return []
        params = Params("f")
        query = statement.render(where=where(memory_scope(scope, params), compile_filter(filters, params)))
        async with translate_errors(self._target, "read"):
            return await self._read(query, {**params.values, "ids": unique})

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
        # SKIP + LIMIT must fit in 64 bits: offset 2**63-1 is valid input, and no store holds 2**63 rows.
        limit = min(limit, INT64[1] - offset)
        page_params = {**params.values, "sort_by": sort_by, "limit": limit, "offset": offset}

        async def work(tx: AsyncManagedTransaction) -> tuple[list[MemoryRow], int]:
            total = (await fetch_rows(await tx.run(as_query(count), params.values)))[0]["total"]
            rows = await fetch_rows(await tx.run(as_query(page), page_params)) if limit else []
            return [memory_row(row["m"]) for row in rows], int(total)

        async with translate_errors(self._target, "read"):
            return await self._in_read(work)

    async def history(self, memory_id: int, scope: Scope) -> list[HistoryRow]:
        params = {"id": int(memory_id), "user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id}
        async with translate_errors(self._target, "read"):
            rows = await self._read(Q.HISTORY.query, params)
        return [history_row(row["ev"]) for row in rows]

    # -- search ----------------------------------------------------------------------------

    async def vector_search(self, scope: Scope, filters: FilterNode | None, vector: Vector, k: int) -> list[Hit]:
        if k <= 0:
            return []
        async with translate_errors(self._target, "vector search"):
            return await memory_vector_hits(
                self._read, self._plans, scope, filters, self._vector_param(vector), k,
                exact_scan_limit=self._config.exact_scan_limit, search_clause=self._search_clause,
            )

    async def fulltext_search(
        self, scope: Scope, filters: FilterNode | None, terms: Sequence[str], k: int
    ) -> list[Hit]:
        async with translate_errors(self._target, "full-text search"):
            return await fulltext_hits(self._read, self._text_plans, scope, filters, terms, k)

    async def entities_by_key(self, scope: Scope, name_keys: Sequence[str]) -> list[EntityRow]:
        keys = list(dict.fromkeys(name_keys))
        if not keys:
            return []
        async with translate_errors(self._target, "read"):
            rows = await self._read(Q.ENTITIES_BY_KEY.query, {"tenant": scope.graph_tenant, "keys": keys})
        return [entity_row(row["e"]) for row in rows]

    async def similar_entities(
        self, scope: Scope, vector: Vector, k: int, min_score: float
    ) -> list[tuple[EntityRow, float]]:
        if k <= 0:
            return []
        values = self._vector_param(vector)
        params = {"tenant": scope.graph_tenant, "vector": values, "k": k}
        zero = not any(values)
        limit = INT64[1] - 1 if zero else self._config.exact_scan_limit
        async with translate_errors(self._target, "entity search"):
            exact = await self._read(Q.ENTITY_VECTOR_EXACT.query, {**params, "cap": limit + 1, "zero": zero})
            hits = exact[0]["hits"]
            if exact[0]["candidates"] > limit:
                hits = await self._entity_ann(params, min_score)
        # Best first, so filtering the top k on min_score equals the top k of those above it.
        scored = [(entity_row(e), cosine(s)) for e, s in hits]
        return [(row, score) for row, score in scored if score >= min_score][:k]

    async def _entity_ann(self, params: dict[str, Any], min_score: float) -> list[Any]:
        k = int(params["k"])
        if self._entity_search_clause:
            # Filtered inside the index: the k best of the graph tenant, unless it has fewer.
            rows = await self._read(Q.ENTITY_SEARCH_FILTERED.query, params)
            if len(rows) >= k:
                return [row["hit"] for row in rows]
        fetch = max(k * FIRST_FETCH_FACTOR, MIN_FETCH)
        while True:
            row = (await self._read(Q.ENTITY_VECTOR_ANN.query, {**params, "fetch": fetch}))[0]
            exhausted = row["fetched"] < fetch or fetch >= MAX_FETCH
            # Scores come best first: once the worst one fetched is below min_score, more cannot help.
            below = row["lowest"] is not None and cosine(row["lowest"]) < min_score
            if len(row["hits"]) >= k or exhausted or below:
                return list(row["hits"])
            fetch *= 2

    def _vector_param(self, vector: Vector) -> list[float]:
        return embedding_values(vector, self._dims, "query")

    # -- graph -----------------------------------------------------------------------------

    async def expand(
        self, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int, max_nodes: int,
        as_of: str | None = None,
    ) -> Subgraph:
        entities, memories = [int(i) for i in entity_ids], [int(i) for i in memory_ids]

        async with translate_errors(self._target, "graph expansion"):
            return await expand_work(self._read, scope, entities, memories, hops, max_nodes, as_of)

    async def adjacent(self, scope: Scope, memory_ids: Sequence[int], window: int) -> list[tuple[int, int]]:
        ids = list(dict.fromkeys(int(i) for i in memory_ids))
        if window < 1 or not ids:
            return []
        params = Params("s")
        query = Q.ADJACENT.render(scope=memory_scope(scope, params))
        async with translate_errors(self._target, "read"):
            rows = await self._read(query, {**params.values, "ids": ids, "window": window})
        return [(int(row["id"]), int(n)) for row in rows for n in row["neighbours"]]

    async def relations(self, scope: Scope, include_invalid: bool, limit: int,
                        as_of: str | None = None) -> list[RelationRow]:
        if limit <= 0:
            return []
        params = {
            "tenant": scope.graph_tenant, "run_id": narrowed_run(scope), "include_invalid": include_invalid,
            "limit": limit, "as_of": as_of,
        }
        async with translate_errors(self._target, "read"):
            rows = await self._read(Q.RELATIONS.query, params)
        return [relation_row(row) for row in rows]

    async def relations_from(self, scope: Scope, lanes: Mapping[int, frozenset[str] | None],
                             limit: int) -> list[RelationRow]:
        if limit <= 0 or not lanes:
            return []
        params = {
            "lanes": [{"source": int(source), "families": None if families is None else sorted(families)}
                      for source, families in sorted(lanes.items())],
            "run_id": narrowed_run(scope), "limit": limit,
        }
        async with translate_errors(self._target, "read"):
            rows = await self._read(Q.RELATIONS_FROM.query, params)
        return [relation_row(row) for row in rows]

    async def stats(self, scope: Scope) -> list[TenantStats]:
        mparams, eparams = Params("s"), Params("s")
        mquery = Q.STATS_MEMORIES.render(scope=memory_scope(scope, mparams))
        equery = Q.STATS_ENTITIES.render(scope=stats_entity_scope(scope, eparams))
        async with translate_errors(self._target, "read"):
            memories = await self._read(mquery, mparams.values)
            entities = await self._read(equery, eparams.values)
        return merge_stats(memories, entities)

    # -- backups ---------------------------------------------------------------------------

    async def dump_rows(self, section: Section, after: int | None, limit: int) -> tuple[list[Row], int | None]:
        async with translate_errors(self._target, "read"):
            return await backup.dump(self._read, section, after, limit)

    async def load_rows(self, section: Section, rows: Sequence[Row]) -> None:
        params = backup.load_params(section, rows, self._dims)
        if not params:
            return
        self._plans.clear()
        self._text_plans.clear()

        async def work(tx: AsyncManagedTransaction) -> None:
            await reembed.check_writable(tx, self._where, self._dims)
            await backup.load_work(tx, section, params)

        async with translate_errors(self._target, "write"):
            await self._in_write(work)

    async def content_counts(self) -> dict[str, int]:
        async with translate_errors(self._target, "read"):
            row = (await self._read(Q.RESTORE_COUNTS.query, {}))[0]
        return {key: int(row[key]) for key in ("memories", "entities", "relations", "events")}

    # -- re-embedding (powermem.reembed drives these; see stores/neo4j/reembed.py) ------------

    async def reembed_open(self) -> ReembedState:
        """Connects; a store not mid-switch is initialized with its own dimension, so that the
        old embedder's searches go on meanwhile."""
        async with translate_errors(self._target, "connect"):
            await self._require_driver().verify_connectivity()
            self._version = await self._server_version()
            target, phase, dims = await reembed.state(self._read)
            if dims is None:
                indexed = [r["dims"] for r in await self._read(Q.VECTOR_INDEX_DIMS.query, {}) if r["label"] == "Memory"]
                dims = int(indexed[0]) if indexed and indexed[0] is not None else None
        if dims is not None and phase != "switching":
            await self.initialize(dims)
        self._dims = dims
        return reembed.reembed_state(dims, target, phase)

    async def reembed_begin(self, target: dict[str, Any]) -> None:
        async with translate_errors(self._target, "write"):
            await self._write(Q.REEMBED_BEGIN.query, {"target": json.dumps(target, sort_keys=True)})

    async def reembed_pending(self, kind: str, after: int, limit: int) -> list[tuple[int, str]]:
        async with translate_errors(self._target, "read"):
            rows = await self._read(Q.REEMBED_PENDING[kind].query, {"after": after, "limit": limit})
        return [(int(row["id"]), str(row["text"])) for row in rows]

    async def reembed_write(self, kind: str, rows: Sequence[tuple[int, str, Vector]]) -> None:
        if not rows:
            return
        params = reembed.vector_rows(rows, len(rows[0][2]))
        async with translate_errors(self._target, "write"):
            await self._write(Q.REEMBED_WRITE[kind].query, {"rows": params})

    async def reembed_remaining(self, kind: str) -> tuple[int, int]:
        async with translate_errors(self._target, "read"):
            row = (await self._read(Q.REEMBED_REMAINING[kind].query, {}))[0]
        return int(row["total"]), int(row["left"])

    async def reembed_switch(self, dims: int, batch: int) -> None:
        self._plans.clear()
        self._text_plans.clear()
        async with translate_errors(self._target, "re-embed switch"):
            await self._write(Q.REEMBED_SET_PHASE.query, {"phase": "switching"})
            await self._write(Q.DROP_MEMORY_VECTOR_INDEX.query, {})
            await self._write(Q.DROP_ENTITY_VECTOR_INDEX.query, {})
            for kind in ("memories", "entities"):
                await self._auto_commit_write(Q.REEMBED_SWAP[kind].query, {"batch": batch})
            self._reembed_target = None
            await self._vector_indexes(dims)
            await self._write(Q.AWAIT_INDEXES.query, {"seconds": 600})
            await self._write(Q.REEMBED_FINISH.query, {"dims": dims})
        self._dims = dims

    async def reembed_abort(self, batch: int) -> None:
        async with translate_errors(self._target, "write"):
            _, phase, dims = await reembed.state(self._read)
            reembed.refuse_open(self._where, phase)  # half switched: only finishing can help
            for kind in ("memories", "entities"):
                await self._auto_commit_write(Q.REEMBED_CLEAR[kind].query, {"batch": batch})
            await self._write(Q.REEMBED_FINISH.query, {"dims": dims if dims is not None else self._dims})


def _warn_quantized(names: list[str]) -> None:
    """Indexes created before powermem turned Lucene's int8 quantization off keep it."""
    if names:
        _log.warning(
            "vector indexes %s quantize vectors to int8, which costs recall (docs/neo4j.md); drop them "
            "(DROP INDEX name) and the next start recreates them without quantization", ", ".join(names))


def _supports_search_clause(version: str) -> bool:
    """SEARCH with in-index filtering is GA from 2026.01 (calendar versions)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (2026, 1)


