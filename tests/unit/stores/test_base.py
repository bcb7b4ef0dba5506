"""The graph tenant key: one per (user, agent) pair, or per run when a scope has neither."""

from __future__ import annotations

from powermem.stores.base import Scope


def test_runs_of_one_user_share_the_user_graph() -> None:
    assert Scope("alice", None, "r1").graph_tenant == Scope("alice").graph_tenant
    assert Scope("alice", "bot", "r1").graph_tenant == Scope("alice", "bot").graph_tenant


def test_user_agent_pairs_are_distinct_graphs() -> None:
    keys = {Scope("alice").graph_tenant, Scope("alice", "bot").graph_tenant, Scope(None, "bot").graph_tenant}
    assert len(keys) == 3


def test_each_run_only_scope_has_its_own_graph() -> None:
    a, b = Scope(run_id="conv-a"), Scope(run_id="conv-b")
    assert a.graph_tenant != b.graph_tenant
    # A run-only key never equals a user/agent key, whatever the names.
    assert Scope(run_id="x").graph_tenant not in {Scope("x").graph_tenant, Scope(None, "x").graph_tenant}


def test_run_narrowing_applies_only_to_a_run_inside_a_user_or_agent_graph() -> None:
    assert Scope("alice", None, "r1").run_narrowed
    assert Scope(None, "bot", "r1").run_narrowed
    assert not Scope(run_id="r1").run_narrowed
    assert not Scope("alice").run_narrowed
