"""Reciprocal-rank fusion of ranked signals into one normalised score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], k: int
) -> dict[int, float]:
    """Fused score per id, divided by the best attainable so it lies in [0, 1].

    An id ranked first by every enabled signal scores 1.0; the normalisation uses only the
    signals that are enabled, so ``threshold`` means the same whatever the data.
    """
    attainable = sum(weights[name] / (k + 1) for name in rankings if weights.get(name, 0) > 0)
    if attainable <= 0:
        return {}
    fused: dict[int, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return {item: min(1.0, score / attainable) for item, score in fused.items()}
