"""initialize() migrates an embedded store written by graph version 1 (tests/support/legacy_embedded.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from powermem.errors import ConfigError
from powermem.stores.base import Scope
from powermem.stores.embedded.engine import SqliteEngine
from powermem.stores.embedded.migrate import needs_migration
from powermem.stores.embedded.vectors import rank
from tests.support.embedded_graph import DIMS, axis, consistent, leftovers, tables, triples
from tests.support.legacy_embedded import LegacyStore

ALICE = Scope("alice")
ALICE_BOT = Scope("alice", "bot")
BOT = Scope(agent_id="bot")
RUN_1, RUN_2 = Scope(run_id="r1"), Scope(run_id="r2")
SHARED = Scope(run_id="any")  # version 1 put every run-only scope into one graph
INVALID_AT = "2026-01-02T00:00:00.000000+00:00"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    path = tmp_path / "legacy.db"
    store = LegacyStore(path, DIMS)
    for memory_id, text, scope, names in [
        (1, "Alice lives in Paris", ALICE, (10, 11)), (2, "Alice loves Paris", ALICE, (10, 11)),
        (3, "Rome is far", ALICE, (12,)), (4, "Paris in spring", ALICE, (11,)), (5, "Alice in Paris, says the bot", ALICE_BOT, (30, 31)),
        (40, "Bob knows Carol", Scope(run_id="r1"), (50, 51)), (41, "Bob met Carol", Scope(run_id="r2"), (50, 51)),
        (42, "Dan called", Scope(run_id="r2"), (52,)), (45, "Bob asked the bot", BOT, (55,)),
    ]:
        store.memory(memory_id, text, scope, axis(memory_id), {"n": memory_id})
        for entity_id in names:
            store.mention(memory_id, entity_id)
    for entity_id, name, scope in [
        (10, "Alice", ALICE), (11, "Paris", ALICE), (12, "Rome", ALICE), (13, "Lisbon", ALICE),
        (14, "Zed", ALICE), (15, "Madrid", ALICE), (30, "Alice", ALICE_BOT), (31, "Paris", ALICE_BOT),
        (50, "Bob", SHARED), (51, "Carol", SHARED), (52, "Dan", SHARED), (53, "Eve", SHARED),
        (56, "Frank", SHARED), (57, "Gina", SHARED), (58, "Hal", SHARED), (55, "Bob", BOT),
    ]:
        store.entity(entity_id, name, scope, axis(entity_id))
    for relation_id, scope, source, destination, kind, memory_id, invalid_at in [
        (20, ALICE, 10, 11, "LIVES_IN", 1, None),
        (21, ALICE, 10, 11, "VISITED", None, None),   # both ends mentioned by 1 and 2, one by 4
        (22, ALICE, 10, 12, "VISITED", 99, None),     # its memory deleted; no memory mentions both ends
        (23, ALICE, 13, 15, "NEAR", None, None),      # nothing mentions either end
        (32, ALICE_BOT, 30, 31, "LIVES_IN", 5, None),
        (60, SHARED, 50, 51, "KNOWS", 40, None),
        (61, SHARED, 50, 51, "MET", None, None),      # asserted in both runs
        (62, SHARED, 50, 52, "LIKES", None, INVALID_AT),
        (63, SHARED, 51, 53, "HATES", None, None),
        (64, SHARED, 56, 57, "KNOWS", None, None),
    ]:
        store.relation(relation_id, scope, source, destination, kind, memory_id, invalid_at)
    store.close()
    return path


def opened(path: Path) -> SqliteEngine:
    engine = SqliteEngine(path)
    engine.initialize(DIMS)
    return engine


def dump(engine: SqliteEngine) -> dict[str, list[tuple[Any, ...]]]:
    conn = engine._conn
    return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables(conn)}  # t: from sqlite_master


def test_memories_and_their_history_are_kept(legacy: Path) -> None:
    engine = opened(legacy)
    rows, total = engine.list_memories(Scope(), None, 100, 0, "id", False)
    assert total == 9
    assert [(m.id, m.metadata) for m in rows] == [(i, {"n": i}) for i in (1, 2, 3, 4, 5, 40, 41, 42, 45)]
    assert [h.event for h in engine.history(40, RUN_1)] == ["ADD"]
    assert [h.id for h in engine.fulltext_search(RUN_2, None, ["carol"], 5)] == [41]
    matrices, allowed, window = engine.vector_candidates(ALICE, None)
    assert [h.id for h in rank(matrices, axis(3), 1, allowed, None, window)] == [3]
    assert consistent(engine)


def test_relations_of_user_graphs_get_their_provenance(legacy: Path) -> None:
    engine = opened(legacy)
    assert triples(engine.relations(ALICE, True, 100)) == {
        ("alice", "LIVES_IN", "paris", (1,)), ("alice", "VISITED", "paris", (1, 2)),
        ("alice", "VISITED", "rome", (1, 2, 3)),
    }
    assert [r.id for r in engine.relations(ALICE, True, 100)] == [22, 21, 20]  # ids kept
    assert {r.origin for r in engine.relations(ALICE, True, 100)} == {"llm"}  # stored before origins: an LLM's
    assert {r.family for r in engine.relations(ALICE, True, 100)} == {None}  # stored before families: none
    assert triples(engine.relations(ALICE_BOT, True, 100)) == {("alice", "LIVES_IN", "paris", (5,))}
    # The relation nothing asserts is gone, and with it its ends; the entity nothing linked too.
    assert engine.entities_by_key(ALICE, ["lisbon", "madrid", "zed"]) == []


def test_the_shared_run_graph_is_split_per_run(legacy: Path) -> None:
    engine = opened(legacy)
    assert triples(engine.relations(RUN_1, True, 100)) == {
        ("bob", "KNOWS", "carol", (40,)), ("bob", "MET", "carol", (40,)), ("bob", "LIKES", "dan", (40,)),
        ("carol", "HATES", "eve", (40,)),
    }
    assert triples(engine.relations(RUN_2, True, 100)) == {
        ("bob", "MET", "carol", (41,)), ("bob", "LIKES", "dan", (41, 42)), ("carol", "HATES", "eve", (41,)),
    }
    assert {r.relationship: r.invalid_at for r in engine.relations(RUN_2, True, 100)}["LIKES"] == INVALID_AT
    keys = ["bob", "carol", "dan", "eve", "frank", "gina", "hal"]
    one = {e.name_key: e for e in engine.entities_by_key(RUN_1, keys)}
    two = {e.name_key: e for e in engine.entities_by_key(RUN_2, keys)}
    assert set(one) == {"bob", "carol", "dan", "eve"} and set(two) == {"bob", "carol", "dan", "eve"}
    assert not {e.id for e in one.values()} & ({e.id for e in two.values()} | set(range(50, 59)))
    assert (one["bob"].name, one["bob"].type, one["bob"].mentions, one["dan"].mentions) == ("Bob", "person", 1, 0)
    assert (two["bob"].mentions, two["dan"].mentions) == (1, 1)
    # Copies keep their embedding: entity linking finds them.
    assert [e.id for e, _ in engine.similar_entities(RUN_1, axis(50), 1, 0.9)] == [one["bob"].id]
    graph = engine.expand(RUN_2, [], [41], hops=1, max_nodes=50)  # LIKES is invalid: no Dan
    assert {e.name for e in graph.entities.values()} == {"Bob", "Carol", "Eve"}
    assert leftovers(engine, "\x1f\x1f") and not engine._conn.execute(
        "SELECT 1 FROM entities WHERE tenant = char(31) UNION ALL SELECT 1 FROM relations WHERE tenant = char(31)"
    ).fetchall()
    # An agent-only graph is no run-only graph: untouched.
    assert [(e.id, e.mentions) for e in engine.entities_by_key(BOT, ["bob"])] == [(55, 1)]
    assert consistent(engine)


def test_the_schema_is_the_current_one_and_migrating_again_changes_nothing(legacy: Path) -> None:
    engine = opened(legacy)
    conn = engine._conn
    assert conn.execute("SELECT value FROM meta WHERE key = 'graph_version'").fetchone() == ("2",)
    assert not needs_migration(conn)
    assert "memory_id" not in {r[1] for r in conn.execute("PRAGMA table_info(relations)")}
    before = dump(engine)
    engine.close()
    again = opened(legacy)
    assert dump(again) == before
    fresh = opened(legacy.with_name("fresh.db"))
    assert shape(again) == shape(fresh)


def shape(engine: SqliteEngine) -> dict[str, object]:
    """Every table's and index's columns, as a store created now has them."""
    conn = engine._conn
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")]
    return {n: conn.execute(f"PRAGMA index_xinfo('{n}')").fetchall() or conn.execute(f"PRAGMA table_info('{n}')").fetchall()
            for n in names}  # n: from sqlite_master


def test_a_store_of_other_dimensions_is_refused_unmigrated(legacy: Path) -> None:
    engine = SqliteEngine(legacy)
    with pytest.raises(ConfigError):
        engine.initialize(DIMS * 2)
    assert needs_migration(engine._conn)


def test_a_migrated_run_is_forgotten_whole(legacy: Path) -> None:
    engine = opened(legacy)
    assert engine.delete_scope(RUN_2) == 2
    assert leftovers(engine, "r2") == [] and engine.relations(RUN_2, True, 10) == []
    assert len(engine.relations(RUN_1, True, 10)) == 4 and consistent(engine)
