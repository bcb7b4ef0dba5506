"""In-memory float32 matrices, one per memory tenant, for exact cosine search.

SQLite stays the source of truth; these matrices are a cache loaded lazily per tenant and
kept in step with each committed write. Rows are unit vectors, so cosine is a dot product.
Writes happen on the SQLite thread while searches rank on another (numpy releases the GIL,
so ranking overlaps the next SQLite job): each matrix has a lock, held briefly by both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from powermem.stores.base import Hit

Vector = npt.NDArray[np.float32]


class TenantMatrix:
    """A growable matrix of vectors with their ids; deletes swap the last row in."""

    def __init__(self, dims: int, ids: list[int], rows: list[bytes]) -> None:
        capacity = max(64, len(ids) * 2)
        self._matrix = np.zeros((capacity, dims), dtype=np.float32)
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._scores = np.zeros(capacity, dtype=np.float32)
        self._row_of: dict[int, int] = {}
        self._count = 0
        self._lock = threading.Lock()
        for memory_id, blob in zip(ids, rows, strict=False):
            self._put(memory_id, np.frombuffer(blob, dtype=np.float32))

    def __len__(self) -> int:
        return self._count

    def put(self, memory_id: int, vector: Vector) -> None:
        with self._lock:
            self._put(memory_id, vector)

    def _put(self, memory_id: int, vector: Vector) -> None:
        row = self._row_of.get(memory_id)
        if row is None:
            if self._count == len(self._ids):
                self._grow()
            row = self._count
            self._count += 1
            self._row_of[memory_id] = row
            self._ids[row] = memory_id
        self._matrix[row] = vector

    def remove(self, memory_id: int) -> None:
        with self._lock:
            self._remove(memory_id)

    def _remove(self, memory_id: int) -> None:
        row = self._row_of.pop(memory_id, None)
        if row is None:
            return
        last = self._count - 1
        if row != last:
            moved = int(self._ids[last])
            self._matrix[row] = self._matrix[last]
            self._ids[row] = moved
            self._row_of[moved] = row
        self._count = last

    def top_k(
        self, query: Vector, k: int, allowed: npt.NDArray[np.int64] | None
    ) -> list[tuple[int, float]]:
        with self._lock:
            # Into a kept buffer: a fresh 100,000-float result is a fresh mapping to fault in.
            ids = self._ids[: self._count]
            scores = np.dot(
                self._matrix[: self._count], query.astype(np.float32, copy=False), out=self._scores[: self._count]
            )
            if allowed is not None:
                # Every row scored, then the allowed kept: gathering the allowed rows of the matrix
                # first would copy most of it when a filter (an as_of) allows most memories.
                keep = np.isin(ids, allowed)
                ids, scores = ids[keep], scores[keep]
            if len(ids) > k:
                best = np.argpartition(scores, len(ids) - k)[len(ids) - k :]
                ids, scores = ids[best], scores[best]
            order = np.argsort(-scores, kind="stable")
            return [(int(ids[i]), float(scores[i])) for i in order]

    def _grow(self) -> None:
        self._matrix = np.concatenate([self._matrix, np.zeros_like(self._matrix)])
        self._ids = np.concatenate([self._ids, np.zeros_like(self._ids)])
        self._scores = np.zeros(len(self._ids), dtype=np.float32)


class VectorCache:
    """Tenant key -> TenantMatrix, loaded on first use."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._tenants: dict[str, TenantMatrix] = {}

    def clear(self) -> None:
        self._tenants.clear()

    def loaded(self, tenant: str) -> TenantMatrix | None:
        return self._tenants.get(tenant)

    def load(self, tenant: str, rows: Iterable[tuple[int, bytes]]) -> TenantMatrix:
        pairs = list(rows)
        matrix = TenantMatrix(self.dims, [p[0] for p in pairs], [p[1] for p in pairs])
        self._tenants[tenant] = matrix
        return matrix

    def put(self, tenant: str, memory_id: int, vector: Vector) -> None:
        matrix = self._tenants.get(tenant)
        if matrix is not None:  # unloaded tenants pick the row up when they load
            matrix.put(memory_id, vector)

    def remove(self, tenant: str, memory_id: int) -> None:
        matrix = self._tenants.get(tenant)
        if matrix is not None:
            matrix.remove(memory_id)


def rank(matrices: Sequence[TenantMatrix], query: Vector, k: int, allowed: npt.NDArray[np.int64] | None) -> list[Hit]:
    """The k best hits (cosine) over several tenants' matrices, best first, ties by larger id."""
    hits: list[tuple[int, float]] = []
    for matrix in matrices:
        hits.extend(matrix.top_k(query, k, allowed))
    hits.sort(key=lambda h: (-h[1], -h[0]))
    return [Hit(i, s) for i, s in hits[:k]]
