"""The embedded store's full-text cost bounds, on a real SQLite file: which terms it searches,
and where it ranks when every term is common."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

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
