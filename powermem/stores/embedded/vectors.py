"""In-memory float32 matrices, one per memory tenant, for exact cosine search.

SQLite stays the source of truth; these matrices are a cache loaded lazily per tenant and
kept in step with each committed write. Rows are unit vectors, so cosine is a dot product.
Writes happen on the SQLite thread while searches rank on another (numpy releases the GIL,
so ranking overlaps the next SQLite job): each matrix has a lock, held briefly by both.

A large tenant is ranked in two steps: a pre-scan over a 64-dimensional sketch of its vectors
(their projection on the top principal directions of a sample) picks a few thousand candidates,
and those are scored exactly. Reading a sixth of the bytes is what makes it faster, since the
exact scan is memory-bound; the sketch is derived from the matrix, so nothing about it needs to
survive a crash. Recall against the exact scan, measured 2026-12-03: 0.999 (top 10) / 0.998
(top 60) on store_bench's 100,000 texts with the hashing embedder; 0.996 / 0.994 (top 10 / 50)
with MiniLM on 30,000 LoCoMo-turn pairs with 4% of the rows as candidates. Sign-bit codes
(Hamming pre-scan) kept only 0.42-0.76 of the top 10 at 0.5-4% candidates, so no binary codes.
tests/unit/stores/embedded/test_vectors.py pins >= 0.99 on data with MiniLM's variance fall-off.

A very large tenant's pre-scan is itself two passes: the sketch's first half (its directions of
most variance) keeps a tenth of the rows, and the whole sketch ranks only those, which halves the
bytes a search streams. On scale_bench's tenant of 1,000,000 the 64-dimension top 4,000 then
hold the same share of the exact top 10 (0.993, measured 2026-12-04; a first pass of 24
dimensions: 0.988, of 16: 0.967).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor

import numpy as np
import numpy.typing as npt

from powermem.stores.base import Hit
from powermem.when import CreatedWindow, canonical_micros

Vector = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]
Micros = npt.NDArray[np.int64]

PRESCAN_MIN_ROWS = 20_000  # below this the exact scan costs about what the pre-scan does
SKETCH_DIMS = 64
FIRST_PASS_DIMS = 32  # the sketch's leading dimensions, held apart so a first pass reads only them
FIRST_PASS_SHARE = 0.1  # of the rows, kept by the first pass for the second
FIRST_PASS_KEEP = 100_000  # at least (more than the share below a million rows)
FIRST_PASS_MIN_ROWS = 4 * FIRST_PASS_KEEP  # below this the second pass gathers most of what it saves
PRESCAN_CANDIDATES = 4_000  # scored exactly; at least PRESCAN_PER_HIT per requested hit
PRESCAN_PER_HIT = 40
_FIT_SAMPLE = 4_096
_QUANTILE_SAMPLE = 8_192
_LOWER, _UPPER, _RERANK = 0, 1, 2  # gather buffers: each thread of a split scan has its own
_PROJECT_ROWS = 4_096  # rows projected onto the sketch at a time: no count x 64 temporary
# Past this the sketch no longer fits in cache and its scan is bound by memory bandwidth, which
# one thread does not use up: two halves on two threads read a million rows' sketch in 14 ms
# against 22 ms for one (measured 2026-12-03 on 2 cores).
SPLIT_MIN_ROWS = 200_000
# Creation times are held as microseconds of their canonical text (when.canonical_micros), in
# the same order as the text SQLite compares: comparing 100,000 integers costs 0.03 ms, their
# 32-byte texts 1.25 ms.
_COMPARE: dict[str, Callable[[Micros, np.int64], Mask]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


class _Sketch:
    """The matrix's rows projected on the top right-singular vectors of a sample of them, the
    first FIRST_PASS_DIMS coordinates (``head``) apart from the rest (``tail``)."""

    def __init__(self, matrix: Vector, count: int) -> None:
        sample = matrix[: count : max(1, count // _FIT_SAMPLE)]
        _, _, directions = np.linalg.svd(sample, full_matrices=False)
        self.basis: Vector = np.ascontiguousarray(directions[:SKETCH_DIMS].T)
        self.head: Vector = np.zeros((len(matrix), FIRST_PASS_DIMS), dtype=np.float32)
        self.tail: Vector = np.zeros((len(matrix), SKETCH_DIMS - FIRST_PASS_DIMS), dtype=np.float32)
        for start in range(0, count, _PROJECT_ROWS):
            block = slice(start, min(count, start + _PROJECT_ROWS))
            self.put(block, matrix[block])
        self.fitted_at = count

    @property
    def nbytes(self) -> int:
        return self.head.nbytes + self.tail.nbytes + self.basis.nbytes

    def put(self, rows: int | slice | npt.NDArray[np.intp], vectors: Vector) -> None:
        projected = vectors @ self.basis
        self.head[rows] = projected[..., :FIRST_PASS_DIMS]
        self.tail[rows] = projected[..., FIRST_PASS_DIMS:]

    def move(self, target: int, source: int) -> None:
        self.head[target] = self.head[source]
        self.tail[target] = self.tail[source]

    def grow(self, extra: int) -> None:
        _grown_in_place(self.head, extra)
        _grown_in_place(self.tail, extra)


class TenantMatrix:
    """A growable matrix of vectors with their ids and creation times; deletes swap the last
    row in. The creation times let a search keep to a window of them (an as_of) without asking
    SQLite which of the tenant's memories are in it."""

    def __init__(self, dims: int, rows: Iterable[tuple[int, bytes, str]] = (), expected: int = 0) -> None:
        """Filled from ``rows`` (id, float32 blob, created_at) as they stream in; ``expected``
        of them sizes it."""
        # An eighth of headroom, not double: doubling leaves 1.5 GB unused at a million rows of 384.
        capacity = max(64, expected + expected // 8)
        self._matrix = np.zeros((capacity, dims), dtype=np.float32)
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._created: Micros = np.zeros(capacity, dtype=np.int64)
        self._odd_times: set[int] = set()  # ids whose creation time is not canonical text
        self._scores = np.zeros(capacity, dtype=np.float32)
        self._row_of: dict[int, int] = {}
        self._count = 0
        self._sketch: _Sketch | None = None
        # Kept buffers for the pre-scan's gathers (see _gathered): the lower half's and the
        # helper's second pass, and the exact re-rank.
        self._gathers: list[Vector | None] = [None, None, None]
        self._lock = threading.Lock()
        for memory_id, blob, created_at in rows:
            self._load_row(memory_id, np.frombuffer(blob, dtype=np.float32), created_at)

    def __len__(self) -> int:
        return self._count

    def put(self, memory_id: int, vector: Vector, created_at: str) -> None:
        self.put_many([(memory_id, vector, created_at)])

    def put_many(self, rows: Sequence[tuple[int, Vector, str]]) -> None:
        """:meth:`put` of each (id, vector, created_at) in order, the vectors written in one go:
        projecting them onto the sketch one by one cost 4.6 us a row of a large tenant."""
        latest = {memory_id: (vector, created_at) for memory_id, vector, created_at in rows}  # a later put wins
        if not latest:
            return
        micros = {created_at: canonical_micros(created_at) for _, created_at in latest.values()}
        vectors = np.stack([vector for vector, _ in latest.values()])
        with self._lock:
            at = np.fromiter((self._place(memory_id, micros[created_at]) for memory_id, (_, created_at)
                              in latest.items()), dtype=np.intp, count=len(latest))
            self._matrix[at] = vectors
            if self._sketch is not None:
                self._sketch.put(at, vectors)

    def _load_row(self, memory_id: int, vector: Vector, created_at: str) -> None:
        """A stored row, while the matrix fills (before any sketch is fitted)."""
        self._matrix[self._place(memory_id, canonical_micros(created_at))] = vector

    def _place(self, memory_id: int, micros: int | None) -> int:
        """The row of ``memory_id``, appended if it is new, with its creation time recorded."""
        row = self._row_of.get(memory_id)
        if row is None:
            if self._count == len(self._ids):
                self._grow()
            row = self._count
            self._count += 1
            self._row_of[memory_id] = row
            self._ids[row] = memory_id
        if micros is None:
            self._odd_times.add(memory_id)
        else:
            self._odd_times.discard(memory_id)
        self._created[row] = micros or 0
        return row

    def remove(self, memory_id: int) -> None:
        with self._lock:
            self._remove(memory_id)

    def _remove(self, memory_id: int) -> None:
        row = self._row_of.pop(memory_id, None)
        if row is None:
            return
        self._odd_times.discard(memory_id)
        last = self._count - 1
        if row != last:
            moved = int(self._ids[last])
            self._matrix[row] = self._matrix[last]
            if self._sketch is not None:
                self._sketch.move(row, last)
            self._ids[row] = moved
            self._created[row] = self._created[last]
            self._row_of[moved] = row
        self._count = last

    def top_k(
        self, query: Vector, k: int, allowed: npt.NDArray[np.int64] | None, helper: Executor | None = None,
        window: CreatedWindow | None = None,
    ) -> list[tuple[int, float]]:
        """The k best rows by cosine among the ``allowed`` ids created in ``window`` (None: all);
        ``helper`` scans half of a large tenant's sketch meanwhile."""
        query = query.astype(np.float32, copy=False)
        with self._lock:
            keep = self._keep(allowed, window)
            candidates = max(PRESCAN_CANDIDATES, PRESCAN_PER_HIT * k)
            dims = self._matrix.shape[1]
            if self._count >= PRESCAN_MIN_ROWS and candidates * 2 <= self._count and dims >= 2 * SKETCH_DIMS:
                rows = self._prescan(query, candidates, keep, helper)
                ids = self._ids[rows]
                scores = self._gathered(self._matrix, rows, _RERANK) @ query
            else:
                ids, scores = self._exact(query, keep)
            if len(ids) > k:
                best = np.argpartition(scores, len(ids) - k)[len(ids) - k :]
                ids, scores = ids[best], scores[best]
            order = np.argsort(-scores, kind="stable")
            return [(int(ids[i]), float(scores[i])) for i in order]

    def answers(self, window: CreatedWindow) -> bool:
        """Whether the creation times held here decide ``window`` as the text comparison would."""
        with self._lock:
            return window.micros is not None and not self._odd_times

    def _keep(self, allowed: npt.NDArray[np.int64] | None, window: CreatedWindow | None) -> Mask | None:
        """Which rows may be returned (None: all of them); ``window`` must be one it ``answers``."""
        keep: Mask | None = None if allowed is None else np.isin(self._ids[: self._count], allowed)
        bounds = window.micros if window is not None and window.micros is not None else ()
        for op, micros in bounds:
            passing = _COMPARE[op](self._created[: self._count], np.int64(micros))
            keep = passing if keep is None else keep & passing
        return keep

    def _exact(self, query: Vector, keep: Mask | None) -> tuple[npt.NDArray[np.int64], Vector]:
        # Into a kept buffer: a fresh 100,000-float result is a fresh mapping to fault in.
        ids = self._ids[: self._count]
        scores = np.dot(self._matrix[: self._count], query, out=self._scores[: self._count])
        if keep is not None:
            # Every row scored, then the kept ones taken: gathering those rows of the matrix
            # first would copy most of it when a filter (an as_of) keeps most memories.
            ids, scores = ids[keep], scores[keep]
        return ids, scores

    def _prescan(
        self, query: Vector, candidates: int, keep: Mask | None, helper: Executor | None
    ) -> npt.NDArray[np.intp]:
        """Rows of the ``candidates`` best sketch scores among the kept rows."""
        sketch = self._sketch
        if sketch is None or self._count >= 2 * sketch.fitted_at:  # refit as the tenant doubles
            sketch = self._sketch = _Sketch(self._matrix, self._count)
        projected = query @ sketch.basis
        first_share = None
        if self._count >= FIRST_PASS_MIN_ROWS:
            first_share = max(FIRST_PASS_SHARE, FIRST_PASS_KEEP / self._count)
        if helper is None or self._count < SPLIT_MIN_ROWS:
            return self._best_rough(sketch, projected, 0, self._count, candidates, keep, first_share, _LOWER)
        middle = self._count // 2
        upper = helper.submit(self._best_rough, sketch, projected, middle, self._count, candidates, keep, first_share,
                              _UPPER)
        lower = self._best_rough(sketch, projected, 0, middle, candidates, keep, first_share, _LOWER)
        rows = np.concatenate([lower, upper.result()])
        if len(rows) <= candidates:
            return rows
        # The best of all rows are among the best of each half.
        return rows[np.argpartition(self._scores[rows], len(rows) - candidates)[len(rows) - candidates :]]

    def _best_rough(
        self, sketch: _Sketch, projected: Vector, start: int, stop: int, candidates: int, keep: Mask | None,
        first_share: float | None, slot: int,
    ) -> npt.NDArray[np.intp]:
        """Rows ``start``..``stop`` of the ``candidates`` best sketch scores (left in ``_scores``);
        with a ``first_share``, only that share of rows best on the sketch's head is scored whole
        (its rows gathered into the buffer of ``slot``)."""
        rough = np.dot(sketch.head[start:stop], projected[:FIRST_PASS_DIMS], out=self._scores[start:stop])
        if first_share is None:
            rough += sketch.tail[start:stop] @ projected[FIRST_PASS_DIMS:]
        if keep is not None:
            rough[~keep[start:stop]] = -np.inf
        if first_share is not None:
            rows = _best_share(rough, first_share)
            rough[rows] += self._gathered(sketch.tail, rows + start, slot) @ projected[FIRST_PASS_DIMS:]
            if len(rows) > candidates:
                rows = rows[np.argpartition(rough[rows], len(rows) - candidates)[len(rows) - candidates :]]
        elif candidates >= stop - start:
            rows = np.flatnonzero(rough > -np.inf)
        else:
            rows = np.argpartition(rough, stop - start - candidates)[stop - start - candidates :]
            rows = rows[rough[rows] > -np.inf]
        return rows + start

    def _gathered(self, source: Vector, rows: npt.NDArray[np.intp], slot: int) -> Vector:
        """``source[rows]`` in the buffer kept for ``slot``. A fresh gather is megabytes of new
        pages for the kernel to map and zero, on every search: at a million rows the second
        pass gathers 100,000 rows of 32 floats, the re-rank 4,000 of the full dimension."""
        buffer = self._gathers[slot]
        if buffer is None or len(buffer) < len(rows):  # a slot always gathers from the same array
            buffer = self._gathers[slot] = np.empty((len(rows) + len(rows) // 4, source.shape[1]), dtype=np.float32)
        # "clip" writes straight into ``out``; the default mode would gather into a temporary
        # first. The rows are always in range.
        return np.take(source, rows, axis=0, out=buffer[: len(rows)], mode="clip")

    def _grow(self) -> None:
        extra = max(64, len(self._ids) // 2)  # by half: amortised like doubling, a third less spare
        for array in (self._matrix, self._ids, self._created, self._scores):
            _grown_in_place(array, extra)
        if self._sketch is not None:
            self._sketch.grow(extra)


def _grown_in_place(array: npt.NDArray[np.generic], extra: int) -> None:
    """``extra`` rows of zeros added to ``array``. A large array's memory is remapped rather than
    copied, and only the new rows are written: copying the matrix and sketch into new arrays
    cost 13 us for every row added to a searched tenant of 30,000-80,000. No view of these
    arrays outlives a call that holds the tenant's lock, so none is left pointing at freed
    memory (the reason numpy checks references, which ``refcheck=False`` skips)."""
    array.resize((len(array) + extra, *array.shape[1:]), refcheck=False)


def _best_share(scores: Vector, share: float) -> npt.NDArray[np.intp]:
    """Rows (ascending) of about the best ``share`` of ``scores``: the finite ones at or above
    the share's quantile in a sample of them. Filtered-out rows (-inf) count in the share, so a
    filter that keeps few rows keeps them all. A fifth of the cost of an exact partition, and the
    rows come out in order, so gathering them reads memory forwards."""
    sample = scores[:: max(1, len(scores) // _QUANTILE_SAMPLE)]
    kth = int(len(sample) * (1 - share))
    bar = np.partition(sample, kth)[kth]
    return np.flatnonzero(scores >= bar if bar > -np.inf else scores > -np.inf)


class VectorCache:
    """Tenant key -> TenantMatrix, loaded on first use."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._tenants: dict[str, TenantMatrix] = {}

    def clear(self) -> None:
        self._tenants.clear()

    def loaded(self, tenant: str) -> TenantMatrix | None:
        return self._tenants.get(tenant)

    def load(self, tenant: str, rows: Iterable[tuple[int, bytes, str]], count: int = 0) -> TenantMatrix:
        """The tenant's matrix from its rows, streamed (``count``: how many to expect): the
        blobs are never all held at once beside the matrix."""
        matrix = TenantMatrix(self.dims, rows, count)
        self._tenants[tenant] = matrix
        return matrix

    def put_many(self, tenant: str, rows: Sequence[tuple[int, Vector, str]]) -> None:
        """(id, vector, created_at) rows of one tenant, written or replaced in order."""
        matrix = self._tenants.get(tenant)
        if matrix is not None:  # unloaded tenants pick the rows up when they load
            matrix.put_many(rows)

    def remove(self, tenant: str, memory_id: int) -> None:
        matrix = self._tenants.get(tenant)
        if matrix is not None:
            matrix.remove(memory_id)


def rank(
    matrices: Sequence[TenantMatrix], query: Vector, k: int, allowed: npt.NDArray[np.int64] | None,
    helper: Executor | None = None, window: CreatedWindow | None = None,
) -> list[Hit]:
    """The k best hits (cosine) over several tenants' matrices, best first, ties by larger id."""
    hits: list[tuple[int, float]] = []
    for matrix in matrices:
        hits.extend(matrix.top_k(query, k, allowed, helper, window))
    hits.sort(key=lambda h: (-h[1], -h[0]))
    return [Hit(i, s) for i, s in hits[:k]]
