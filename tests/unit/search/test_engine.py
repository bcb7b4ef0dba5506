"""The search engine's own logic, over a stub store that records what it is asked."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from powermem.config import SearchConfig
from powermem.embeddings.base import CachedQueryEmbedder
from powermem.embeddings.hashing import HashingEmbedder
from powermem.search.engine import SearchEngine, combined_scores, hub_terms, is_hub, query_name_keys
from powermem.stores.base import EntityRow, Hit, MemoryRow, Scope, Subgraph
from powermem.text.terms import with_inflections


def test_hub_rule() -> None:
    assert is_hub(degree=300, tenant_memories=419, pool=50)  # a speaker: most turns name them
    assert not is_hub(degree=60, tenant_memories=5000, pool=50)  # a recurring topic in a big tenant
    assert not is_hub(degree=3, tenant_memories=4, pool=50)  # a small tenant is searched whole anyway
    assert is_hub(degree=50, tenant_memories=100, pool=50)


def test_hub_terms_drop_the_words_of_hub_names_only() -> None:
    terms = ["caroline", "research", "adoption", "smith"]
    assert hub_terms(terms, ["Caroline"]) == ["research", "adoption", "smith"]
    assert hub_terms(terms, ["Caroline Smith"]) == ["research", "adoption"]
    assert hub_terms(terms, []) == terms


def test_combined_scores_add_weighted_context() -> None:
    assert combined_scores({1: 0.5, 2: 0.2}, {2: 0.4, 3: 0.1}, 1.0) == pytest.approx({1: 0.5, 2: 0.6, 3: 0.1})
    assert combined_scores({1: 0.5}, {2: 0.4}, 0.0) == {1: 0.5}


def test_query_name_keys_include_names_and_ngrams() -> None:
    keys = query_name_keys("When did Caroline Smith go to New York?")
    assert "caroline smith" in keys and "new york" in keys and "caroline" in keys
    assert "to" not in keys and "when did" not in keys


def row(memory_id: int) -> MemoryRow:
    return MemoryRow(memory_id, f"m{memory_id}", "h", "u", None, None, {}, "t", "t")


class StubStore:
    """Memories 1..N; entity 7 ('Zed') mentioned by ``zed_degree`` of them."""

    def __init__(self, memories: int, zed_degree: int) -> None:
        self.memories = memories
        self.zed_degree = zed_degree
        self.calls: list[tuple[str, Any]] = []

    async def vector_search(self, scope: Scope, filters: Any, vector: Any, k: int) -> list[Hit]:
        return [Hit(i, 1.0 - i / 100) for i in range(1, min(k, self.memories) + 1)]

    async def fulltext_search(self, scope: Scope, filters: Any, terms: Sequence[str], k: int) -> list[Hit]:
        self.calls.append(("fulltext", list(terms)))
        return [Hit(self.memories, 2.0)] if "kayak" in terms else []

    async def entities_by_key(self, scope: Scope, keys: Sequence[str]) -> list[EntityRow]:
        return [EntityRow(7, "Zed", "zed", "person", self.zed_degree)] if "zed" in keys else []

    async def similar_entities(self, scope: Scope, vector: Any, k: int, min_score: float) -> list[Any]:
        return []

    async def expand(self, scope: Scope, entities: Sequence[int], memories: Sequence[int], hops: int,
                     max_nodes: int, as_of: str | None = None) -> Subgraph:
        self.calls.append(("expand", (list(entities), hops)))
        return Subgraph(degrees={7: self.zed_degree})

    async def adjacent(self, scope: Scope, memories: Sequence[int], window: int) -> list[tuple[int, int]]:
        return []

    async def list_memories(self, scope: Scope, filters: Any, limit: int, offset: int, sort: str,
                            descending: bool) -> tuple[list[MemoryRow], int]:
        self.calls.append(("count", scope))
        return [row(1)], self.memories

    async def get_many(self, ids: Sequence[int], scope: Scope, filters: Any) -> list[MemoryRow]:
        return [row(i) for i in ids if 1 <= i <= self.memories]


async def run(store: StubStore, query: str = "Where is Zed's kayak?") -> dict[str, Any]:
    engine = SearchEngine(store, CachedQueryEmbedder(HashingEmbedder(16)), SearchConfig())  # type: ignore[arg-type]
    return await engine.search(query, Scope(user_id="u"), None, 10, None)


async def test_hub_names_are_not_full_text_terms_nor_graph_sources() -> None:
    store = StubStore(memories=200, zed_degree=150)
    found = await run(store)
    assert ("fulltext", with_inflections(["kayak"])) in store.calls  # no "zed", nor its forms
    assert ("count", Scope(user_id="u")) in store.calls
    # The lookup reports the degree (no probe): the expansion starts from the top hits only.
    assert [c[1] for c in store.calls if c[0] == "expand"] == [([], 2)]
    assert found["results"][0]["id"] == 200


async def test_frequent_names_in_big_tenants_and_rare_names_stay() -> None:
    big = StubStore(memories=5000, zed_degree=60)
    await run(big)
    assert ("fulltext", with_inflections(["zed", "kayak"])) in big.calls
    rare = StubStore(memories=200, zed_degree=3)
    await run(rare)
    assert ("fulltext", with_inflections(["zed", "kayak"])) in rare.calls
    assert not any(c[0] == "count" for c in rare.calls)  # no count needed below one candidate pool


async def test_tenant_size_is_counted_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    store = StubStore(memories=200, zed_degree=150)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    engine = SearchEngine(store, CachedQueryEmbedder(HashingEmbedder(16)), SearchConfig())  # type: ignore[arg-type]
    for _ in range(3):
        await engine.search("Zed kayak", Scope(user_id="u", run_id="r"), None, 5, None)
    assert [c for c in store.calls if c[0] == "count"] == [("count", Scope(user_id="u"))]
    clock[0] += 61
    await engine.search("Zed kayak", Scope(user_id="u"), None, 5, None)
    assert len([c for c in store.calls if c[0] == "count"]) == 2


async def test_scores_are_capped_and_thresholded_as_shown() -> None:
    store = StubStore(memories=30, zed_degree=1)
    engine = SearchEngine(store, CachedQueryEmbedder(HashingEmbedder(16)), SearchConfig())  # type: ignore[arg-type]
    found = await engine.search("kayak", Scope(user_id="u"), None, 30, None)
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    cut = scores[5]
    above = await engine.search("kayak", Scope(user_id="u"), None, 30, cut)
    assert [r["score"] for r in above["results"]] == [s for s in scores if s >= cut]
    assert np.isclose(max(scores), scores[0])


async def test_plain_full_text_searches_the_words_as_written() -> None:
    store = StubStore(memories=200, zed_degree=3)
    engine = SearchEngine(store, CachedQueryEmbedder(HashingEmbedder(16)), SearchConfig(inflect_terms=False))  # type: ignore[arg-type]
    await engine.search("Where is Zed's kayak?", Scope(user_id="u"), None, 10, None)
    assert ("fulltext", ["zed", "kayak"]) in store.calls


async def test_the_full_text_search_starts_before_linking_and_learns_the_tenants_hubs() -> None:
    store = StubStore(memories=200, zed_degree=150)
    engine = SearchEngine(store, CachedQueryEmbedder(HashingEmbedder(16)), SearchConfig())  # type: ignore[arg-type]
    first = await engine.search("Where is Zed's kayak?", Scope(user_id="u"), None, 10, None)
    # Started with every term beside linking; linking found the hub, so it ran again without it.
    assert [c[1] for c in store.calls if c[0] == "fulltext"] == [with_inflections(["zed", "kayak"]),
                                                                  with_inflections(["kayak"])]
    store.calls.clear()
    second = await engine.search("Where is Zed's kayak?", Scope(user_id="u"), None, 10, None)
    # The tenant's hub is known now: one full-text search, the one the answer needs.
    assert [c[1] for c in store.calls if c[0] == "fulltext"] == [with_inflections(["kayak"])]
    assert [r["id"] for r in second["results"]] == [r["id"] for r in first["results"]]
