"""Reranking the fused top by the query's words and names the memories hold."""

from __future__ import annotations

from powermem.config import SearchConfig
from powermem.search.calibration import QueryEvidence
from powermem.search.rerank import COVERAGE_WEIGHT, NAME_WEIGHT, reranked
from powermem.stores.base import MemoryRow


def row(memory_id: int, text: str) -> MemoryRow:
    return MemoryRow(memory_id, text, "h", "u", None, None, {}, "t", "t")


QUERY = QueryEvidence("What games does Nate play?")


def ids(rows: list[MemoryRow]) -> list[int]:
    return [r.id for r in rows]


def test_a_memory_naming_the_query_and_holding_its_words_rises_within_the_window() -> None:
    rows = [row(1, "Joanna: I love movies."), row(2, "Joanna: What a day."), row(3, "Nate: I play games daily.")]
    ranking = {1: 0.5, 2: 0.45, 3: 0.3}
    assert ids(reranked(rows, ranking, QUERY, window=3)) == [3, 1, 2]


def test_rows_past_the_window_keep_their_place() -> None:
    rows = [row(1, "Joanna: I love movies."), row(2, "Joanna: What a day."), row(3, "Nate: I play games daily.")]
    ranking = {1: 0.5, 2: 0.45, 3: 0.3}
    assert ids(reranked(rows, ranking, QUERY, window=2)) == [1, 2, 3]
    assert ids(reranked(rows, ranking, QUERY, window=0)) == [1, 2, 3]


def test_a_fused_lead_larger_than_the_evidence_weights_stands() -> None:
    rows = [row(1, "Joanna: I love movies."), row(2, "Nate: I play games daily.")]
    lead = NAME_WEIGHT + COVERAGE_WEIGHT + 0.01
    assert ids(reranked(rows, {1: 0.2 + lead, 2: 0.2}, QUERY, window=2)) == [1, 2]


def test_ties_keep_the_newer_memory_first_as_the_fusion_does() -> None:
    rows = [row(5, "Nate: games"), row(9, "Nate: games")]
    assert ids(reranked(rows, {5: 0.4, 9: 0.4}, QUERY, window=2)) == [9, 5]


def test_only_the_hybrid_search_reranks_and_inflects_unless_told() -> None:
    for hybrid in (SearchConfig(), SearchConfig(preset="hybrid")):
        assert hybrid.rerank_window == 20 and hybrid.inflect_terms
    for preset in ("vector", "fulltext", "vector+fulltext"):
        plain = SearchConfig(preset=preset)
        assert plain.rerank_window == 0 and not plain.inflect_terms
    assert SearchConfig(preset="fulltext", rerank_window=5, inflect_terms=True).rerank_window == 5
