"""Search through the graph, on both stores: relations, invalidation, tenants, limits, syntax.

The graphs are written with ``store.apply(WritePlan(...))`` so each test controls exactly
which entities, mentions and relations exist. Each memory that must not get conversation
context from its insertion order is given its own ``run_id`` (adjacency stays within a run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.embeddings.hashing import HashingEmbedder
from powermem.filters import now_timestamp
from powermem.ids import SnowflakeGenerator
from powermem.search.calibration import RELEVANT
from powermem.stores.base import EntityInput, NewMemory, RelationInput, Scope, WritePlan
from tests.conftest import store_section

IDS = SnowflakeGenerator(7)
EMBEDDER = HashingEmbedder(64)  # the memory_config fixture's embedder
QUESTION = "What does Lena's violin teacher's wife do?"


@dataclass
class Graph:
    """A hand-written tenant: memories (text, entity keys, run), entities, relations."""

    user: str
    memories: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)
    relations: list[tuple[str, str, str, int]] = field(default_factory=list)  # source, type, target, memory index
    ids: list[int] = field(default_factory=list)
    relation_ids: dict[str, int] = field(default_factory=dict)

    def plan(self) -> WritePlan:
        at = now_timestamp()
        scope = Scope(user_id=self.user)
        self.ids = [IDS.next_id() for _ in self.memories]
        vectors = EMBEDDER.embed_sync([text for text, _, _ in self.memories])
        creates = [
            NewMemory(memory_id, text, f"h{memory_id}", vector, Scope(user_id=self.user, run_id=run), {"n": n}, at, keys)
            for n, (memory_id, (text, keys, run), vector) in enumerate(zip(self.ids, self.memories, vectors, strict=True))
        ]
        keys = sorted({k for _, ks, _ in self.memories for k in ks} | {k for s, _, d, _ in self.relations for k in (s, d)})
        names = EMBEDDER.embed_sync([k.title() for k in keys])
        entities = [EntityInput(IDS.next_id(), k.title(), k, "person", v) for k, v in zip(keys, names, strict=True)]
        relations = []
        for source, kind, target, index in self.relations:
            self.relation_ids[kind] = IDS.next_id()
            fact = f"{source.title()} {kind.lower().replace('_', ' ')} {target.title()}"
            relations.append(RelationInput(self.relation_ids[kind], source, target, kind, fact, (self.ids[index],), at, at))
        return WritePlan(scope=scope, creates=creates, entities=entities, relations=relations, at=at)

    def id_of(self, text: str) -> int:
        return self.ids[[t for t, _, _ in self.memories].index(text)]


ANSWER = "Giulia bakes sourdough bread every Sunday"


def lena_graph(user: str = "lena", answer: str = ANSWER, kinds: Sequence[str] = ("STUDIES_WITH", "MARRIED_TO")) -> Graph:
    """Lena -> Marco -> Giulia: the answer mentions only Giulia and shares no word with QUESTION."""
    graph = Graph(user)
    graph.memories = [
        ("Lena takes violin lessons from Marco", ("lena", "marco"), "r1"),
        ("Marco got married last spring", ("marco",), "r2"),
        (answer, ("giulia",), "r3"),
        # Close to the question in words (vector and full-text), but about no one in the graph.
        ("The violin teacher at the school is strict", (), "chat"),
        ("What does a violin teacher earn?", (), "chat"),
        # Close in spelling only (the hashing embedder): above the answer for vector search.
        ("Violins and violas need new strings", (), "chat"),
        ("Teachers' lounges are quiet", (), "chat"),
        ("Wifely duties were a Victorian idea", (), "chat"),
        ("Lenient rules do not help anyone", (), "chat"),
    ]
    graph.relations = [("lena", kinds[0], "marco", 0), ("marco", kinds[1], "giulia", 1)]
    return graph


async def write(memory: AsyncMemory, graph: Graph) -> Graph:
    store, _, _ = await memory._ready()
    await store.apply(graph.plan())
    return graph


def preset(memory_config: dict[str, Any], name: str) -> dict[str, Any]:
    return {**memory_config, "search": {"preset": name}}


async def search(config: dict[str, Any], query: str, **kwargs: Any) -> dict[str, Any]:
    async with AsyncMemory(config) as m:
        return await m.search(query, **kwargs)


def texts(found: dict[str, Any]) -> list[str]:
    return [r["memory"] for r in found["results"]]


def facts(found: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["source"], r["relationship"], r["destination"]) for r in found["relations"]}


# -- (1) two hops through relations ------------------------------------------------------------


async def test_answer_two_relations_away_is_found_by_hybrid_not_by_vector(
    memory: AsyncMemory, memory_config: dict[str, Any]
) -> None:
    await write(memory, lena_graph())
    vector = await search(preset(memory_config, "vector"), QUESTION, user_id="lena", limit=5)
    assert ANSWER not in texts(vector)
    hybrid = await search(preset(memory_config, "hybrid"), QUESTION, user_id="lena", limit=5)
    assert ANSWER in texts(hybrid)
    answer = next(r for r in hybrid["results"] if r["memory"] == ANSWER)
    assert answer["scores"].get("vector", 0.0) == 0.0 and "fulltext" not in answer["scores"]
    assert answer["scores"]["graph"] > 0
    assert {("Lena", "STUDIES_WITH", "Marco"), ("Marco", "MARRIED_TO", "Giulia")} <= facts(hybrid)
    assert texts(hybrid)[0] == "Lena takes violin lessons from Marco"


async def test_graph_only_search_follows_the_relations(memory: AsyncMemory, memory_config: dict[str, Any]) -> None:
    await write(memory, lena_graph())
    config = {**memory_config, "search": {"vector": False, "fulltext": False, "graph": True}}
    found = await search(config, QUESTION, user_id="lena", limit=10)
    # Only what the query's name leads to: Lena's memory first, then one and two relations away.
    assert texts(found)[0] == "Lena takes violin lessons from Marco"
    assert set(texts(found)[1:]) == {"Marco got married last spring", ANSWER}
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)


# -- (2) invalidated relations -----------------------------------------------------------------


async def test_invalidated_relations_are_not_followed(memory: AsyncMemory, memory_config: dict[str, Any]) -> None:
    graph = await write(memory, lena_graph())
    store, _, _ = await memory._ready()
    await store.apply(WritePlan(scope=Scope(user_id="lena"), invalidations=[graph.relation_ids["MARRIED_TO"]],
                                at=now_timestamp()))
    hybrid = await search(preset(memory_config, "hybrid"), QUESTION, user_id="lena", limit=5)
    assert ANSWER not in texts(hybrid)
    assert ("Marco", "MARRIED_TO", "Giulia") not in facts(hybrid)
    assert ("Lena", "STUDIES_WITH", "Marco") in facts(hybrid)
    graph_only = {**memory_config, "search": {"vector": False, "fulltext": False, "graph": True}}
    assert ANSWER not in texts(await search(graph_only, QUESTION, user_id="lena", limit=10))


# -- (3) tenants -------------------------------------------------------------------------------


async def test_expansion_never_crosses_tenants(memory: AsyncMemory, memory_config: dict[str, Any]) -> None:
    mine = await write(memory, lena_graph("lena"))
    theirs = await write(memory, lena_graph("mallory", "Giulia sells secrets to rivals", ("SPIES_ON", "PAYS")))
    hybrid = preset(memory_config, "hybrid")
    graph_only = {**memory_config, "search": {"vector": False, "fulltext": False, "graph": True}}
    for config in (hybrid, graph_only):
        found = await search(config, QUESTION, user_id="lena", limit=30)
        assert {r["id"] for r in found["results"]} <= set(mine.ids)
        assert {r["user_id"] for r in found["results"]} == {"lena"}
        assert {kind for _, kind, _ in facts(found)} <= {"STUDIES_WITH", "MARRIED_TO"}
        other = await search(config, "Giulia secrets Lena Marco", user_id="mallory", limit=30)
        assert other["results"] and {r["id"] for r in other["results"]} <= set(theirs.ids)
        assert {kind for _, kind, _ in facts(other)} <= {"SPIES_ON", "PAYS"}
    # Entities span a user's runs, memories do not: a run-scoped search returns that run only.
    in_run = await search(hybrid, QUESTION, user_id="lena", run_id="r1", limit=30)
    assert texts(in_run) == ["Lena takes violin lessons from Marco"]
    assert (await search(graph_only, QUESTION, user_id="nobody", limit=30))["results"] == []


# -- (4) limit and threshold -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hybrid", "vector", "fulltext", "vector+fulltext"])
async def test_limit_and_threshold(memory: AsyncMemory, memory_config: dict[str, Any], name: str) -> None:
    await write(memory, lena_graph())
    config = preset(memory_config, name)
    everything = await search(config, QUESTION, user_id="lena", limit=100)
    scores = [r["score"] for r in everything["results"]]
    assert scores and scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert all(isinstance(r["scores"], dict) for r in everything["results"])
    for limit in (1, 2, 3):
        found = await search(config, QUESTION, user_id="lena", limit=limit)
        assert [r["id"] for r in found["results"]] == [r["id"] for r in everything["results"][:limit]]
    middle = scores[len(scores) // 2]
    above = await search(config, QUESTION, user_id="lena", limit=100, threshold=middle)
    assert [r["id"] for r in above["results"]] == [r["id"] for r in everything["results"] if r["score"] >= middle]
    assert (await search(config, QUESTION, user_id="lena", limit=100, threshold=0.0))["results"] == everything["results"]
    if scores[0] < 1.0:
        assert (await search(config, QUESTION, user_id="lena", threshold=1.0))["results"] == []
    capped = await search(config, QUESTION, user_id="lena", limit=1, threshold=middle)
    assert [r["id"] for r in capped["results"]] == [everything["results"][0]["id"]]


async def test_a_memory_holding_the_query_scores_high_and_an_unrelated_one_low(
    memory: AsyncMemory, memory_config: dict[str, Any]
) -> None:
    await memory.add("Quokkas live on Rottnest Island", user_id="q", infer=False)
    await memory.add("Penguins live in Antarctica", user_id="q", infer=False)
    for name in ("vector", "fulltext", "vector+fulltext"):
        found = (await search(preset(memory_config, name), "quokkas rottnest", user_id="q", limit=2))["results"]
        assert found[0]["memory"] == "Quokkas live on Rottnest Island"
        assert 0.9 < found[0]["score"] < 1.0  # a probability: every word matched, still not certainty
        assert all(r["score"] < RELEVANT for r in found[1:])  # the penguins share no word with the query


# -- (5) query syntax --------------------------------------------------------------------------

SYNTAX = [
    'AND OR NOT ( ) " * ~ : \\ /',
    "NOT",
    '"unbalanced quote',
    "((((",
    "violin*",
    "violin~2",
    "memory:violin",
    "C:\\Users\\lena\\violin",
    "/violin.*/",
    "violin AND NOT teacher OR (wife:*)",
    "\\",
    "-violin +teacher",
    "violin^4 teacher!",
    "[a TO z] {1 TO 2}",
    "&& || !",
]


@pytest.mark.parametrize("name", ["hybrid", "fulltext"])
async def test_search_syntax_is_searched_as_text(memory: AsyncMemory, memory_config: dict[str, Any], name: str) -> None:
    await write(memory, lena_graph())
    await memory.add("C++ and C# notes: a/b AND (c OR d) NOT e", user_id="lena", infer=False)
    config = preset(memory_config, name)
    async with AsyncMemory(config) as m:
        for query in SYNTAX:
            found = await m.search(query, user_id="lena", limit=5)
            assert set(found) == {"results", "relations"}
            assert all(r["user_id"] == "lena" for r in found["results"])
        found = await m.search("violin*", user_id="lena", limit=5)
        assert any("violin" in r["memory"].lower() for r in found["results"])
        notes = await m.search("notes: a/b (c OR d)", user_id="lena", limit=1)
        assert texts(notes) == ["C++ and C# notes: a/b AND (c OR d) NOT e"]


# -- (6) the same ranking on both stores --------------------------------------------------------

PARITY_QUERIES = [QUESTION, "violin lessons", "Who did Marco marry?", "Giulia", "strings for violas", "Lena"]


def _ranked(found: dict[str, Any]) -> list[tuple[float, frozenset[int]]]:
    """Results as groups of equal score, best first: the order within a tie is free."""
    groups: dict[float, set[int]] = {}
    for r in found["results"]:
        groups.setdefault(round(r["score"], 4), set()).add(r["id"])
    return [(score, frozenset(ids)) for score, ids in sorted(groups.items(), reverse=True)]


@pytest.mark.neo4j
async def test_both_stores_rank_alike(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    embedding = {"provider": "hashing", "dims": 64}
    configs = {kind: {"store": store_section(kind, tmp_path, request), "embedding": embedding,
                      "llm": {"provider": "none"}} for kind in ("embedded", "neo4j")}
    graph, other = lena_graph(), lena_graph("mallory", "Giulia sells secrets to rivals", ("SPIES_ON", "PAYS"))
    plans = [graph.plan(), other.plan()]  # the same ids and vectors for both stores
    for config in configs.values():
        async with AsyncMemory(config) as m:
            await m.reset()
            store, _, _ = await m._ready()
            for plan in plans:
                await store.apply(plan)
    for name in ("hybrid", "vector", "fulltext", "vector+fulltext"):
        for query in PARITY_QUERIES:
            ranked = {}
            for kind, config in configs.items():
                found = await search(preset(config, name), query, user_id="lena", limit=5)
                ranked[kind] = (_ranked(found), sorted(facts(found)))
            assert ranked["embedded"] == ranked["neo4j"], (name, query)


# -- hub names ---------------------------------------------------------------------------------

CHATTER = ["the weather is grey again", "I had soup for lunch", "the bus was late", "my phone died", "long day",
           "watched a film", "need more coffee", "the cat is asleep", "fixed the sink", "bought new socks"]


async def test_a_name_most_memories_mention_is_not_a_full_text_term(
    memory: AsyncMemory, memory_config: dict[str, Any]
) -> None:
    """'Zed' is in every turn of this conversation: inside the tenant it says nothing, although
    the store's full-text statistics (shared by all tenants) would rate it rare."""
    turns = [f"Zed: {CHATTER[i % len(CHATTER)]} ({i})" for i in range(70)] + ["Zed: I paddled my kayak to the island"]
    await memory.add([{"role": "user", "content": t} for t in turns], user_id="zed", infer=False)
    await memory.add("Amy: Zed owes me a kayak paddle", user_id="amy", infer=False)
    found = await search(preset(memory_config, "hybrid"), "Where did Zed paddle the kayak?", user_id="zed", limit=10)
    assert found["results"][0]["memory"] == "Zed: I paddled my kayak to the island"
    assert [r["memory"] for r in found["results"] if "fulltext" in r["scores"]] == [found["results"][0]["memory"]]
    # The plain full-text preset does no entity linking: the name is searched like any word.
    plain = await search(preset(memory_config, "fulltext"), "Where did Zed paddle the kayak?", user_id="zed", limit=10)
    assert len(plain["results"]) == 10


async def test_a_name_in_a_small_tenant_stays_a_full_text_term(
    memory: AsyncMemory, memory_config: dict[str, Any]
) -> None:
    turns = [f"Zed: {text}" for text in CHATTER] + ["Zed: I paddled my kayak to the island"]
    await memory.add([{"role": "user", "content": t} for t in turns], user_id="zed", infer=False)
    found = await search(preset(memory_config, "hybrid"), "Where did Zed paddle the kayak?", user_id="zed", limit=5)
    assert found["results"][0]["memory"] == "Zed: I paddled my kayak to the island"
    assert sum(1 for r in found["results"] if "fulltext" in r["scores"]) > 1


async def test_entity_lookups_report_how_many_memories_mention_each(memory: AsyncMemory) -> None:
    # Search tells hub names from these counts, without a query of its own.
    graph = await write(memory, lena_graph())
    store, _, _ = await memory._ready()
    scope = Scope(user_id=graph.user)
    by_key = {e.name_key: e.mentions for e in await store.entities_by_key(scope, ["lena", "marco", "giulia"])}
    assert by_key == {"lena": 1, "marco": 2, "giulia": 1}
    marco = EMBEDDER.embed_sync(["Marco"])[0]
    similar = await store.similar_entities(scope, marco, 3, -1.0)
    assert {e.name_key: e.mentions for e, _ in similar} == by_key
    assert similar[0][0].name_key == "marco"
