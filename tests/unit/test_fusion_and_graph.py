from __future__ import annotations

from powermem.search.fusion import reciprocal_rank_fusion
from powermem.search.graph import rank_memories
from powermem.stores.base import RelationRow, Subgraph


def test_rrf_is_normalised_to_one_for_a_unanimous_winner() -> None:
    fused = reciprocal_rank_fusion({"a": [1, 2, 3], "b": [1, 3]}, {"a": 1.0, "b": 1.0}, 60)
    assert fused[1] == 1.0
    assert fused[3] > fused[2]
    assert all(0 <= v <= 1 for v in fused.values())


def test_rrf_weights_and_disabled_signals() -> None:
    fused = reciprocal_rank_fusion({"a": [1], "b": [2]}, {"a": 2.0, "b": 1.0}, 60)
    assert fused[1] > fused[2]
    assert reciprocal_rank_fusion({"a": [1]}, {"a": 0.0}, 60) == {}


def relation(rid: int, src: int, dst: int, memory: int) -> RelationRow:
    return RelationRow(rid, f"e{src}", "KNOWS", f"e{dst}", "fact", memory, "t", None, src, dst)


def test_pagerank_reaches_two_hops_and_prefers_closer_memories() -> None:
    graph = Subgraph(
        relations=[relation(1, 10, 20, 100), relation(2, 20, 30, 101)],
        mentions=[(100, 10), (101, 20), (102, 30), (103, 99)],
        degrees={10: 1, 20: 1, 30: 1, 99: 1},
    )
    ranking = rank_memories(graph, [], {10: 1.0}, {})
    scores = ranking.memory_scores
    assert 102 in scores and 103 not in scores
    assert scores[100] > scores[101] > scores[102]
    assert len(ranking.relations) == 2


def test_hub_entities_carry_less_weight() -> None:
    graph = Subgraph(mentions=[(1, 5), (2, 5), (3, 6)], degrees={5: 1000, 6: 1})
    scores = rank_memories(graph, [], {5: 1.0, 6: 1.0}, {}).memory_scores
    assert scores[3] > scores[1]
