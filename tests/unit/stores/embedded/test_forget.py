"""delete_scope in the embedded store: nothing of the scope is left in any table."""

from __future__ import annotations

from pathlib import Path

import pytest

from powermem.stores.base import MemoryChange, Scope, WritePlan
from powermem.stores.embedded.engine import SqliteEngine
from tests.support.embedded_graph import AT, DIMS, consistent, count, entity, leftovers, new_memory, relation

# Ids and names chosen so that each one's text occurs only in rows of its own tenant.
X_AGENT = Scope("user-x", "agent-a")
X = Scope("user-x")
X_RUN = Scope("user-x", run_id="run-q")
Y = Scope("user-y", "agent-a")
A = Scope(agent_id="agent-a")
R = Scope(run_id="run-r")
R_OTHER = Scope(run_id="run-s")
TENANTS = [X_AGENT, X, X_RUN, Y, A, R, R_OTHER]


def plan(scope: Scope, **parts: object) -> WritePlan:
    return WritePlan(scope=scope, at=AT, **parts)  # type: ignore[arg-type]


@pytest.fixture
def engine(tmp_path: Path) -> SqliteEngine:
    """Per tenant: two memories, two entities, a relation asserted by both, an invalidated one by
    one, an updated and a deleted memory (history), and a relation of its own graph."""
    store = SqliteEngine(tmp_path / "forget.db")
    store.initialize(DIMS)
    for t, scope in enumerate(TENANTS, start=1):
        base = 1000 * t
        store.apply(plan(
            scope,
            creates=[new_memory(base + 1, f"first {t}", scope, "ann", "bo"),
                     new_memory(base + 2, f"second {t}", scope, "ann"),
                     new_memory(base + 3, f"third {t}", scope)],
            entities=[entity(base + 10, "ann"), entity(base + 11, "bo"), entity(base + 12, f"cy {t}")],
            relations=[relation(base + 20, "ann", "KNOWS", "bo", base + 1, base + 2),
                       relation(base + 21, "ann", "LIKES", f"cy {t}", base + 3)],
        ))
        store.apply(plan(scope, invalidations=[base + 21]))
        store.apply(plan(scope, updates=[MemoryChange(base + 2, AT, memory=f"second {t} again", hash="h2",
                                                      metadata_patch={"k": t})]))
        store.apply(plan(scope, creates=[new_memory(base + 4, f"fourth {t}", scope)]))
        store.apply(plan(scope, deletes=[base + 4]))
    assert consistent(store)
    return store


def snapshot(engine: SqliteEngine, scope: Scope) -> tuple[object, ...]:
    memories, total = engine.list_memories(scope, None, 100, 0, "id", False)
    history = [engine.history(m.id, scope) for m in memories]
    return memories, total, engine.relations(scope, True, 100), history


def others(scopes: list[Scope]) -> list[Scope]:
    return [s for s in TENANTS if s not in scopes]


def events(engine: SqliteEngine, tenant: Scope) -> int:
    """History events of exactly this (user, agent, run)."""
    sql = "SELECT count(*) FROM history WHERE user_id IS ? AND agent_id IS ? AND run_id IS ?"
    return int(engine._conn.execute(sql, (tenant.user_id, tenant.agent_id, tenant.run_id)).fetchone()[0])


@pytest.mark.parametrize(
    ("scope", "needle", "gone", "kept"),
    [
        (X, "user-x", [X_AGENT, X, X_RUN], [Y, R, R_OTHER]),
        (A, "agent-a", [X_AGENT, Y, A], [X_RUN, R, R_OTHER]),
        (X_AGENT, "user-x\x1fagent-a", [X_AGENT], [X_RUN, Y, R, R_OTHER]),
    ],
)
def test_forgetting_a_user_or_agent_leaves_nothing_of_it(
    engine: SqliteEngine, scope: Scope, needle: str, gone: list[Scope], kept: list[Scope]
) -> None:
    before = {s: snapshot(engine, s) for s in kept}
    assert leftovers(engine, needle) and all(events(engine, s) == 6 for s in gone)
    assert engine.delete_scope(scope) == 3 * len(gone)
    assert leftovers(engine, needle) == []
    for s in gone:
        assert engine.list_memories(s, None, 10, 0, "id", False)[1] == 0
        assert engine.relations(s, True, 10) == [] and events(engine, s) == 0  # the deleted memory's too
    assert {s: snapshot(engine, s) for s in kept} == before
    assert consistent(engine)


def test_forgetting_a_run_takes_its_memories_events_and_own_graph(engine: SqliteEngine) -> None:
    kept = {s: snapshot(engine, s) for s in others([R])}
    assert engine.delete_scope(R) == 3
    assert leftovers(engine, "run-r") == [] and events(engine, R) == 0
    assert {s: snapshot(engine, s) for s in others([R])} == kept
    assert consistent(engine)


def test_forgetting_a_run_inside_a_user_graph_keeps_what_other_runs_assert(engine: SqliteEngine) -> None:
    # X and X_RUN share X's graph: the fixture's run-q memories already assert X's relation 2020.
    # Two more run-q memories: one asserting a relation alone, one asserting 2020 too.
    engine.apply(plan(X_RUN, creates=[new_memory(9001, "run q only", X_RUN, "ann"),
                                      new_memory(9002, "run q too", X_RUN, "ann")],
                      entities=[entity(9010, "ann"), entity(9011, "dee")],
                      relations=[relation(9020, "ann", "MET", "dee", 9001),
                                 relation(9021, "ann", "KNOWS", "bo", 9002)]))
    x_relations = {(r.id, r.memory_ids) for r in engine.relations(X, True, 100)}
    assert {(2020, (2001, 2002, 3001, 3002, 9002)), (9020, (9001,)), (3021, (3003,))} <= x_relations
    assert engine.delete_scope(X_RUN) == 5
    assert leftovers(engine, "run-q") == [] and events(engine, X_RUN) == 0
    # X's graph spans runs: what its other memories assert stays, with run-q's memories removed.
    assert {(r.id, r.memory_ids) for r in engine.relations(X, True, 100)} == {(2020, (2001, 2002)), (2021, (2003,))}
    assert engine.entities_by_key(X, ["dee", "cy 3"]) == []  # linked by run-q alone
    assert consistent(engine)


def test_forgetting_everything_empties_every_table(engine: SqliteEngine) -> None:
    assert engine.delete_scope(Scope()) == 3 * len(TENANTS)
    for table in ("memories", "memory_fts", "entities", "mentions", "relations", "relation_memories", "history"):
        assert count(engine, table) == 0, table


def test_a_graph_without_memories_is_forgotten_too(engine: SqliteEngine) -> None:
    # As a store written before provenance may hold: entities and a relation nothing supports.
    engine._conn.execute("DELETE FROM mentions WHERE memory_id = 2001")
    engine._conn.execute("DELETE FROM relation_memories WHERE memory_id IN (2001, 2002, 2003)")
    engine._conn.execute("DELETE FROM memories WHERE tenant LIKE 'user-x%'")
    assert engine.delete_scope(X) == 0
    assert leftovers(engine, "user-x") == []
