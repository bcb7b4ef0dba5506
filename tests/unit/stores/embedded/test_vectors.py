"""The embedded vector ranking: exact for small tenants, sketch pre-scan + exact re-rank for large ones."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from powermem.filters import And, Condition
from powermem.stores.embedded import vectors
from powermem.stores.embedded.vectors import PRESCAN_MIN_ROWS, TenantMatrix, VectorCache
from powermem.when import CreatedWindow, created_window

DIMS = 384
ROWS = PRESCAN_MIN_ROWS + 10_000


def _unit(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered() -> npt.NDArray[np.float32]:
    """Text-like vectors: topics plus each memory's own detail, in a space whose variance falls off
    with the direction as sentence embeddings' does (MiniLM on LoCoMo text: the top 64 of 384
    principal directions hold 80% of it; here 79%)."""
    rng = np.random.default_rng(7)
    falloff = (np.arange(1, DIMS + 1, dtype=np.float32) ** -0.55)[None, :]
    rotation, _ = np.linalg.qr(rng.standard_normal((DIMS, DIMS)))
    topics = rng.standard_normal((300, DIMS)).astype(np.float32) * falloff
    detail = rng.standard_normal((ROWS, DIMS)).astype(np.float32) * falloff
    rows = (topics[rng.integers(0, 300, ROWS)] + 0.9 * detail) @ rotation.astype(np.float32)
    return _unit(rows)


def _created(n: int) -> str:
    """Row n's creation time: canonical text, in an order unlike the rows' (as after imports)."""
    return f"2026-01-{1 + (n * 7919) % 28:02d}T{(n * 31) % 24:02d}:{n % 60:02d}:00.{n % 999_983:06d}+00:00"


def _matrix(rows: npt.NDArray[np.float32]) -> TenantMatrix:
    return TenantMatrix(DIMS, ((n + 1, r.tobytes(), _created(n)) for n, r in enumerate(rows)), len(rows))


def _exact(rows: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int,
           allowed: set[int] | None = None) -> list[int]:
    scores = rows @ query
    order = [i + 1 for i in np.argsort(-scores, kind="stable") if allowed is None or i + 1 in allowed]
    return order[:k]


def _queries(rows: npt.NDArray[np.float32], count: int) -> list[npt.NDArray[np.float32]]:
    rng = np.random.default_rng(11)
    picks = rows[rng.integers(0, len(rows), count)]
    return list(_unit(picks + 0.8 * rng.standard_normal(picks.shape).astype(np.float32)))


def test_a_large_tenant_is_pre_scanned_and_keeps_recall(clustered: npt.NDArray[np.float32]) -> None:
    matrix = _matrix(clustered)
    recalls = []
    for query in _queries(clustered, 60):
        got = [i for i, _ in matrix.top_k(query, 10, None)]
        recalls.append(len(set(got) & set(_exact(clustered, query, 10))) / 10)
    assert matrix._sketch is not None  # the pre-scan ran: this size is past its threshold
    assert float(np.mean(recalls)) >= 0.99, np.mean(recalls)


def test_scores_are_exact_and_ordered(clustered: npt.NDArray[np.float32]) -> None:
    matrix = _matrix(clustered)
    query = _queries(clustered, 1)[0]
    hits = matrix.top_k(query, 20, None)
    for memory_id, score in hits:
        assert score == pytest.approx(float(clustered[memory_id - 1] @ query), abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_filters_apply_before_the_cut(clustered: npt.NDArray[np.float32]) -> None:
    """A filter allowing few rows still returns them all, best first, and never another."""
    matrix = _matrix(clustered)
    query = _queries(clustered, 1)[0]
    few = np.arange(5, ROWS, 997, dtype=np.int64)  # ~30 rows, none of them likely near the query
    hits = [i for i, _ in matrix.top_k(query, 10, few)]
    assert hits == _exact(clustered, query, 10, set(few.tolist()))


def test_rows_written_after_the_sketch_are_found_and_removed_ones_are_not(clustered: npt.NDArray[np.float32]) -> None:
    matrix = _matrix(clustered)
    query = _queries(clustered, 1)[0]
    first = matrix.top_k(query, 10, None)
    assert matrix._sketch is not None
    matrix.put(10**9, query, _created(0))  # the query itself: it must rank first through the sketch too
    assert matrix.top_k(query, 10, None)[0][0] == 10**9
    matrix.remove(10**9)
    for memory_id, _ in first[:3]:
        matrix.remove(memory_id)
    left = {i for i, _ in matrix.top_k(query, 10, None)}
    assert 10**9 not in left and not left & {i for i, _ in first[:3]}
    assert [i for i, _ in first[3:]] == [i for i, _ in matrix.top_k(query, 7, None)]


def test_a_tenant_that_doubles_refits_its_sketch(clustered: npt.NDArray[np.float32],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "PRESCAN_MIN_ROWS", 1_000)
    monkeypatch.setattr(vectors, "PRESCAN_CANDIDATES", 200)
    matrix = _matrix(clustered[:2_000])
    query = _queries(clustered, 1)[0]
    matrix.top_k(query, 5, None)
    first = matrix._sketch
    assert first is not None and first.fitted_at == 2_000
    for n in range(2_000, 4_000):
        matrix.put(n + 1, clustered[n], _created(n))
    hits = matrix.top_k(query, 5, None)
    assert matrix._sketch is not first and matrix._sketch is not None and matrix._sketch.fitted_at == 4_000
    assert len({i for i, _ in hits} & set(_exact(clustered[:4_000], query, 5))) >= 4


def test_small_tenants_keep_the_exact_scan(clustered: npt.NDArray[np.float32]) -> None:
    rows = clustered[:5_000]
    matrix = _matrix(rows)
    for query in _queries(rows, 5):
        assert [i for i, _ in matrix.top_k(query, 10, None)] == _exact(rows, query, 10)
    assert matrix._sketch is None


def test_a_tenant_loads_streamed_with_an_eighth_of_headroom(clustered: npt.NDArray[np.float32]) -> None:
    """The cache fills the matrix row by row from a cursor-like iterator (never a list of every
    blob beside it), sized from the count: a million rows would otherwise reserve twice their size."""
    rows = clustered[:8_000]
    served = 0

    def cursor() -> Iterator[tuple[int, bytes, str]]:
        nonlocal served
        for n, row in enumerate(rows):
            served += 1
            yield n + 1, row.tobytes(), _created(n)

    matrix = VectorCache(DIMS).load("t", cursor(), len(rows))
    assert served == len(matrix) == 8_000
    assert matrix._matrix.shape[0] <= 8_000 + 8_000 // 8 + 64
    query = _queries(rows, 1)[0]
    assert [i for i, _ in matrix.top_k(query, 10, None)] == _exact(rows, query, 10)
    for n in range(8_000, 9_500):  # past the headroom: the matrix grows and keeps every row
        matrix.put(n + 1, clustered[n], _created(n))
    assert len(matrix) == 9_500 and matrix.top_k(clustered[9_400], 1, None)[0][0] == 9_401


class _CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_a_helper_thread_scans_half_and_the_answer_stays(
    clustered: npt.NDArray[np.float32], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "SPLIT_MIN_ROWS", PRESCAN_MIN_ROWS)  # the real threshold needs 200,000 rows
    matrix = _matrix(clustered)
    allowed = np.arange(1, ROWS + 1, 3, dtype=np.int64)
    with _CountingExecutor() as helper:
        for query in _queries(clustered, 20):
            for only in (None, allowed):
                alone, split = matrix.top_k(query, 10, only), matrix.top_k(query, 10, only, helper)
                # The best of each half hold the best of all. Scores agree to float rounding (a row
                # scored at another place in the gathered block may differ in its last bit).
                assert {i for i, _ in split} == {i for i, _ in alone}
                np.testing.assert_allclose([s for _, s in split], [s for _, s in alone], rtol=1e-6)
                if only is not None:
                    assert {i for i, _ in split} <= set(allowed.tolist())
        assert helper.submitted == 40


def _passing(count: int, window: CreatedWindow) -> npt.NDArray[np.int64]:
    """The ids SQLite's text comparison would keep, worked out with Python's."""
    ops = {"gt": str.__gt__, "gte": str.__ge__, "lt": str.__lt__, "lte": str.__le__}
    kept = [n + 1 for n in range(count) if all(ops[op](_created(n), value) for op, value in window.bounds)]
    return np.asarray(kept, dtype=np.int64)


@pytest.mark.parametrize("rows", [5_000, ROWS])  # the exact scan, then the sketch pre-scan
def test_a_window_of_creation_times_keeps_what_the_ids_it_allows_keep(
    clustered: npt.NDArray[np.float32], monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    """An as_of (and a period) is a comparison of the creation time's text: the matrix answers it
    from the times it holds exactly as from the list of ids SQLite would have returned, through
    the helper's half-scan too, after deletes and updates moved rows around."""
    monkeypatch.setattr(vectors, "SPLIT_MIN_ROWS", PRESCAN_MIN_ROWS)
    data = clustered[:rows]
    matrix = _matrix(data)
    for n in range(0, rows, 97):  # deletes swap the last row in; its time must move with it
        matrix.remove(n + 1)
    matrix.put(2, data[1], _created(1))  # an update keeps the row and its time
    removed = set(range(1, rows + 1, 97))
    windows = [
        created_window(Condition("created_at", "lte", "2026-01-14T12:00:00.000000+00:00")),
        created_window(And((Condition("created_at", "gte", "2026-01-03T00:00:00.000000+00:00"),
                            Condition("created_at", "lt", "2026-01-09T05:30:00.000000+00:00")))),
        created_window(Condition("created_at", "gt", "2026-01-27T23:00:00.000000+00:00")),
    ]
    with _CountingExecutor() as helper:
        for window in windows:
            assert window is not None
            allowed = np.asarray([i for i in _passing(rows, window).tolist() if i not in removed], dtype=np.int64)
            for query in _queries(data, 5):
                by_time = matrix.top_k(query, 10, None, helper, window)
                assert by_time == matrix.top_k(query, 10, allowed, helper)
                assert len(by_time) == 10 and {i for i, _ in by_time} <= set(allowed.tolist())


def test_a_creation_time_that_is_not_canonical_text_leaves_the_window_to_sqlite() -> None:
    """Times are compared as numbers only where that is the text order: every row's time and
    every bound canonical. A migrated row's odd text, or a bound such as "2026-01", is not."""
    vector = _unit(np.ones(4, dtype=np.float32))
    matrix = TenantMatrix(4, [(1, vector.tobytes(), "2026-01-01T00:00:00+00:00")])
    matrix.put(2, vector, _created(2))
    canonical = created_window(Condition("created_at", "gt", "2026-01-01T00:00:00.000000+00:00"))
    partial = created_window(Condition("created_at", "gt", "2026-01"))
    assert canonical is not None and partial is not None
    assert not matrix.answers(canonical)
    matrix.remove(1)
    assert matrix.answers(canonical) and not matrix.answers(partial)
    assert [i for i, _ in matrix.top_k(np.ones(4, dtype=np.float32), 5, None, None, canonical)] == [2]


@pytest.mark.parametrize("split", [False, True])
def test_a_very_large_tenant_is_pre_scanned_in_two_passes_and_keeps_recall(
    clustered: npt.NDArray[np.float32], monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    """Past FIRST_PASS_MIN_ROWS the sketch's head picks a share of the rows for the whole sketch
    to rank: the answer keeps its recall, filters still apply before the cut, and rows written
    after the sketch (whose head and tail are written apart) are found."""
    monkeypatch.setattr(vectors, "FIRST_PASS_MIN_ROWS", PRESCAN_MIN_ROWS)  # the real one needs 400,000 rows
    monkeypatch.setattr(vectors, "FIRST_PASS_KEEP", 6_000)  # a fifth of these rows
    monkeypatch.setattr(vectors, "PRESCAN_CANDIDATES", 2_000)
    monkeypatch.setattr(vectors, "SPLIT_MIN_ROWS", PRESCAN_MIN_ROWS)
    first_passes = []
    best_share = vectors._best_share
    monkeypatch.setattr(vectors, "_best_share", lambda *a: first_passes.append(1) or best_share(*a))
    matrix = _matrix(clustered)
    allowed = np.arange(1, ROWS + 1, 3, dtype=np.int64)
    recalls = []
    with _CountingExecutor() as helper:
        for query in _queries(clustered, 30):
            for only in (None, allowed):
                got = [i for i, _ in matrix.top_k(query, 10, only, helper if split else None)]
                expected = _exact(clustered, query, 10, None if only is None else set(only.tolist()))
                recalls.append(len(set(got) & set(expected)) / 10)
                assert only is None or set(got) <= set(only.tolist())
        matrix.put(10**9, query, _created(0))
        assert matrix.top_k(query, 1, None, helper if split else None)[0][0] == 10**9
    assert len(first_passes) == (122 if split else 61)
    assert float(np.mean(recalls)) >= 0.99, np.mean(recalls)


@pytest.mark.parametrize("split", [False, True])
def test_a_pre_scan_gathers_its_candidates_into_buffers_kept_between_searches(
    clustered: npt.NDArray[np.float32], monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    """After a large tenant's first search, the rows its passes gather (here 6,000 of the sketch's
    tail, 2,000 whole vectors: 3.8 MB) go into buffers it keeps: a fresh gather is new pages for
    the kernel to map and zero on every search, which at a million rows cost more than the copy."""
    monkeypatch.setattr(vectors, "FIRST_PASS_MIN_ROWS", PRESCAN_MIN_ROWS)
    monkeypatch.setattr(vectors, "FIRST_PASS_KEEP", 6_000)
    monkeypatch.setattr(vectors, "PRESCAN_CANDIDATES", 2_000)
    monkeypatch.setattr(vectors, "SPLIT_MIN_ROWS", PRESCAN_MIN_ROWS)
    matrix = _matrix(clustered)
    queries = _queries(clustered, 4)
    with _CountingExecutor() as helper:
        first = [i for i, _ in matrix.top_k(queries[0], 10, None, helper if split else None)]
        tracemalloc.start()
        try:
            later = [[i for i, _ in matrix.top_k(q, 10, None, helper if split else None)] for q in queries]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert later[0] == first  # the same answer from the kept buffers
    assert peak < 1_000_000, peak  # the mask and row numbers of 30,000 rows, not the gathers


def test_put_many_writes_what_the_same_puts_one_by_one_write(clustered: npt.NDArray[np.float32]) -> None:
    """A write's vectors go into a loaded tenant in one go: new rows (past the matrix's capacity,
    so it grows), a row put twice (the later wins), an existing row replaced, and a creation
    time that is not canonical text; the sketch of a pre-scanned tenant follows."""
    one_by_one, in_one_go = _matrix(clustered), _matrix(clustered)
    for matrix in (one_by_one, in_one_go):
        matrix.top_k(clustered[0], 10, None)  # fits the sketch that later rows are projected onto
    rng = np.random.default_rng(3)
    fresh = _unit(rng.standard_normal((6_000, DIMS)).astype(np.float32))
    rows = [(ROWS + 1 + n, fresh[n], _created(n)) for n in range(5_000)]
    rows += [(ROWS + 1, fresh[5_000], _created(1)), (7, fresh[5_001], "yesterday"), (8, fresh[5_002], _created(8))]
    for memory_id, vector, created_at in rows:
        one_by_one.put(memory_id, vector, created_at)
    in_one_go.put_many(rows)
    assert len(in_one_go) == len(one_by_one) == ROWS + 5_000
    window = created_window(And((Condition("created_at", "gte", "2026-01-10T00:00:00+00:00"),)))
    assert not in_one_go.answers(window) and not one_by_one.answers(window)  # "yesterday" is held apart
    for query in [fresh[5_000], fresh[5_001], *_queries(clustered, 5)]:
        assert in_one_go.top_k(query, 10, None) == one_by_one.top_k(query, 10, None)
    assert in_one_go.top_k(fresh[5_000], 1, None)[0][0] == ROWS + 1
    assert in_one_go.top_k(fresh[5_001], 1, None)[0][0] == 7
    for n in (0, 100, 20_000, ROWS - 1):  # rows held before the matrix and sketch grew are intact
        assert in_one_go.top_k(clustered[n], 1, None)[0][0] == n + 1
