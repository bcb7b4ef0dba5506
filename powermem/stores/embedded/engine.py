"""The synchronous SQLite engine behind EmbeddedStore; runs on one dedicated thread."""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from powermem.errors import ConfigError
from powermem.filters import FilterNode
from powermem.ids import SnowflakeGenerator
from powermem.private_files import create_private_file
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
from powermem.stores.embedded import backup, fulltext, graph, reembed
from powermem.stores.embedded.checkpoint import FALLBACK_PRAGMA, BackgroundCheckpoint
from powermem.stores.embedded.filters import compile_filter, metadata_text
from powermem.stores.embedded.forget import forget_scope
from powermem.stores.embedded.mentions import MentionCounts
from powermem.stores.embedded.migrate import upgrade
from powermem.stores.embedded.schema import GRAPH_VERSION, MMAP_BYTES, PRAGMAS, create
from powermem.stores.embedded.scoping import scope_sql
from powermem.stores.embedded.tenants import TenantScopes
from powermem.stores.embedded.vectors import TenantMatrix, VectorCache
from powermem.stores.embedded.writes import PlanWriter
from powermem.stores.reembedding import ReembedState, check_dims, refuse_write
from powermem.when import CreatedWindow, created_until, created_window

_MEMORY_COLUMNS = "id, memory, hash, user_id, agent_id, run_id, metadata, created_at, updated_at"
_SORT_COLUMNS = {"created_at": "created_at", "updated_at": "updated_at", "id": "id", "memory": "memory"}


def _lower(value: str | int | float | bytes | None) -> str | int | float | bytes | None:
    # SQLite's own lower() folds ASCII only; Neo4j's toLower() folds all of Unicode.
    return value.lower() if isinstance(value, str) else value


def _row(raw: Sequence[Any]) -> MemoryRow:
    return MemoryRow(
        id=raw[0], memory=raw[1], hash=raw[2], user_id=raw[3], agent_id=raw[4], run_id=raw[5],
        metadata=json.loads(raw[6]), created_at=raw[7], updated_at=raw[8],
    )


_ENTITY_MATRICES = 256  # graph tenants whose entity embeddings stay in memory
_EntityMatrix = tuple[list[tuple[Any, ...]], npt.NDArray[np.float32]]


class SqliteEngine:
    def __init__(self, path: Path) -> None:
        create_private_file(path)  # 0600 in a 0700 folder when powermem creates them
        self._path = path
        self.migrated_from = 0  # the schema version initialize() found
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.create_function("pm_lower", 1, _lower, deterministic=True)
        self._conn.create_function("pm_metadata_text", 2, metadata_text, deterministic=True)
        for pragma in PRAGMAS:
            self._conn.execute(pragma)
        self._conn.execute(FALLBACK_PRAGMA)
        self._checkpoint = BackgroundCheckpoint(path)
        self._ids = SnowflakeGenerator()
        self._vectors = VectorCache(0)
        self._data_version = -1
        self._tenant_scopes: TenantScopes | None = None
        # Entity embeddings per graph tenant, for entity linking: reading them from SQLite on
        # every search costs ~1 ms per 1,000 entities. Dropped by any write that can add or
        # remove an entity.
        self._entity_matrices: OrderedDict[str, _EntityMatrix] = OrderedDict()
        self._mentions = MentionCounts()  # entity mention counts, the large ones reused a while
        self._common_terms = fulltext.CommonTerms()  # full-text terms found past the posting budget

    # lifecycle -------------------------------------------------------------------------------
    def initialize(self, dims: int) -> None:
        # One transaction: a store is migrated and given the current schema entirely or not at all.
        with self._transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            stored, target = reembed.state(self._conn)
            if stored is not None:
                check_dims(f"the store {self._path}", stored, dims, target)
            self.migrated_from = upgrade(self._conn, self._ids, self._path)
            create(self._conn)
            for key, value in (("dims", str(dims)), ("graph_version", GRAPH_VERSION)):
                self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        self._vectors = VectorCache(dims)

    def close(self) -> None:
        self._checkpoint.close()
        self._conn.close()

    def reset(self) -> None:
        with self._transaction():
            for table in ("memories", "memory_fts", "entities", "mentions", "relations", "relation_memories",
                          "history"):
                self._conn.execute(f"DELETE FROM {table}")
        self._vectors.clear()
        self._tenant_scopes = None
        self._entity_matrices.clear()
        self._common_terms.clear()
        self._mentions.clear()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn, self._checkpoint.wrote)

    def _sync_cache(self) -> None:
        # Another process committed since we last looked: our matrices may be stale.
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._vectors.clear()
            self._tenant_scopes = None
            self._entity_matrices.clear()
            self._data_version = version
            self._check_not_reembedded()

    def _check_not_reembedded(self) -> None:
        """A re-embed by another process switched the store to another dimension: our embedder's
        queries and writes no longer fit it."""
        stored, _ = reembed.state(self._conn)
        if stored is not None and stored != self._vectors.dims:
            raise ConfigError(
                f"the store {self._path} was re-embedded to {stored} dimensions after this process opened it "
                f"with a {self._vectors.dims}-dimensional embedder; reopen it with the new embedder"
            )

    def _check_writable(self) -> None:
        """In the write's transaction: no re-embed in progress, and still our dimension."""
        stored, target = reembed.state(self._conn)
        if target is not None:
            raise refuse_write(f"the store {self._path}", target)
        if stored is not None and stored != self._vectors.dims:
            self._check_not_reembedded()

    # writes ------------------------------------------------------------------------------------
    def apply(self, plan: WritePlan) -> ApplyResult:
        writer = PlanWriter(self._conn, self._ids, plan)
        with self._transaction():
            self._check_writable()
            result = writer.run()
        if plan.entities or plan.relations or plan.updates or plan.deletes:
            self._entity_matrices.clear()  # entities merged, or left orphaned and dropped
        self._sync_cache()
        if self._tenant_scopes is not None:
            for memory in plan.creates:
                self._tenant_scopes.add(memory.scope.memory_tenant, memory.scope)
        puts: dict[str, list[tuple[int, Vector, str]]] = {}
        for tenant, memory_id, vector, created_at in writer.vector_puts:
            puts.setdefault(tenant, []).append((memory_id, vector, created_at))
        for tenant, rows in puts.items():
            self._vectors.put_many(tenant, rows)
        for tenant, memory_id in writer.vector_removes:
            self._vectors.remove(tenant, memory_id)
        return result

    def delete_scope(self, scope: Scope) -> int:
        with self._transaction():
            deleted = forget_scope(self._conn, scope)
        self._entity_matrices.clear()
        self._sync_cache()
        for tenant, memory_id in deleted:
            self._vectors.remove(tenant, memory_id)
        return len(deleted)

    # reads -------------------------------------------------------------------------------------
    def get(self, memory_id: int, scope: Scope) -> MemoryRow | None:
        params: list[Any] = [memory_id]
        where = scope_sql(scope, params)
        raw = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id = ? AND {where}", params
        ).fetchone()
        return _row(raw) if raw else None

    def get_many(self, ids: Sequence[int], scope: Scope, filters: FilterNode | None) -> list[MemoryRow]:
        if not ids:
            return []
        params: list[Any] = [json.dumps(list(ids))]
        where = self._where(scope, filters, params)
        sql = f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id IN (SELECT value FROM json_each(?)) AND {where}"
        return [_row(r) for r in self._conn.execute(sql, params)]

    def list_memories(
        self, scope: Scope, filters: FilterNode | None, limit: int, offset: int, sort_by: SortField, descending: bool
    ) -> tuple[list[MemoryRow], int]:
        params: list[Any] = []
        where = self._where(scope, filters, params)
        total = self._conn.execute(f"SELECT count(*) FROM memories WHERE {where}", params).fetchone()[0]
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE {where} "
            f"ORDER BY {_SORT_COLUMNS[sort_by]} {direction}, id {direction} LIMIT ? OFFSET ?"
        )
        rows = [_row(r) for r in self._conn.execute(sql, [*params, limit, offset])]
        return rows, total

    def history(self, memory_id: int, scope: Scope) -> list[HistoryRow]:
        params: list[Any] = [memory_id]
        where = scope_sql(scope, params)
        sql = (
            "SELECT id, memory_id, event, old_memory, new_memory, created_at, actor FROM history "
            f"WHERE memory_id = ? AND {where} ORDER BY id"
        )
        return [HistoryRow(*r) for r in self._conn.execute(sql, params)]

    def _where(self, scope: Scope, filters: FilterNode | None, params: list[Any]) -> str:
        where = scope_sql(scope, params)
        if filters is not None:
            where = f"{where} AND {compile_filter(filters, params)}"
        return where

    # search ------------------------------------------------------------------------------------
    def vector_candidates(
        self, scope: Scope, filters: FilterNode | None
    ) -> tuple[list[TenantMatrix], npt.NDArray[np.int64] | None, CreatedWindow | None]:
        """The matrices of the scope's tenants (loaded if need be), and what keeps a search to
        ``filters``: the ids they allow, or the window of creation times that they are (the
        matrices hold each row's creation time, so an as_of needs no list of ids)."""
        self._sync_cache()
        matrices = []
        for tenant in self._tenants(scope):
            matrix = self._vectors.loaded(tenant)
            if matrix is None:
                matrix = self._load_tenant(tenant)
            matrices.append(matrix)
        allowed = None
        window = created_window(filters)
        if window is not None and not all(matrix.answers(window) for matrix in matrices):
            window = None  # a time that is not canonical text: SQLite compares it
        if filters is not None and window is None:
            params: list[Any] = []
            where = self._where(scope, filters, params)
            ids = [r[0] for r in self._conn.execute(f"SELECT id FROM memories WHERE {where}", params)]
            allowed = np.asarray(ids, dtype=np.int64)
        return matrices, allowed, window

    def _load_tenant(self, tenant: str) -> TenantMatrix:
        """The tenant's vectors read once into its matrix, through SQLite's page cache rather
        than the file mapping: mapped, every page of the table would stay resident beside the
        matrix (1 GB more at a million memories) for a read that never comes back to them."""
        count = self._conn.execute("SELECT count(*) FROM memories WHERE tenant = ?", (tenant,)).fetchone()[0]
        self._conn.execute("PRAGMA mmap_size=0")
        try:
            rows = self._conn.execute("SELECT id, embedding, created_at FROM memories WHERE tenant = ?", (tenant,))
            return self._vectors.load(tenant, rows, count)
        finally:
            self._conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")

    def _tenants(self, scope: Scope) -> list[str]:
        # The tenant list is read once and kept in step with writes: scanning for it per
        # search would cost more than the vector search itself on a large store.
        if self._tenant_scopes is None:
            rows = self._conn.execute("SELECT DISTINCT tenant, user_id, agent_id, run_id FROM memories")
            self._tenant_scopes = TenantScopes((r[0], Scope(r[1], r[2], r[3])) for r in rows)
        return self._tenant_scopes.within(scope)

    def fulltext_search(self, scope: Scope, filters: FilterNode | None, terms: Sequence[str], k: int) -> list[Hit]:
        params: list[Any] = []
        where = self._where(scope, filters, params)
        scope_params: list[Any] = []
        bounds = (scope_sql(scope, scope_params), scope_params) if filters is not None else None
        # memories_user_created finds a user's newest memory by an as_of in one seek.
        until = created_until(filters) if scope.user_id is not None else None
        return fulltext.search(self._conn, where, params, terms, k, self._common_terms, bounds, until)

    def entities_by_key(self, scope: Scope, name_keys: Sequence[str]) -> list[EntityRow]:
        if not name_keys:
            return []
        sql = (
            "SELECT id, name, name_key, type FROM entities "
            "WHERE tenant = ? AND name_key IN (SELECT value FROM json_each(?))"
        )
        rows = self._conn.execute(sql, (scope.graph_tenant, json.dumps(list(name_keys)))).fetchall()
        counts = self._mentions.of(self._conn, [r[0] for r in rows])
        return [EntityRow(i, name, key, kind, counts.get(i, 0)) for i, name, key, kind in rows]

    def similar_entities(self, scope: Scope, vector: Vector, k: int, min_score: float) -> list[tuple[EntityRow, float]]:
        rows, matrix = self._entity_matrix(scope)
        if not rows:
            return []
        scores = matrix @ vector
        best = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] >= min_score]
        counts = self._mentions.of(self._conn, [rows[i][0] for i in best])
        found = []
        for i in best:
            entity_id, name, name_key, kind = rows[i][:4]
            found.append((EntityRow(entity_id, name, name_key, kind, counts.get(entity_id, 0)), float(scores[i])))
        return found

    def _entity_matrix(self, scope: Scope) -> _EntityMatrix:
        self._sync_cache()
        key = scope.graph_tenant
        cached = self._entity_matrices.get(key)
        if cached is None:
            raw = self._conn.execute(
                "SELECT id, name, name_key, type, embedding FROM entities WHERE tenant = ?", (key,)
            ).fetchall()
            blob = b"".join(r[4] for r in raw)
            matrix = np.frombuffer(blob, dtype=np.float32).reshape(len(raw), -1) if raw else np.zeros((0, 0), np.float32)
            cached = ([tuple(r[:4]) for r in raw], matrix)
            self._entity_matrices[key] = cached
            if len(self._entity_matrices) > _ENTITY_MATRICES:
                self._entity_matrices.popitem(last=False)
        self._entity_matrices.move_to_end(key)
        return cached

    def expand(
        self, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int, max_nodes: int,
        as_of: str | None = None,
    ) -> Subgraph:
        return graph.expand(self._conn, scope, entity_ids, memory_ids, hops, max_nodes, as_of)

    def adjacent(self, scope: Scope, memory_ids: Sequence[int], window: int) -> list[tuple[int, int]]:
        pairs: list[tuple[int, int]] = []
        if window < 1:
            return pairs
        for memory_id in memory_ids:
            params: list[Any] = [memory_id]
            where = scope_sql(scope, params)
            found = self._conn.execute(f"SELECT tenant FROM memories WHERE id = ? AND {where}", params).fetchone()
            if found is None:
                continue
            for op, order in (("<", "DESC"), (">", "ASC")):
                sql = f"SELECT id FROM memories WHERE tenant = ? AND id {op} ? ORDER BY id {order} LIMIT ?"
                pairs.extend((memory_id, r[0]) for r in self._conn.execute(sql, (found[0], memory_id, window)))
        return pairs

    def relations(self, scope: Scope, include_invalid: bool, limit: int, as_of: str | None = None) -> list[RelationRow]:
        params: list[Any] = [scope.graph_tenant]
        valid = "" if include_invalid else f" AND {graph.valid_sql(as_of, params)}"
        narrowing = graph.run_narrowing_sql(scope, params)
        sql = f"{graph.RELATION_SELECT} WHERE r.tenant = ?{valid}{narrowing} ORDER BY r.id DESC LIMIT ?"
        return [graph.relation_row(r) for r in self._conn.execute(sql, [*params, limit])]

    def relations_from(self, scope: Scope, lanes: Mapping[int, frozenset[str] | None], limit: int) -> list[RelationRow]:
        return graph.relations_from(self._conn, scope, lanes, limit)

    def stats(self, scope: Scope) -> list[TenantStats]:
        return graph.stats(self._conn, scope)

    # backups -----------------------------------------------------------------------------------
    def dump_rows(self, section: Section, after: int | None, limit: int) -> tuple[list[Row], int | None]:
        return backup.dump(self._conn, section, after, limit)

    def load_rows(self, section: Section, rows: Sequence[Row]) -> None:
        with self._transaction():
            self._check_writable()
            backup.load(self._conn, section, rows, self._vectors.dims)
        # Loaded rows replace what the caches hold: drop them all (a restore is a bulk job).
        self._vectors.clear()
        self._tenant_scopes = None
        self._entity_matrices.clear()
        self._common_terms.clear()
        self._mentions.clear()

    def content_counts(self) -> dict[str, int]:
        return backup.counts(self._conn)


    # re-embedding (powermem reembed; see reembed.py) ---------------------------------------------
    def reembed_open(self) -> ReembedState:
        """The stored dimension and re-embed target; a store that has a dimension is initialized
        with it (migrated), so that the old embedder's searches go on meanwhile."""
        with self._transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            stored, target = reembed.state(self._conn)
        if stored is not None:
            self.initialize(stored)
        return ReembedState(stored, target)

    def reembed_begin(self, target: dict[str, Any]) -> None:
        with self._transaction():
            reembed.begin(self._conn, target)

    def reembed_pending(self, kind: str, after: int, limit: int) -> list[tuple[int, str]]:
        return reembed.pending(self._conn, kind, after, limit)

    def reembed_write(self, kind: str, rows: Sequence[tuple[int, str, Vector]]) -> None:
        blobs = [(row_id, np.asarray(vector, dtype=np.float32).tobytes()) for row_id, _, vector in rows]
        with self._transaction():
            reembed.write(self._conn, kind, blobs)

    def reembed_remaining(self, kind: str) -> tuple[int, int]:
        return reembed.remaining(self._conn, kind)

    def reembed_switch(self, dims: int) -> None:
        with self._transaction():
            reembed.switch(self._conn, dims)
        self._vectors = VectorCache(dims)
        self._tenant_scopes = None
        self._entity_matrices.clear()

    def reembed_abort(self) -> None:
        with self._transaction():
            reembed.abort(self._conn)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: one operation, one transaction."""

    def __init__(self, conn: sqlite3.Connection, committed: Callable[[], object]) -> None:
        self._conn = conn
        self._committed = committed

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self._conn.execute("ROLLBACK")
            return
        self._conn.execute("COMMIT")
        self._committed()
