"""Per-scope planning of Neo4j searches: what is remembered, for how long, and the fetch sizes."""

from __future__ import annotations

import time

import pytest

from powermem.stores.base import Scope
from powermem.stores.neo4j.scope_plans import FIRST_FETCH_FACTOR, MAX_FETCH, MIN_FETCH, ScopePlans, next_fetch

KEY = Scope(user_id="alice")


def test_an_unknown_scope_is_not_large_and_gets_the_default_first_fetch() -> None:
    plans = ScopePlans()
    assert not plans.is_large(KEY)
    assert plans.first_fetch(KEY, 10) == max(10 * FIRST_FETCH_FACTOR, MIN_FETCH)
    assert plans.first_fetch(None, 100) == 100 * FIRST_FETCH_FACTOR


def test_large_is_trusted_only_for_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = ScopePlans(ttl=60)
    now = time.monotonic()
    plans.mark_large(KEY)
    assert plans.is_large(KEY)
    assert not plans.is_large(Scope(user_id="bob"))
    monkeypatch.setattr(time, "monotonic", lambda: now + 61)
    assert not plans.is_large(KEY)


def test_first_fetch_follows_the_recent_match_rate() -> None:
    plans = ScopePlans()
    plans.record(KEY, fetched=40, matched=40)  # the scope is the whole index
    assert plans.first_fetch(KEY, 10) == MIN_FETCH
    assert plans.first_fetch(KEY, 50) == 50  # all pass: no margin, each extra result costs HNSW work
    tenth = Scope(user_id="bob")
    plans.record(tenth, fetched=1000, matched=100)  # the first search sets the rate
    assert plans.first_fetch(tenth, 10) == 145  # 10 + 90 expected misses * 1.5
    plans.record(tenth, fetched=1000, matched=200)  # one search that passed twice as many
    assert plans.share(tenth) == pytest.approx(0.12)  # moves the rate a fifth of the way
    assert plans.first_fetch(tenth, 10) == 120
    rare = Scope(user_id="carol")
    plans.record(rare, fetched=1000, matched=0)  # none passed: counted as one, capped
    assert plans.first_fetch(rare, 100) == MAX_FETCH


def test_clear_and_least_recently_used_eviction() -> None:
    plans = ScopePlans(entries=2)
    a, b, c = (Scope(user_id=u) for u in "abc")
    plans.mark_large(a)
    plans.mark_large(b)
    plans.mark_large(a)  # a used again: b is now the oldest
    plans.mark_large(c)
    assert (plans.is_large(a), plans.is_large(b), plans.is_large(c)) == (True, False, True)
    plans.clear()
    assert not plans.is_large(c)


def test_next_fetch_grows_by_the_observed_rate() -> None:
    assert next_fetch(40, 0, 10) == 320
    assert next_fetch(40, 5, 10) == 100
    assert next_fetch(40, 9, 10) == 80
