from __future__ import annotations

from powermem.search.fusion import reciprocal_rank_fusion


def test_rrf_is_normalised_to_one_for_a_unanimous_winner() -> None:
    fused = reciprocal_rank_fusion({"a": [1, 2, 3], "b": [1, 3]}, {"a": 1.0, "b": 1.0}, 10)
    assert fused[1] == 1.0
    assert fused[3] > fused[2]
    assert all(0 <= v <= 1 for v in fused.values())


def test_rrf_weights_and_disabled_signals() -> None:
    fused = reciprocal_rank_fusion({"a": [1], "b": [2]}, {"a": 2.0, "b": 1.0}, 10)
    assert fused[1] > fused[2]
    assert reciprocal_rank_fusion({"a": [1]}, {"a": 0.0}, 10) == {}


def test_an_enabled_signal_without_hits_still_counts_in_the_normalisation() -> None:
    # A memory first in vector and full-text, with nothing from the graph, scores 2/3 of a
    # memory first in all three: the score means the same whatever the query links to.
    fused = reciprocal_rank_fusion({"v": [1], "f": [1], "g": []}, {"v": 1.0, "f": 1.0, "g": 1.0}, 10)
    assert abs(fused[1] - 2 / 3) < 1e-12


def test_a_steep_constant_lets_a_top_hit_beat_a_pair_of_middling_ranks() -> None:
    # Item 7 is first in one list only; item 8 is 15th in both. With k=10 the single top hit
    # wins (1/11 > 2/25); with the classic k=60 the pair of middling ranks would (2/75 > 1/61).
    rankings = {"v": [7, *range(100, 113), 8], "f": [*range(200, 214), 8]}
    steep = reciprocal_rank_fusion(rankings, {"v": 1.0, "f": 1.0}, 10)
    flat = reciprocal_rank_fusion(rankings, {"v": 1.0, "f": 1.0}, 60)
    assert steep[7] > steep[8]
    assert flat[8] > flat[7]
