"""What the Neo4j store remembers between searches of a scope, to plan the next one.

Choosing between an exact scan and the vector index needs the scope's candidate count, a
query of its own; a post-filtered index query (vector, or full-text without the scope in the
Lucene query) needs a guess of how many results to fetch so that k of them pass the scope.
Both are remembered per scope for a short while. They are estimates that change how fast a
search is, never what it returns: a scope wrongly taken as large uses the index, which falls
back to an exact scan when it cannot find k; a stale match rate only changes the size of the
first fetch.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

FIRST_FETCH_FACTOR = 4  # first over-fetch of a post-filtered index query, as a multiple of k
MIN_FETCH = 32  # HNSW explores as many candidates as it is asked for: fewer loses recall
MAX_FETCH = 16_384  # past this, an exact scan of the filtered set is both cheaper and exact
# Fetch half as much again as the expected match rate says will not pass. The rate is a
# moving average (RATE_WEIGHT for the newest search): the share of one tenant of 50,000 among
# the index's results varied from 0.135 to 0.198 (p5-p95) query by query on a store of 300,000,
# so planning from the last search alone with a margin of 1.25 sent 12% of searches to a second
# fetch; the average with 1.5 sent 0.7%, asking for the same number of results in all
# (simulated over 300 queries against their top 1,000, 2026-12-04).
RATE_MARGIN = 1.5
RATE_WEIGHT = 0.2
GROWTH_MARGIN = 1.25  # a fetch that fell short grows by what its own rate says, a quarter more


@dataclass
class _Plan:
    large_until: float = 0.0
    match_rate: float | None = None


class ScopePlans:
    """Per-scope planning facts, least recently used first out, each trusted for ``ttl`` seconds."""

    def __init__(self, ttl: float = 60.0, entries: int = 1024) -> None:
        self._ttl = ttl
        self._entries = entries
        self._plans: OrderedDict[Hashable, _Plan] = OrderedDict()

    def clear(self) -> None:
        self._plans.clear()

    def is_large(self, key: Hashable) -> bool:
        """Whether the scope was recently seen holding more candidates than an exact scan takes."""
        plan = self._plans.get(key)
        return plan is not None and plan.large_until > time.monotonic()

    def mark_large(self, key: Hashable) -> None:
        self._plan(key).large_until = time.monotonic() + self._ttl

    def first_fetch(self, key: Hashable | None, k: int, margin: float = RATE_MARGIN) -> int:
        """How many index results to ask for first: enough for k at the scope's recent match rate."""
        plan = self._plans.get(key) if key is not None else None
        if plan is None or plan.match_rate is None:
            return max(k * FIRST_FETCH_FACTOR, MIN_FETCH)
        # The margin covers the share expected not to pass: a scope that is the whole index
        # needs k exactly, and each result asked for beyond it costs HNSW work in every segment.
        wanted = math.ceil(k + (k / plan.match_rate - k) * margin)
        return min(MAX_FETCH, max(MIN_FETCH, wanted))

    def share(self, key: Hashable | None) -> float | None:
        """The share of index results that passed the scope's recent post-filtered searches, if known."""
        plan = self._plans.get(key) if key is not None else None
        return plan.match_rate if plan is not None else None

    def record(self, key: Hashable | None, fetched: int, matched: int) -> None:
        if key is None or fetched <= 0:
            return
        plan = self._plan(key)
        rate = max(matched, 1) / fetched
        previous = plan.match_rate
        plan.match_rate = rate if previous is None else previous + RATE_WEIGHT * (rate - previous)

    def _plan(self, key: Hashable) -> _Plan:
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan()
            if len(self._plans) > self._entries:
                self._plans.popitem(last=False)
        self._plans.move_to_end(key)
        return plan


def next_fetch(fetch: int, matched: int, k: int) -> int:
    """The next over-fetch: enough for k at the match rate seen so far (x8 when none matched)."""
    if matched == 0:
        return fetch * 8
    return max(fetch * 2, math.ceil(fetch * k / matched * GROWTH_MARGIN))
