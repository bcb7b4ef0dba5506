from __future__ import annotations

import pytest

from powermem.search.graph import STEP, rank_memories
from powermem.stores.base import RelationRow, Subgraph


def relation(rid: int, src: int, dst: int, memory: int | None = None, kind: str = "KNOWS") -> RelationRow:
    return RelationRow(rid, f"e{src}", kind, f"e{dst}", "fact", () if memory is None else (memory,), "t", None, src, dst)


def chain() -> Subgraph:
    """Entity 10 -> 20 -> 30 by relations; memory 100 mentions 10, 101 mentions 20, 102 mentions 30."""
    return Subgraph(
        relations=[relation(1, 10, 20, 100), relation(2, 20, 30, 101)],
        mentions=[(100, 10), (101, 20), (102, 30), (103, 99)],
        degrees={10: 1, 20: 1, 30: 1, 99: 1},
    )


def test_reach_follows_relations_two_hops_and_prefers_closer_memories() -> None:
    ranking = rank_memories(chain(), [], {10: 1.0}, {})
    assert ranking.reach == pytest.approx({100: 1.0, 101: STEP, 102: STEP**2})
    assert 103 not in ranking.reach and ranking.context == {}
    assert [r.id for r in ranking.relations_to(102)] == [2, 1]
    assert ranking.relations_to(100) == [] and ranking.relations_to(103) == []
    assert len(ranking.relations) == 2


def test_rounds_bound_the_path_length() -> None:
    assert 102 not in rank_memories(chain(), [], {10: 1.0}, {}, rounds=2).reach
    assert 102 in rank_memories(chain(), [], {10: 1.0}, {}, rounds=3).reach


def test_a_frequently_mentioned_entity_shares_its_evidence() -> None:
    graph = Subgraph(mentions=[(1, 5), (2, 5), (3, 5), (4, 5), (9, 6)], degrees={5: 4, 6: 1})
    reach = rank_memories(graph, [], {5: 1.0, 6: 1.0}, {}).reach
    assert reach == pytest.approx({1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25, 9: 1.0})


def test_capped_mentions_do_not_rank_but_still_give_context() -> None:
    # Entity 5 has 1000 mentions; the store fetched two. Reach cannot rank an arbitrary sample,
    # context may use it (with a negligible 1/1000 share).
    graph = Subgraph(mentions=[(1, 5), (2, 5)], degrees={5: 1000})
    ranking = rank_memories(graph, [], {5: 1.0}, {1: 1.0})
    assert ranking.reach == {}
    assert ranking.context == pytest.approx({2: 1 / 1000})


def test_context_counts_only_the_other_hits_and_decays_along_the_conversation() -> None:
    adjacent = [(10, 8), (10, 9), (10, 11), (10, 12)]
    ranking = rank_memories(Subgraph(), adjacent, {}, {10: 0.8, 12: 0.4})
    # 10's own strength is no context for 10; 12 (two turns away) gives it a quarter of its own.
    assert ranking.context == pytest.approx(
        {9: 0.8 * STEP, 11: 0.8 * STEP, 8: 0.8 * STEP**2, 12: 0.8 * STEP**2, 10: 0.4 * STEP**2}
    )
    assert ranking.reach == {}


def test_context_is_the_best_path_not_a_sum() -> None:
    adjacent = [(1, 2), (3, 2)]
    context = rank_memories(Subgraph(), adjacent, {}, {1: 0.6, 3: 0.6}).context
    assert context[2] == pytest.approx(0.6 * STEP)


def test_conversation_edges_do_not_carry_reach() -> None:
    graph = Subgraph(mentions=[(1, 5)], degrees={5: 1})
    ranking = rank_memories(graph, [(1, 2)], {5: 1.0}, {})
    assert ranking.reach == {1: 1.0}


def test_shared_specific_names_connect_hits() -> None:
    graph = Subgraph(mentions=[(1, 5), (2, 5), (2, 6), (3, 6)], degrees={5: 2, 6: 40})
    context = rank_memories(graph, [], {}, {1: 1.0}).context
    assert context[2] == pytest.approx(0.5)
    assert context[3] == pytest.approx(0.5 / 40)


def test_nothing_to_start_from() -> None:
    ranking = rank_memories(chain(), [], {}, {})
    assert ranking.reach == {} and ranking.context == {} and ranking.memory_scores == {}
    assert rank_memories(Subgraph(), [], {10: 1.0}, {4: 1.0}).memory_scores == {}


def test_a_stating_relation_gives_its_memories_the_evidence_of_its_ends() -> None:
    # 10 -[LIVES_IN]-> 30, asserted by memory 102; entity 10 is mentioned by 100 and 102 (degree 2).
    graph = Subgraph(relations=[relation(1, 10, 30, 102, "LIVES_IN")], mentions=[(100, 10), (102, 10)],
                     degrees={10: 2})
    assert rank_memories(graph, [], {10: 1.0}, {}).reach == pytest.approx({100: 0.5, 102: 0.5})
    ranking = rank_memories(graph, [], {10: 1.0}, {}, stating={1})
    assert ranking.reach == pytest.approx({100: 0.5, 102: 1.0})
    assert [r.id for r in ranking.relations_to(102)] == [1]
