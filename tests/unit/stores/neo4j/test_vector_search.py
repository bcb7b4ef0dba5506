"""Which plan the Neo4j store's vector search takes, with the server's answers scripted.

The server is the only stand-in: each statement is recognised by its text and answered as
Neo4j would for a scope of the given share of the index, so the plan choices of
``memory_vector_hits`` (exact scan, post-filtered index query, SEARCH) are what is tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from powermem.filters import Condition
from powermem.stores.base import Scope
from powermem.stores.neo4j.scope_plans import ScopePlans
from powermem.stores.neo4j.vector_search import memory_vector_hits
from powermem.when import created_between

SCOPE = Scope(user_id="alice")
K = 50  # the search engine's candidate pool
AS_OF = Condition("created_at", "lte", "2026-06-01T00:00:00.000000+00:00")


class ScriptedServer:
    """A tenant of 100,000 memories holding ``share`` of the vector index's results."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.asked: list[str] = []

    async def read(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        if "SEARCH m IN" in query:
            self.asked.append("search")
            return [{"id": i, "score": 0.9} for i in range(params["k"])]
        if "db.index.vector.queryNodes" in query:
            self.asked.append(f"ann {params['fetch']}")
            matched = int(params["fetch"] * self.share)
            hits = [[i, 0.9] for i in range(min(matched, params["k"]))]
            return [{"fetched": params["fetch"], "matched": matched, "hits": hits}]
        self.asked.append("count")
        return [{"candidates": params["cap"], "hits": []}]  # more than an exact scan takes


async def search(server: ScriptedServer, plans: ScopePlans, *, search_clause: bool = True) -> int:
    hits = await memory_vector_hits(server.read, plans, SCOPE, None, [0.1, 0.2], K,
                                    exact_scan_limit=5000, search_clause=search_clause)
    return len(hits)


async def test_a_scope_that_is_the_whole_index_is_post_filtered_even_where_search_exists() -> None:
    server, plans = ScriptedServer(share=1.0), ScopePlans()
    assert await search(server, plans) == K
    assert await search(server, plans) == K
    # Counted once, measured by one fetch of 4k, then asked for exactly k: SEARCH is never used.
    assert server.asked == ["count", "ann 200", f"ann {K}"]


async def test_a_small_share_goes_to_search_once_measured() -> None:
    server, plans = ScriptedServer(share=0.05), ScopePlans()
    assert await search(server, plans) == K
    assert await search(server, plans) == K
    assert server.asked == ["count", "ann 200", "search", "search"]


async def test_without_search_a_small_share_grows_the_post_filtered_fetch() -> None:
    server, plans = ScriptedServer(share=0.05), ScopePlans()
    assert await search(server, plans, search_clause=False) == K
    assert "search" not in server.asked
    assert server.asked[:2] == ["count", "ann 200"] and len(server.asked) > 2


async def test_an_as_of_search_of_a_large_scope_is_one_post_filtered_fetch() -> None:
    """An as_of keeping half of a scope known to be large: no count of what it keeps (which
    would read much of the scope), one fetch of 4x what a plain search of the scope asks."""
    server, plans = ScriptedServer(share=1.0), ScopePlans()
    await search(server, plans)
    server.share, server.asked = 0.5, []
    hits = await memory_vector_hits(server.read, plans, SCOPE, AS_OF, [0.1, 0.2], K, exact_scan_limit=5000,
                                    search_clause=True)
    assert len(hits) == K and server.asked == [f"ann {4 * K}"]


async def test_the_next_as_of_search_asks_for_what_the_last_one_passed() -> None:
    server, plans = ScriptedServer(share=1.0), ScopePlans()
    await search(server, plans)
    server.share, server.asked = 0.5, []
    for _ in range(2):
        hits = await memory_vector_hits(server.read, plans, SCOPE, AS_OF, [0.1, 0.2], K, exact_scan_limit=5000,
                                        search_clause=True)
        assert len(hits) == K
    # Half of the first fetch passed: k at that rate, with twice what will not pass.
    assert server.asked == [f"ann {4 * K}", f"ann {K + math.ceil(K * 2.0)}"]
    # A plain search of the scope keeps its own share (the whole index).
    server.share, server.asked = 1.0, []
    await search(server, plans)
    assert server.asked == [f"ann {K}"]


async def test_an_early_as_of_of_a_large_scope_grows_the_fetch_without_counting() -> None:
    server, plans = ScriptedServer(share=1.0), ScopePlans()
    await search(server, plans)
    server.share, server.asked = 0.01, []
    hits = await memory_vector_hits(server.read, plans, SCOPE, AS_OF, [0.1, 0.2], K, exact_scan_limit=5000,
                                    search_clause=True)
    # 2 of 200 passed: the next fetch asks for enough at that rate, with a quarter more.
    assert len(hits) == K and server.asked == [f"ann {4 * K}", "ann 6250"]


async def test_an_as_of_search_of_a_scope_not_known_large_counts_once() -> None:
    server, plans = ScriptedServer(share=0.5), ScopePlans()
    for _ in range(2):
        await memory_vector_hits(server.read, plans, SCOPE, AS_OF, [0.1, 0.2], K, exact_scan_limit=5000,
                                 search_clause=True)
    # More than an exact scan takes passed the as_of: the scope is large, the next is one fetch.
    assert server.asked[0] == "count" and server.asked[-1] == f"ann {4 * K}" and server.asked.count("count") == 1


async def test_a_period_of_a_large_scope_keeps_the_usual_plan() -> None:
    server, plans = ScriptedServer(share=1.0), ScopePlans()
    await search(server, plans)
    server.asked = []
    period = created_between(None, "2026-05-01T00:00:00.000000+00:00", "2026-06-01T00:00:00.000000+00:00")
    await memory_vector_hits(server.read, plans, SCOPE, period, [0.1, 0.2], K, exact_scan_limit=5000,
                             search_clause=True)
    assert server.asked[0] == "count"
