"""The Neo4j store's graph obeys the memories' tenancy (issue 12), checked at the store level.

Every graph read matches ``Scope.graph_tenant`` exactly (run-only scopes have their own graph),
runs inside a user/agent graph see the relations their memories assert, relations record and
lose their provenance, scope deletion leaves nothing of the scope, metadata patches merge
under the memory's lock, and a graph written by the previous version is migrated.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from powermem.config import StoreConfig
from powermem.filters import now_timestamp, parse_filters
from powermem.stores.base import (
    EntityInput,
    MemoryChange,
    NewMemory,
    RelationInput,
    Scope,
    WritePlan,
)
from powermem.stores.neo4j import Neo4jStore
from powermem.stores.neo4j.migration import GRAPH_VERSION
from tests.integration.test_neo4j_store import IDS, cypher, unit
from tests.support.legacy_neo4j import LegacyPlan, statement, write_legacy
from tests.support.neo4j import TEST_DIMS, neo4j_config_fixture, neo4j_store_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.neo4j

ALICE_BOT = Scope(user_id="alice", agent_id="travel-bot")
ALICE = Scope(user_id="alice")
BOT = Scope(agent_id="travel-bot")
RUN1 = Scope(run_id="r1")
RUN2 = Scope(run_id="r2")
TENANTS = [ALICE_BOT, ALICE, BOT, RUN1, RUN2]


def memory(text: str, scope: Scope, keys: tuple[str, ...] = (), metadata: dict[str, Any] | None = None) -> NewMemory:
    return NewMemory(id=IDS.next_id(), memory=text, hash=text, embedding=unit()[0], scope=scope,
                     metadata=metadata or {}, created_at=now_timestamp(), entity_keys=keys)


def entity(key: str, vector: np.ndarray | None = None) -> EntityInput:
    return EntityInput(id=IDS.next_id(), name=key.title(), name_key=key, type="thing",
                       embedding=unit()[0] if vector is None else vector)


def relation(source: str, rel: str, destination: str, *memory_ids: int) -> RelationInput:
    at = now_timestamp()
    return RelationInput(IDS.next_id(), source, destination, rel, f"{source} {rel} {destination}", memory_ids, at, at)


async def add(store: Neo4jStore, scope: Scope, text: str, keys: tuple[str, ...],
              relations: tuple[tuple[str, str, str], ...] = (), vectors: dict[str, np.ndarray] | None = None,
              ) -> tuple[NewMemory, list[RelationInput], Any]:
    """One memory of ``scope`` mentioning ``keys``, asserting ``relations``: the plan an add makes."""
    m = memory(text, scope, keys)
    rels = [relation(a, r, b, m.id) for a, r, b in relations]
    plan = WritePlan(scope=scope, creates=[m], entities=[entity(k, (vectors or {}).get(k)) for k in keys],
                     relations=rels, at=now_timestamp())
    return m, rels, await store.apply(plan)


async def relation_triples(store: Neo4jStore, scope: Scope, include_invalid: bool = True) -> set[tuple[str, str, str]]:
    return {(r.source, r.relationship, r.destination) for r in await store.relations(scope, include_invalid, 100)}


# -- exact graph tenant ---------------------------------------------------------------------


async def test_every_graph_read_matches_the_graph_tenant_exactly(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    vectors = {scope: unit()[0] for scope in TENANTS}
    written = {}
    for scope in TENANTS:
        m, rels, result = await add(neo4j_store, scope, f"Paris for {scope}", ("me", "paris"),
                                    (("me", "VISITS", "paris"),), {"paris": vectors[scope]})
        assert result.related == (rels[0].id,)
        written[scope] = m
    ids: dict[Scope, int] = {}
    for scope in TENANTS:
        found = await neo4j_store.entities_by_key(scope, ["paris"])
        assert len(found) == 1 and found[0].mentions == 1
        ids[scope] = found[0].id
        own = {e.id for e in await neo4j_store.entities_by_key(scope, ["me", "paris"])}
        # Exact scan: the tenant's own Paris scores 1, no other tenant's Paris shows up.
        similar = await neo4j_store.similar_entities(scope, vectors[scope], 10, -1.0)
        assert {e.id for e, _ in similar} == own
        assert similar[0][0].id == ids[scope] and similar[0][1] == pytest.approx(1.0, abs=1e-5)
        relations = await neo4j_store.relations(scope, True, 10)
        assert [(r.relationship, r.memory_ids) for r in relations] == [("VISITS", (written[scope].id,))]
        everything = await neo4j_store.expand(scope, sorted(ids.values()), [m.id for m in written.values()], 2, 50)
        assert set(everything.entities) == own
        assert [r.memory_ids for r in everything.relations] == [(written[scope].id,)]
        assert {mid for mid, _ in everything.mentions} == {written[scope].id}
    assert len(set(ids.values())) == len(TENANTS)  # five graphs, five Paris nodes
    stats = {(s.user_id, s.agent_id): (s.entities, s.relations) for s in await neo4j_store.stats(RUN1)}
    assert stats == {(None, None): (2, 1)}  # run r1's own graph, not r2's
    assert await neo4j_store.entities_by_key(Scope(user_id="alice", agent_id="other"), ["paris"]) == []


async def test_similar_entities_index_paths_match_the_graph_tenant(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    """With no exact scan, the index (SEARCH filtered on e.tenant on 2026.x servers, post-
    filtered queryNodes on 5.26) never returns another tenant's entity, however close."""
    shared = unit()[0]
    crowd = Scope(user_id="alice", agent_id="crowd")
    keys = tuple(f"c{i}" for i in range(60))
    await add(neo4j_store, crowd, "crowd", keys, vectors=dict.fromkeys(keys, shared))
    for scope in TENANTS:
        await add(neo4j_store, scope, "mine", ("paris",), vectors={"paris": shared})
    ann = Neo4jStore(neo4j_config.model_copy(update={"exact_scan_limit": 0}))
    try:
        await ann.initialize(TEST_DIMS)
        assert ann.uses_entity_search_clause == (int(ann.server_version.split(".")[0]) >= 2026)
        for scope in [*TENANTS, crowd]:
            own = {e.id for e in await ann.entities_by_key(scope, ["paris", *keys])}
            hits = await ann.similar_entities(scope, shared, 5, 0.5)
            assert hits and {e.id for e, _ in hits} <= own
            assert len(hits) == min(5, len(own))
        # Falls back to the post-filtered index when SEARCH finds fewer than k.
        assert [e.name_key for e, _ in await ann.similar_entities(RUN1, shared, 3, 0.5)] == ["paris"]
    finally:
        await ann.close()


async def test_an_agent_graph_is_not_the_user_graph(neo4j_store: Neo4jStore) -> None:
    """Issue 12, case 3: (alice, travel-bot) knows Paris; (alice) stating LIVES_IN Paris writes
    it in alice's own graph (and reports it), it is not skipped for a missing endpoint."""
    await add(neo4j_store, ALICE_BOT, "Alice flew to Paris", ("alice", "paris"), (("alice", "FLEW_TO", "paris"),))
    assert await neo4j_store.entities_by_key(ALICE, ["paris"]) == []
    _, rels, result = await add(neo4j_store, ALICE, "Alice lives in Paris", ("alice", "paris"),
                                (("alice", "LIVES_IN", "paris"),))
    assert result.related == (rels[0].id,)
    assert await relation_triples(neo4j_store, ALICE) == {("Alice", "LIVES_IN", "Paris")}
    assert await relation_triples(neo4j_store, ALICE_BOT) == {("Alice", "FLEW_TO", "Paris")}


async def test_run_only_scopes_have_graphs_of_their_own(neo4j_store: Neo4jStore) -> None:
    """Issue 12, cases 1 and 2: a run-only scope sees neither other runs nor other tenants."""
    await add(neo4j_store, Scope(user_id="bob"), "Bob secretly dates Carol", ("bob", "carol"),
              (("bob", "SECRETLY_DATES", "carol"),))
    _, first, _ = await add(neo4j_store, RUN1, "A likes B", ("a", "b"), (("a", "LIKES", "b"),))
    await add(neo4j_store, RUN2, "A hates B", ("a", "b"), (("a", "HATES", "b"),))
    assert await relation_triples(neo4j_store, RUN1) == {("A", "LIKES", "B")}
    assert await relation_triples(neo4j_store, RUN2) == {("A", "HATES", "B")}
    assert await relation_triples(neo4j_store, Scope(run_id="r3")) == set()
    # Run 2 can neither invalidate run 1's relation nor see its entities.
    result = await neo4j_store.apply(WritePlan(scope=RUN2, invalidations=[first[0].id], at=now_timestamp()))
    assert result.invalidated == ()
    assert [r.invalid_at for r in await neo4j_store.relations(RUN1, True, 10)] == [None]
    run1_b = await neo4j_store.entities_by_key(RUN1, ["b"])
    assert await neo4j_store.expand(RUN2, [run1_b[0].id], [], 2, 50) == await neo4j_store.expand(RUN2, [], [], 2, 50)
    result = await neo4j_store.apply(WritePlan(scope=RUN1, invalidations=[first[0].id], at=now_timestamp()))
    assert result.invalidated == (first[0].id,)
    again = await neo4j_store.apply(WritePlan(scope=RUN1, invalidations=[first[0].id], at=now_timestamp()))
    assert again.invalidated == ()  # already invalid: not marked twice


async def test_a_run_inside_a_user_graph_sees_the_relations_its_memories_assert(neo4j_store: Neo4jStore) -> None:
    r1, r2 = Scope(user_id="u", agent_id="a", run_id="r1"), Scope(user_id="u", agent_id="a", run_id="r2")
    m1, _, _ = await add(neo4j_store, r1, "x likes y", ("x", "y", "z"), (("x", "LIKES", "y"), ("y", "KNOWS", "z")))
    m2, _, _ = await add(neo4j_store, r2, "x hates w", ("x", "w", "y"), (("x", "HATES", "w"), ("y", "KNOWS", "z")))
    both = {("X", "LIKES", "Y"), ("Y", "KNOWS", "Z"), ("X", "HATES", "W")}
    assert await relation_triples(neo4j_store, Scope(user_id="u", agent_id="a")) == both
    assert await relation_triples(neo4j_store, r1) == {("X", "LIKES", "Y"), ("Y", "KNOWS", "Z")}
    assert await relation_triples(neo4j_store, r2) == {("X", "HATES", "W"), ("Y", "KNOWS", "Z")}
    knows = [r for r in await neo4j_store.relations(r2, False, 10) if r.relationship == "KNOWS"]
    assert knows[0].memory_ids == tuple(sorted((m1.id, m2.id)))
    x = (await neo4j_store.entities_by_key(r1, ["x"]))[0].id
    graph = await neo4j_store.expand(r1, [x], [], 3, 50)
    assert {(r.source, r.relationship, r.destination) for r in graph.relations} == {
        ("X", "LIKES", "Y"), ("Y", "KNOWS", "Z")}
    assert {e.name_key for e in graph.entities.values()} == {"x", "y", "z"}  # W only through run 2
    graph = await neo4j_store.expand(Scope(user_id="u", agent_id="a"), [x], [], 3, 50)
    assert {e.name_key for e in graph.entities.values()} == {"x", "y", "z", "w"}


# -- provenance ------------------------------------------------------------------------------


async def test_relations_record_the_memories_asserting_them(neo4j_store: Neo4jStore, neo4j_config: StoreConfig) -> None:
    scope = Scope(user_id="prov")
    m1, first, r1 = await add(neo4j_store, scope, "Alice lives in Paris", ("alice", "paris"),
                              (("alice", "LIVES_IN", "paris"),))
    m2, second, r2 = await add(neo4j_store, scope, "Alice's home is Paris", ("alice", "paris"),
                               (("alice", "LIVES_IN", "paris"),))
    # The second plan's relation joined the first's provenance: reported, not duplicated.
    assert r1.related == (first[0].id,) and r2.related == (second[0].id,)
    rows = await neo4j_store.relations(scope, True, 10)
    assert [(r.id, r.memory_ids) for r in rows] == [(first[0].id, tuple(sorted((m1.id, m2.id))))]

    # Cited memories that do not exist, or belong to another graph tenant, are not provenance;
    # a relation left with none, or with a missing end, is not written (nor reported).
    other, _, _ = await add(neo4j_store, Scope(user_id="other"), "elsewhere", ())
    m3 = memory("Alice likes jazz", scope, ("alice", "jazz"))
    likes = relation("alice", "LIKES", "jazz", m3.id, other.id, IDS.next_id())
    ghost = relation("alice", "HATES", "jazz", other.id)
    dangling = relation("alice", "KNOWS", "nobody", m3.id)
    result = await neo4j_store.apply(WritePlan(scope=scope, creates=[m3], entities=[entity("alice"), entity("jazz")],
                                               relations=[likes, ghost, dangling], at=now_timestamp()))
    assert result.related == (likes.id,)
    assert {(r.relationship, r.memory_ids) for r in await neo4j_store.relations(scope, True, 10)} == {
        ("LIVES_IN", tuple(sorted((m1.id, m2.id)))), ("LIKES", (m3.id,))}

    # Deleting a memory removes it from the provenance; the last one takes the relation along,
    # invalidated or not, and entities left with nothing go too.
    await neo4j_store.apply(WritePlan(scope=scope, invalidations=[first[0].id], at=now_timestamp()))
    await neo4j_store.apply(WritePlan(scope=scope, deletes=[m1.id], at=now_timestamp()))
    assert [r.memory_ids for r in await neo4j_store.relations(scope, True, 10) if r.relationship == "LIVES_IN"] == [
        (m2.id,)]
    result = await neo4j_store.apply(WritePlan(scope=scope, deletes=[m2.id, m3.id], at=now_timestamp()))
    assert sorted(result.deleted) == sorted((m2.id, m3.id))
    assert await neo4j_store.relations(scope, True, 10) == []
    assert await neo4j_store.entities_by_key(scope, ["alice", "paris", "jazz"]) == []
    left = await cypher(neo4j_config, "MATCH (e:Entity) WHERE e.user_id = 'prov' RETURN count(e) AS n")
    assert left == [{"n": 0}]


async def test_plan_entities_nothing_links_are_dropped_and_existing_ones_keep_their_embedding(
    neo4j_store: Neo4jStore,
) -> None:
    scope = Scope(user_id="plan-entities")
    paris = unit()[0]
    m, _, _ = await add(neo4j_store, scope, "Paris", ("paris",), vectors={"paris": paris})
    # The pipeline puts every entity it links into the plan, existing ones too; an entity the
    # plan names but nothing links to (here: "lonely") must not stay behind.
    again = memory("Paris again", scope, ("paris",))
    await neo4j_store.apply(WritePlan(scope=scope, creates=[again], entities=[entity("paris"), entity("lonely")],
                                      at=now_timestamp()))
    assert [e.name_key for e in await neo4j_store.entities_by_key(scope, ["paris", "lonely"])] == ["paris"]
    best = await neo4j_store.similar_entities(scope, paris, 1, -1.0)
    assert best[0][0].name_key == "paris" and best[0][1] == pytest.approx(1.0, abs=1e-5)
    assert best[0][0].mentions == 2
    # A plan of entities alone (no memory links them) leaves nothing.
    await neo4j_store.apply(WritePlan(scope=scope, entities=[entity("nobody")], relations=[
        relation("nobody", "KNOWS", "paris", m.id)], at=now_timestamp()))
    assert [e.name_key for e in await neo4j_store.entities_by_key(scope, ["nobody"])] == ["nobody"]
    await neo4j_store.apply(WritePlan(scope=scope, deletes=[m.id], at=now_timestamp()))
    assert await neo4j_store.entities_by_key(scope, ["nobody"]) == []


async def test_concurrent_plans_stating_one_fact_share_one_relation(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    scope = Scope(user_id="race", agent_id="bot")
    plans = []
    for i in range(12):
        m = memory(f"Alice knows Bob ({i})", scope, ("alice", "bob"))
        plans.append(WritePlan(scope=scope, creates=[m], entities=[entity("alice"), entity("bob")],
                               relations=[relation("alice", "KNOWS", "bob", m.id)], at=now_timestamp()))
    results = await asyncio.gather(*(neo4j_store.apply(plan) for plan in plans))
    assert [r.related for r in results] == [(p.relations[0].id,) for p in plans]
    rows = await neo4j_store.relations(scope, True, 100)
    assert len(rows) == 1 and rows[0].memory_ids == tuple(sorted(p.creates[0].id for p in plans))
    duplicates = await cypher(neo4j_config, "MATCH (e:Entity {user_id: 'race'}) RETURN count(e) AS n")
    assert duplicates == [{"n": 2}]


# -- metadata --------------------------------------------------------------------------------


async def test_concurrent_metadata_patches_all_survive(neo4j_store: Neo4jStore) -> None:
    """Issue 12, case 5: 20 gathered patches of different keys keep 20 keys."""
    scope = Scope(user_id="meta")
    m = memory("patched", scope, metadata={"keep": "yes", "drop": 1})
    await neo4j_store.apply(WritePlan(scope=scope, creates=[m], at=now_timestamp()))
    patches = [WritePlan(scope=scope, updates=[MemoryChange(m.id, now_timestamp(), metadata_patch={f"k{i}": i})],
                         at=now_timestamp()) for i in range(20)]
    await asyncio.gather(*(neo4j_store.apply(plan) for plan in patches))
    row = await neo4j_store.get(m.id, scope)
    assert row is not None and row.metadata == {"keep": "yes", "drop": 1, **{f"k{i}": i for i in range(20)}}
    # None removes a key, from the metadata and from what filters see.
    await neo4j_store.apply(WritePlan(scope=scope, updates=[
        MemoryChange(m.id, now_timestamp(), metadata_patch={"drop": None, "k3": "three"})], at=now_timestamp()))
    row = await neo4j_store.get(m.id, scope)
    assert row is not None and "drop" not in row.metadata and row.metadata["k3"] == "three" and len(row.metadata) == 21
    assert await neo4j_store.get_many([m.id], scope, parse_filters({"drop": {"exists": True}})) == []
    assert len(await neo4j_store.get_many([m.id], scope, parse_filters({"k3": "three", "k19": 19}))) == 1
    history = await neo4j_store.history(m.id, scope)
    assert [e.event for e in history] == ["ADD"] + ["UPDATE"] * 21


# -- complete deletion -----------------------------------------------------------------------


async def populate(store: Neo4jStore) -> dict[Scope, list[NewMemory]]:
    """Graphs of several shapes: one user with two agents and runs, an agent alone, two runs."""
    scopes = [Scope(user_id="x", agent_id="a", run_id="r"), Scope(user_id="x", agent_id="a", run_id="s"),
              Scope(user_id="x"), Scope(user_id="y", agent_id="a"), Scope(agent_id="a", run_id="r"),
              Scope(run_id="r"), Scope(run_id="s")]
    written: dict[Scope, list[NewMemory]] = {}
    for scope in scopes:
        for text in ("Alice knows Bob", "Bob likes tea"):
            m, _, _ = await add(store, scope, text, ("alice", "bob", "tea"),
                                (("alice", "KNOWS", "bob"), ("bob", "LIKES", "tea")))
            written.setdefault(scope, []).append(m)
    # A memory deleted earlier keeps its history until its scope is deleted.
    gone = written[scopes[0]].pop()
    await store.apply(WritePlan(scope=scopes[0], deletes=[gone.id], at=now_timestamp()))
    return written


async def leftovers(config: StoreConfig, field: str, value: str, tenants: list[str]) -> dict[str, int]:
    """What is left of a deleted scope: nodes with its field, or entities of its graph tenants."""
    nodes = await cypher(config, f"MATCH (n) WHERE n.{field} = $v OR (n:Entity AND n.tenant IN $t) "
                         "RETURN labels(n)[0] AS label, count(*) AS n", v=value, t=tenants)
    return {row["label"]: row["n"] for row in nodes}


async def dangling_provenance(config: StoreConfig) -> list[dict[str, Any]]:
    return await cypher(config, "MATCH (:Entity)-[r]->(:Entity) "
                        "WHERE size(r.memory_ids) = 0 OR any(i IN r.memory_ids WHERE NOT EXISTS { (:Memory {id: i}) }) "
                        "RETURN r.id AS id")


@pytest.mark.parametrize(("scope", "field", "value", "tenants"), [
    (Scope(user_id="x"), "user_id", "x", ["x\x1fa", "x\x1f"]),
    (Scope(agent_id="a"), "agent_id", "a", ["x\x1fa", "y\x1fa", "\x1fa"]),
    (Scope(run_id="r"), "run_id", "r", ["\x1f\x1fr"]),
], ids=["user", "agent", "run"])
async def test_delete_scope_leaves_nothing_of_the_scope(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig, scope: Scope, field: str, value: str, tenants: list[str]
) -> None:
    written = await populate(neo4j_store)
    doomed = [m for s, ms in written.items() if getattr(s, field) == value for m in ms]
    assert await neo4j_store.delete_scope(scope) == len(doomed)
    assert await leftovers(neo4j_config, field, value, tenants) == {}
    assert await dangling_provenance(neo4j_config) == []
    # Everything else is still there, relations with their own provenance only.
    for s, memories in written.items():
        if getattr(s, field) == value:
            continue
        assert {m.id for m in (await neo4j_store.list_memories(s, None, 100, 0, "id", False))[0]} >= {
            m.id for m in memories}
        relations = await neo4j_store.relations(s, True, 10)
        assert {(r.relationship, r.memory_ids) for r in relations} >= {("KNOWS", tuple(sorted(m.id for m in memories)))}
        assert len(await neo4j_store.history(memories[0].id, s)) == 1
    if field == "run_id":
        # A user graph keeps relations its other runs assert, without run r's memories.
        rows = await neo4j_store.relations(Scope(user_id="x", agent_id="a"), True, 10)
        assert {r.memory_ids for r in rows} == {
            tuple(sorted(m.id for m in written[Scope(user_id="x", agent_id="a", run_id="s")]))}


async def test_deleting_every_scope_leaves_an_empty_graph(neo4j_store: Neo4jStore, neo4j_config: StoreConfig) -> None:
    written = await populate(neo4j_store)
    assert await neo4j_store.delete_scope(Scope()) == sum(len(ms) for ms in written.values())
    counts = await cypher(neo4j_config, "MATCH (n) WHERE NOT n:PowermemMeta RETURN count(n) AS n")
    assert counts == [{"n": 0}]


# -- migration -------------------------------------------------------------------------------


async def test_initialize_migrates_a_graph_written_by_the_previous_version(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    v = {key: unit()[0] for key in ("alice", "acme", "jazz", "bob", "carol", "dave", "ghost", "paris", "rome", "tea", "oslo")}
    ids = {key: IDS.next_id() for key in ("A1", "A2", "B1", "R1", "R2", "S1", "gone")}
    rel = {key: IDS.next_id() for key in ("works", "likes", "knows", "hates", "near", "enjoys", "visits", "bob")}
    alice, bob = Scope(user_id="alice"), Scope(user_id="bob")
    run1, run2, run3 = Scope(run_id="r1"), Scope(run_id="r2"), Scope(run_id="r3")
    shared = {k: (IDS.next_id(), v[k]) for k in ("paris", "rome", "tea", "oslo")}
    await write_legacy(neo4j_config, [
        LegacyPlan(alice, entities={k: (IDS.next_id(), v[k]) for k in ("alice", "acme", "jazz", "bob", "carol", "dave", "ghost")},
                   memories=[(ids["A1"], "Alice works at Acme", ("alice", "acme"), unit()[0]),
                             (ids["A2"], "Alice likes jazz", ("alice", "jazz"), unit()[0])],
                   relations=[(rel["works"], "alice", "WORKS_AT", "acme", ids["A1"]),  # its memory exists
                              (rel["likes"], "alice", "LIKES", "jazz", None),  # A2 mentions both ends
                              (rel["knows"], "alice", "KNOWS", "bob", ids["B1"]),  # bob's memory: not alice's
                              (rel["hates"], "carol", "HATES", "dave", ids["gone"])]),  # nothing supports it
        LegacyPlan(bob, entities={"bob": (IDS.next_id(), v["bob"])},
                   memories=[(ids["B1"], "Bob", ("bob",), unit()[0])]),
        # The shared run-only graph of every conversation without user or agent.
        LegacyPlan(run1, entities=shared, memories=[(ids["R1"], "Paris is near Rome", ("paris", "rome"), unit()[0])],
                   relations=[(rel["near"], "paris", "NEAR", "rome", ids["R1"]),
                              (rel["visits"], "paris", "VISITED_BY", "oslo", None)]),
        LegacyPlan(run2, entities=shared, memories=[(ids["R2"], "Paris enjoys tea", ("paris", "tea"), unit()[0])],
                   relations=[(rel["enjoys"], "paris", "ENJOYS", "tea", None)]),
        LegacyPlan(run3, memories=[(ids["S1"], "nothing to say", (), unit()[0])]),
    ])
    # As the previous version left it: no provenance lists, one shared run-only tenant.
    legacy = await cypher(neo4j_config, "MATCH (e:Entity {tenant: $t}) RETURN count(e) AS n", t="\x1f")
    assert legacy == [{"n": 4}]

    for _ in range(2):  # idempotent: the second initialize finds the work done
        await neo4j_store.initialize(TEST_DIMS)
        assert await cypher(neo4j_config, "MATCH (m:PowermemMeta {key: 'graph_version'}) RETURN m.value AS v") == [
            {"v": GRAPH_VERSION}]
        for key, scope in (("A1", alice), ("A2", alice), ("B1", bob), ("R1", run1), ("R2", run2), ("S1", run3)):
            assert await neo4j_store.get(ids[key], scope) is not None
        assert {(r.relationship, r.memory_ids) for r in await neo4j_store.relations(alice, True, 10)} == {
            ("WORKS_AT", (ids["A1"],)), ("LIKES", (ids["A2"],)),
            ("KNOWS", tuple(sorted((ids["A1"], ids["A2"]))))}  # either end: alice's mentions
        assert {r.id for r in await neo4j_store.relations(alice, True, 10)} == {rel["works"], rel["likes"], rel["knows"]}
        assert [e.name_key for e in await neo4j_store.entities_by_key(alice, ["carol", "dave", "ghost", "bob"])] == [
            "bob"]  # carol and dave lost HATES, ghost never had anything: orphans gone
        # The shared tenant is split: each run has its copies, mentions and relations.
        assert {(r.relationship, r.memory_ids) for r in await neo4j_store.relations(run1, True, 10)} == {
            ("NEAR", (ids["R1"],)), ("VISITED_BY", (ids["R1"],))}
        assert {(r.relationship, r.memory_ids) for r in await neo4j_store.relations(run2, True, 10)} == {
            ("ENJOYS", (ids["R2"],)), ("VISITED_BY", (ids["R2"],))}
        assert await neo4j_store.relations(run3, True, 10) == []
        run1_entities = await neo4j_store.entities_by_key(run1, ["paris", "rome", "tea", "oslo"])
        run2_entities = await neo4j_store.entities_by_key(run2, ["paris", "rome", "tea", "oslo"])
        assert [(e.name_key, e.mentions) for e in run1_entities] == [("oslo", 0), ("paris", 1), ("rome", 1)]
        assert [(e.name_key, e.mentions) for e in run2_entities] == [("oslo", 0), ("paris", 1), ("tea", 1)]
        copies = {e.id for e in run1_entities + run2_entities}
        assert len(copies) == 6 and not copies & {i for i, _ in shared.values()}
        best = await neo4j_store.similar_entities(run2, v["paris"], 1, -1.0)
        assert best[0][0].name_key == "paris" and best[0][1] == pytest.approx(1.0, abs=1e-5)
        assert await cypher(neo4j_config, "MATCH (e:Entity {tenant: $t}) RETURN e.id", t="\x1f") == []
        assert await dangling_provenance(neo4j_config) == []
        assert await cypher(neo4j_config, "MATCH ()-[r]->() WHERE r.memory_id IS NOT NULL RETURN r.id") == []
    # And the migrated graph is forgotten like any other.
    await neo4j_store.delete_scope(run1)
    assert await leftovers(neo4j_config, "run_id", "r1", ["\x1f\x1fr1"]) == {}


async def test_an_entity_index_filtered_on_the_old_pair_is_recreated_on_the_graph_tenant(
    neo4j_store: Neo4jStore, neo4j_config: StoreConfig
) -> None:
    """2026.x servers filter entity searches in the index: an index that earlier versions
    declared WITH [e.user_id, e.agent_id] is dropped and recreated WITH [e.tenant]. A 5.26
    server cannot declare filter properties: its index is plain and searches post-filter."""
    if not neo4j_store.uses_search_clause:
        assert not neo4j_store.uses_entity_search_clause
        rows = await cypher(neo4j_config, "SHOW VECTOR INDEXES YIELD name, properties WHERE name = 'entity_embedding' "
                            "RETURN properties")
        assert rows == [{"properties": ["embedding"]}]
        return
    await cypher(neo4j_config, statement("drop_entity_index"))
    await cypher(neo4j_config, statement("create_filtered_entity_index"), dims=TEST_DIMS)
    stale = Neo4jStore(neo4j_config)
    try:
        await stale.initialize(TEST_DIMS)
        assert stale.uses_entity_search_clause
        rows = await cypher(neo4j_config, "SHOW VECTOR INDEXES YIELD name, properties WHERE name = 'entity_embedding' "
                            "RETURN properties")
        assert rows == [{"properties": ["embedding", "tenant"]}]
    finally:
        await stale.close()
