"""The embedded store's graph tenancy, driven with write plans (API.md, "The graph's tenancy")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from powermem.config import StoreConfig
from powermem.stores.base import MemoryChange, Scope, WritePlan
from powermem.stores.embedded.engine import SqliteEngine
from powermem.stores.embedded.store import EmbeddedStore
from tests.support.embedded_graph import (
    AT,
    DIMS,
    axis,
    consistent,
    count,
    entity,
    new_memory,
    relation,
)

USER_AGENT = Scope("alice", "bot")
USER = Scope("alice")
AGENT = Scope(agent_id="bot")
RUN_1 = Scope(run_id="r1")
RUN_2 = Scope(run_id="r2")
TENANTS = [USER_AGENT, USER, AGENT, RUN_1, RUN_2]


@pytest.fixture
def engine(tmp_path: Path) -> SqliteEngine:
    store = SqliteEngine(tmp_path / "tenancy.db")
    store.initialize(DIMS)
    return store


def plan(scope: Scope, **parts: object) -> WritePlan:
    return WritePlan(scope=scope, at=AT, **parts)  # type: ignore[arg-type]


def fill(engine: SqliteEngine) -> None:
    """In each tenant: memory 100t+1 says Alice lives in Paris; the same name keys in every graph."""
    for t, scope in enumerate(TENANTS, start=1):
        engine.apply(plan(
            scope,
            creates=[new_memory(100 * t + 1, f"tenant {t} fact", scope, "alice", "paris")],
            entities=[entity(100 * t + 10, "alice"), entity(100 * t + 11, "paris")],
            relations=[relation(100 * t + 50, "alice", "LIVES_IN", "paris", 100 * t + 1)],
        ))


def test_every_graph_read_matches_the_exact_graph_tenant(engine: SqliteEngine) -> None:
    fill(engine)
    for t, scope in enumerate(TENANTS, start=1):
        own = {100 * t + 10, 100 * t + 11}
        assert {e.id for e in engine.entities_by_key(scope, ["alice", "paris"])} == own, scope
        assert [e.mentions for e in engine.entities_by_key(scope, ["paris"])] == [1]
        assert {e.id for e, _ in engine.similar_entities(scope, axis(100 * t + 11), 10, 0.5)} == {100 * t + 11}
        assert [(r.id, r.memory_ids) for r in engine.relations(scope, True, 100)] == [(100 * t + 50, (100 * t + 1,))]
        graph = engine.expand(scope, [], [100 * t + 1], hops=2, max_nodes=50)
        assert set(graph.entities) == own and [r.id for r in graph.relations] == [100 * t + 50]
        assert graph.relations[0].memory_ids == (100 * t + 1,)
        # Another graph's entity as a seed reaches nothing.
        other = 100 * (t % len(TENANTS) + 1) + 10
        assert engine.expand(scope, [other], [], hops=2, max_nodes=50).relations == []
    # A user scope does not read the graph of its (user, agent) pair, nor a run-only graph.
    assert engine.relations(Scope(run_id="r3"), True, 100) == []
    assert engine.entities_by_key(Scope("alice", "other"), ["alice"]) == []
    assert consistent(engine)


def test_stats_count_each_graph_once_in_its_own_row(engine: SqliteEngine) -> None:
    fill(engine)
    rows = {(s.user_id, s.agent_id): (s.memories, s.entities, s.relations) for s in engine.stats(Scope())}
    assert rows == {("alice", "bot"): (1, 2, 1), ("alice", None): (1, 2, 1), (None, "bot"): (1, 2, 1),
                    (None, None): (2, 4, 2)}
    assert [(s.memories, s.entities, s.relations) for s in engine.stats(RUN_1)] == [(1, 2, 1)]
    assert {(s.user_id, s.agent_id) for s in engine.stats(USER)} == {("alice", "bot"), ("alice", None)}


def test_run_only_scopes_have_graphs_of_their_own(engine: SqliteEngine) -> None:
    fill(engine)
    result = engine.apply(plan(RUN_2, invalidations=[150, 450, 550]))  # run 1's, run 1's, its own
    assert result.invalidated == (550,)
    assert [r.invalid_at for r in engine.relations(RUN_1, True, 10)] == [None]
    # Run 2 writes the same triple again: it is its own relation, not run 1's.
    engine.apply(plan(RUN_2, creates=[new_memory(600, "again", RUN_2, "alice", "paris")],
                      entities=[entity(601, "alice"), entity(602, "paris")],
                      relations=[relation(603, "alice", "LIVES_IN", "paris", 600)]))
    assert [r.id for r in engine.relations(RUN_1, False, 10)] == [450]
    assert [(r.id, r.memory_ids) for r in engine.relations(RUN_2, False, 10)] == [(603, (600,))]


def test_a_run_inside_a_user_graph_sees_the_relations_its_memories_assert(engine: SqliteEngine) -> None:
    in_a, in_b = Scope("alice", run_id="a"), Scope("alice", run_id="b")
    engine.apply(plan(
        USER,
        creates=[new_memory(1, "one", in_a, "alice", "paris"), new_memory(2, "two", in_b, "alice", "rome"),
                 new_memory(3, "three", in_b, "alice", "paris")],
        entities=[entity(10, "alice"), entity(11, "paris"), entity(12, "rome")],
        relations=[relation(20, "alice", "VISITED", "paris", 1, 3), relation(21, "alice", "VISITED", "rome", 2)],
    ))
    assert [r.id for r in engine.relations(in_a, False, 10)] == [20]
    assert [r.id for r in engine.relations(in_b, False, 10)] == [21, 20]
    assert [r.id for r in engine.relations(Scope("alice", run_id="c"), False, 10)] == []
    assert [r.id for r in engine.relations(USER, False, 10)] == [21, 20]
    graph = engine.expand(in_a, [10], [], hops=2, max_nodes=50)
    assert [r.id for r in graph.relations] == [20]
    assert {m for m, _ in graph.mentions} == {1}  # mentions by memories of the run only


def test_the_same_triple_gains_provenance_instead_of_a_copy(engine: SqliteEngine) -> None:
    first = engine.apply(plan(USER, creates=[new_memory(1, "one", USER, "alice", "paris")],
                              entities=[entity(10, "alice"), entity(11, "paris")],
                              relations=[relation(20, "alice", "LIKES", "paris", 1)]))
    # Planned before the first committed: a new relation id, the same triple, and the pipeline
    # listing the existing entities again (a MERGE that keeps their id and embedding).
    second = engine.apply(plan(USER, creates=[new_memory(2, "two", USER, "alice", "paris")],
                               entities=[entity(30, "alice", axis(5)), entity(31, "paris", axis(5))],
                               relations=[relation(32, "alice", "LIKES", "paris", 2),
                                          relation(33, "alice", "LIKES", "paris", 1, 2)]))
    assert first.related == (20,) and second.related == (32, 33)
    assert [(r.id, r.memory_ids) for r in engine.relations(USER, True, 10)] == [(20, (1, 2))]
    assert {e.id for e in engine.entities_by_key(USER, ["alice", "paris"])} == {10, 11}
    assert [e.id for e, _ in engine.similar_entities(USER, axis(10), 5, 0.9)] == [10]  # embedding kept
    # An invalidated relation takes no provenance: the triple is written anew.
    engine.apply(plan(USER, invalidations=[20]))
    third = engine.apply(plan(USER, relations=[relation(40, "alice", "LIKES", "paris", 2)]))
    assert third.related == (40,)
    assert [(r.id, r.memory_ids, r.invalid_at is None) for r in engine.relations(USER, True, 10)] == [
        (40, (2,), True), (20, (1, 2), False)]


def test_only_existing_memories_of_the_graph_are_provenance(engine: SqliteEngine) -> None:
    engine.apply(plan(USER_AGENT, creates=[new_memory(5, "elsewhere", USER_AGENT)]))
    result = engine.apply(plan(
        USER,
        creates=[new_memory(1, "one", USER, "alice", "paris")],
        entities=[entity(10, "alice"), entity(11, "paris"), entity(12, "bob")],
        relations=[relation(20, "alice", "LIKES", "paris", 1, 5, 999),   # 5: another graph; 999: none
                   relation(21, "alice", "KNOWS", "bob", 5, 999)],       # nothing asserts it here
    ))
    assert result.related == (20,)
    assert [(r.id, r.memory_ids) for r in engine.relations(USER, True, 10)] == [(20, (1,))]
    assert engine.entities_by_key(USER, ["bob"]) == []  # an entity of the plan that nothing links
    # A memory the same plan deletes asserts nothing.
    deleting = engine.apply(plan(USER, creates=[new_memory(2, "two", USER)], deletes=[2],
                                 entities=[entity(40, "carol")], relations=[relation(41, "alice", "KNOWS", "carol", 2)]))
    assert deleting.related == () and deleting.deleted == {2: "two"}
    assert engine.entities_by_key(USER, ["carol"]) == [] and consistent(engine)


def test_a_relation_goes_with_its_last_memory_and_entities_with_their_last_link(engine: SqliteEngine) -> None:
    engine.apply(plan(
        USER,
        creates=[new_memory(1, "one", USER, "alice"), new_memory(2, "two", USER, "alice"),
                 new_memory(3, "three", USER)],
        entities=[entity(10, "alice"), entity(11, "paris"), entity(12, "rome")],
        relations=[relation(20, "alice", "LIKES", "paris", 1, 2), relation(21, "alice", "VISITED", "rome", 3)],
    ))
    engine.apply(plan(USER, invalidations=[21]))
    engine.apply(plan(USER, deletes=[1]))
    assert [(r.id, r.memory_ids) for r in engine.relations(USER, True, 10)] == [(21, (3,)), (20, (2,))]
    engine.apply(plan(USER, deletes=[3]))  # an invalidated relation goes with its last memory too
    assert [r.id for r in engine.relations(USER, True, 10)] == [20]
    assert engine.entities_by_key(USER, ["rome"]) == []
    engine.apply(plan(USER, deletes=[2]))
    assert engine.relations(USER, True, 10) == []
    assert count(engine, "entities") == 0 and count(engine, "relation_memories") == 0 and consistent(engine)


def test_new_mentions_replace_old_ones_and_orphans_go(engine: SqliteEngine) -> None:
    engine.apply(plan(USER, creates=[new_memory(1, "one", USER, "alice")], entities=[entity(10, "alice")]))
    engine.apply(plan(USER, updates=[MemoryChange(1, AT, entity_keys=("bob",))], entities=[entity(11, "bob")]))
    assert [e.name_key for e in engine.entities_by_key(USER, ["alice", "bob"])] == ["bob"]
    # A memory links only entities of its own graph: here the plan's graph is another one.
    engine.apply(plan(USER, creates=[new_memory(2, "two", USER_AGENT, "carol")], entities=[entity(12, "carol")]))
    assert engine.entities_by_key(USER, ["carol"]) == [] and consistent(engine)


def test_invalidations_mark_valid_relations_of_the_plan_graph_only(engine: SqliteEngine) -> None:
    fill(engine)
    result = engine.apply(plan(USER, invalidations=[250, 150, 999]))
    assert result.invalidated == (250,)
    assert engine.apply(plan(USER, invalidations=[250])).invalidated == ()  # already invalid
    assert engine.relations(USER_AGENT, False, 10)[0].id == 150


def test_a_metadata_patch_merges_into_what_is_stored(engine: SqliteEngine) -> None:
    engine.apply(plan(USER, creates=[new_memory(1, "one", USER, metadata={"a": 1, "b": 2})]))
    result = engine.apply(plan(USER, updates=[MemoryChange(1, AT, metadata_patch={"b": None, "c": {"d": 3}})]))
    assert result.updated == {1: "one"}
    stored = engine.get(1, USER)
    assert stored is not None and stored.metadata == {"a": 1, "c": {"d": 3}}
    engine.apply(plan(USER, updates=[MemoryChange(1, AT, memory="uno", hash="h")]))  # no patch: kept
    stored = engine.get(1, USER)
    assert stored is not None and stored.metadata == {"a": 1, "c": {"d": 3}} and stored.memory == "uno"


async def test_gathered_patches_of_different_keys_all_survive(tmp_path: Path) -> None:
    stores = [EmbeddedStore(StoreConfig(provider="embedded", path=str(tmp_path / "p.db"))) for _ in range(2)]
    for store in stores:
        await store.initialize(DIMS)
    await stores[0].apply(plan(USER, creates=[new_memory(1, "one", USER)]))
    # Two stores on one file: two SQLite connections, like two processes.
    await asyncio.gather(*(
        stores[i % 2].apply(plan(USER, updates=[MemoryChange(1, AT, metadata_patch={f"k{i}": i})]))
        for i in range(20)
    ))
    stored = await stores[1].get(1, USER)
    assert stored is not None and stored.metadata == {f"k{i}": i for i in range(20)}
    for store in stores:
        await store.close()
