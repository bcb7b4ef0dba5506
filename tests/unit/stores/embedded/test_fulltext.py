"""The embedded store's full-text cost bounds, on a real SQLite file: which terms it searches,
and where it ranks when every term is common."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from powermem.filters import now_timestamp, parse_filters
from powermem.stores.base import NewMemory, Scope, WritePlan
from powermem.stores.embedded import fulltext
from powermem.stores.embedded.engine import SqliteEngine
from powermem.when import created_by

SCOPE = Scope(user_id="u")


@pytest.fixture
def engine(tmp_path: Path) -> SqliteEngine:
    store = SqliteEngine(tmp_path / "fts.db")
    store.initialize(4)
    return store


def add(engine: SqliteEngine, texts: list[str], first_id: int = 1, scope: Scope = SCOPE) -> list[int]:
    """Memories of ``texts``, ids counting up from ``first_id`` (a higher id is newer)."""
    vector = np.ones(4, dtype=np.float32) / 2
    creates = [NewMemory(first_id + i, text, f"{first_id + i}", vector, scope, {}, now_timestamp())
               for i, text in enumerate(texts)]
    engine.apply(WritePlan(scope=scope, creates=creates, at=now_timestamp()))
    return [m.id for m in creates]


def ids(engine: SqliteEngine, terms: list[str], k: int, scope: Scope = SCOPE) -> set[int]:
    return {h.id for h in engine.fulltext_search(scope, None, terms, k)}


def test_the_commonest_terms_past_the_budget_are_dropped(engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    add(engine, [f"common {i}" for i in range(120)] + [f"mid {i}" for i in range(60)] + [f"rare {i}" for i in range(3)])
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 100)
    counts = fulltext.posting_counts(engine._conn, ["common", "mid", "rare"], 101)
    assert counts == {"common": 101, "mid": 60, "rare": 3}  # counted up to the cap only
    assert fulltext.affordable(["common", "mid", "rare"], counts, 100) == ["rare", "mid"]
    assert ids(engine, ["common", "rare"], 2) <= {181, 182, 183}  # budget max(100, 2 x 40): 'rare' only
    assert len(ids(engine, ["common", "rare"], 5)) == 5  # budget 200: both terms
    assert ids(engine, ["absent"], 5) == set()


def test_when_every_term_is_common_the_rarest_in_the_newest_memories_is_ranked_there(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'beta' is the rarer in the store, 'alpha' among the 24 newest: k=3 ranks 'alpha' there."""
    add(engine, [f"alpha {i}" for i in range(300)] + [f"beta {i}" for i in range(200)])
    newest = add(engine, [f"beta x{i}" for i in range(20)] + [f"alpha beta {i}" for i in range(4)], first_id=501)
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 50)  # k=3: a budget of 120, both words past it
    found = ids(engine, ["alpha", "beta"], 3)
    assert len(found) == 3 and found <= set(newest[-4:])


def test_the_window_widens_until_it_holds_k_hits(engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    common = add(engine, [f"common {i}" for i in range(150)])
    add(engine, [f"other {i}" for i in range(30)], first_id=151)
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 50)
    # k=3: the 24 newest hold no 'common'; the 96 newest (ids 85-180) hold 66.
    found = ids(engine, ["common"], 3)
    assert len(found) == 3 and found <= set(common[84:])


def test_a_scope_smaller_than_the_window_is_searched_whole(engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    add(engine, [f"common {i}" for i in range(150)])
    other = Scope(user_id="v")
    mine = add(engine, ["common word", "common thing"], first_id=151, scope=other)
    add(engine, [f"common {i}" for i in range(50)], first_id=153)
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 50)
    assert ids(engine, ["common"], 3, other) == set(mine)  # only its own, though 'common' is in 202
    assert ids(engine, ["common"], 3, Scope(user_id="nobody")) == set()


def test_kept_terms_matching_more_than_8_k_are_ranked_among_the_newest(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'mid' alone in 20 old memories (the best BM25), in 40 long new ones: k=2 ranks the new."""
    add(engine, ["mid"] * 20 + [f"other {i}" for i in range(120)])
    newest = add(engine, [f"mid and a longer text {i}" for i in range(40)], first_id=141)
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 100)
    # 'mid' fits the budget but matches 60 > 8 x 2: ranked in the 100 newest (ids 81-180).
    found = ids(engine, ["mid"], 2)
    assert len(found) == 2 and found <= set(newest)
    assert len(ids(engine, ["mid"], 30)) == 30  # k=30: 60 matches are within 8 x 30, ranked without a window


def test_a_scope_inside_the_window_ranks_as_without_it(engine: SqliteEngine) -> None:
    """Other tenants' memories older and newer; a tenant of 30 whose words match 200 others."""
    add(engine, [f"apple pie {i}" for i in range(100)])
    small = Scope(user_id="small")
    add(engine, [f"apple {'tart ' * (i % 4)}{i}" for i in range(30)], first_id=101, scope=small)
    add(engine, [f"apple crumble {i}" for i in range(100)], first_id=131)
    params: list[object] = []
    where = engine._where(small, None, params)
    windowed = engine.fulltext_search(small, None, ["apple", "tart"], 10)  # a window of 80 holds the tenant
    assert len(windowed) == 10
    assert windowed == fulltext._ranked(engine._conn, '"apple" OR "tart"', where, params, 10)


def test_a_term_counted_past_the_cap_is_not_recounted_for_a_minute(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(engine, [f"common {i}" for i in range(120)] + [f"mid {i}" for i in range(60)])
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    counted: list[list[str]] = []
    real = fulltext.posting_counts
    monkeypatch.setattr(fulltext, "posting_counts", lambda conn, terms, cap: counted.append(list(terms)) or
                        real(conn, terms, cap))
    common = fulltext.CommonTerms()
    assert common.counts(engine._conn, ["common", "mid"], 101) == {"common": 101, "mid": 60}
    clock[0] += fulltext.COMMON_TTL - 1
    assert common.counts(engine._conn, ["common", "mid"], 101) == {"common": 101, "mid": 60}
    assert common.counts(engine._conn, ["common"], 200) == {"common": 120}  # a higher cap: counted again
    clock[0] += 2
    assert common.counts(engine._conn, ["common"], 101) == {"common": 101}
    assert counted == [["common", "mid"], ["mid"], ["common"], ["common"]]


def test_with_filters_the_windows_are_the_scopes_and_the_hits_pass_the_filters(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An as_of-like filter keeps only the older half: the windows (of the scope's newest, which
    the filter rejects) widen until they reach the memories it allows."""
    older = add(engine, [f"common {i}" for i in range(150)])
    add(engine, [f"common {i}" for i in range(150, 300)], first_id=151)
    cut = engine.get(older[-1], SCOPE)
    assert cut is not None
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 50)
    before = parse_filters({"created_at": {"lte": cut.created_at}})
    found = [h.id for h in engine.fulltext_search(SCOPE, before, ["common"], 3)]
    assert len(found) == 3 and set(found) <= set(older)
    assert engine.fulltext_search(SCOPE, parse_filters({"created_at": {"lt": "2000-01-01"}}), ["common"], 3) == []


def test_an_as_of_starts_the_windows_at_the_newest_memory_created_by_then(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scope's newest memories are all after the as_of: the first window starts below them,
    at the newest memory created by then, and holds the k hits at once."""
    older = add(engine, [f"common {i}" for i in range(150)])
    add(engine, [f"common {i}" for i in range(150, 300)], first_id=151)
    cut = engine.get(older[-1], SCOPE)
    assert cut is not None
    monkeypatch.setattr(fulltext, "POSTING_BUDGET", 50)
    statements: list[str] = []
    engine._conn.set_trace_callback(statements.append)
    found = [h.id for h in engine.fulltext_search(SCOPE, created_by(None, cut.created_at), ["common"], 3)]
    engine._conn.set_trace_callback(None)
    assert len(found) == 3 and set(found) <= set(older[-50:])
    assert len([s for s in statements if "ORDER BY rank" in s]) == 1
    # Other scopes and an as_of before every memory still answer as the filter says.
    assert engine.fulltext_search(SCOPE, created_by(None, "2000-01-01T00:00:00.000000+00:00"), ["common"], 3) == []
    assert engine.fulltext_search(Scope(user_id="other"), created_by(None, cut.created_at), ["common"], 3) == []


# Model-based: each windowed search against a plain reference over the same rows.
# Thirty words by Zipf's law, one to three to a memory: the commonest is in about two in five
# memories, the rarest in one in seventy, so a scope's 8 k-th newest match falls now inside its
# newest 40 k memories, now below them.
WORDS = [f"w{i}" for i in range(30)]
ZIPF = [1 / (rank + 1) for rank in range(30)]
OTHER = Scope(user_id="v")
Rows = list[tuple[bool, list[str]]]  # (in SCOPE, words), ids counting up from 1


@st.composite
def stores(draw: st.DrawFn) -> tuple[Rows, list[str], int]:
    """Rows (mostly the scope's: up to 300, so past its 40 k newest), query terms and k."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    share = draw(st.sampled_from([0.5, 0.8, 1.0]))
    rows = [(rng.random() < share, rng.choices(WORDS, ZIPF, k=rng.randint(1, 3)))
            for _ in range(draw(st.integers(1, 300)))]
    terms = list(dict.fromkeys(rng.choices(WORDS, ZIPF, k=rng.randint(1, 2))))
    return rows, terms, draw(st.integers(1, 3))


@contextmanager
def filled(rows: Rows) -> Iterator[SqliteEngine]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = SqliteEngine(Path(tmp) / "model.db")
        engine.initialize(4)
        try:
            vector = np.ones(4, dtype=np.float32) / 2
            for scope, mine in ((SCOPE, True), (OTHER, False)):
                creates = [NewMemory(i, " ".join(words), f"{i}", vector, scope, {}, now_timestamp())
                           for i, (in_scope, words) in enumerate(rows, start=1) if in_scope == mine]
                engine.apply(WritePlan(scope=scope, creates=creates, at=now_timestamp()))
            yield engine
        finally:
            engine.close()


def bm25(engine: SqliteEngine, terms: list[str]) -> dict[int, float]:
    sql = "SELECT rowid, -rank FROM memory_fts WHERE memory_fts MATCH ?"
    return dict(engine._conn.execute(sql, [fulltext._match(terms)]).fetchall())


def best(ids: list[int], scores: dict[int, float], k: int) -> list[int]:
    return sorted(ids, key=lambda i: (-scores[i], -i))[:k]


def scoped(engine: SqliteEngine) -> tuple[str, list[object], fulltext._Top]:
    params: list[object] = []
    where = engine._where(SCOPE, None, params)
    top = fulltext._top_of(engine._conn, (where, params), None)
    assert top is not None
    return where, params, top


@settings(max_examples=300, deadline=None)
@given(stores())
def test_kept_terms_are_ranked_among_the_scopes_newest_matches(store: tuple[Rows, list[str], int]) -> None:
    """The scope's newest 8 k memories holding a term, and never fewer than its newest 40 k;
    a scope within 40 k memories, or with fewer than 8 k matches, is ranked whole."""
    rows, terms, k = store
    scope_ids = [i for i in range(len(rows), 0, -1) if rows[i - 1][0]]
    assume(scope_ids)
    matches = [i for i in scope_ids if set(terms) & set(rows[i - 1][1])]
    first, nth = k * 40, k * fulltext.RANKED_PER_HIT
    if len(scope_ids) <= first or len(matches) < nth:
        ranked = matches
    else:
        ranked = [i for i in matches if i >= min(scope_ids[first - 1], matches[nth - 1])]
    with filled(rows) as engine, pytest.MonkeyPatch.context() as patch:
        patch.setattr(fulltext, "POSTING_BUDGET", 1)  # the first window is 40 k memories
        where, params, top = scoped(engine)
        got = fulltext._among_newest_matches(engine._conn, where, params, (where, params), top, terms, k)
        assert [h.id for h in got] == best(ranked, bm25(engine, terms), k)


def reference_rarest(rows: Rows, terms: list[str], k: int, scores: dict[str, dict[int, float]]) -> list[int]:
    """The window of the scope's newest memories, fourfold each time, ranked whole each time."""
    scope_ids = [i for i in range(len(rows), 0, -1) if rows[i - 1][0]]
    size, chosen = k * fulltext.RANKED_PER_HIT, None
    while True:
        whole = len(scope_ids) < size
        floor = scope_ids[-1] if whole else scope_ids[size - 1]
        if chosen is None:  # counted over every memory in the id range, up to the window's size
            span = [words for _, words in rows[floor - 1:scope_ids[0]]]
            counts = {t: min(size, sum(t in words for words in span)) for t in terms}
            present = [t for t in terms if counts[t]]
            chosen = min(present, key=lambda t: counts[t]) if present else None
        hits = [] if chosen is None else best(
            [i for i in scope_ids if i >= floor and chosen in rows[i - 1][1]], scores[chosen], k)
        if len(hits) >= k or whole:
            return hits
        size *= 4


@settings(max_examples=150, deadline=None)
@given(stores())
def test_every_term_common_widens_and_ranks_as_the_plain_window_does(store: tuple[Rows, list[str], int]) -> None:
    """Widening from the last floor and ranking only the ids a wider window adds give what
    ranking each whole window gives."""
    rows, terms, k = store
    assume(any(mine for mine, _ in rows))
    with filled(rows) as engine:
        where, params, top = scoped(engine)
        got = fulltext._among_newest(engine._conn, where, params, (where, params), top, terms, k)
        assert [h.id for h in got] == reference_rarest(rows, terms, k, {t: bm25(engine, [t]) for t in terms})
