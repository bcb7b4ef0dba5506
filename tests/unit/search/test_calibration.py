"""The calibrated score: features, the logistic model, monotone scores, per-embedder models."""

from __future__ import annotations

import pytest

from powermem.embeddings.base import MINILM_SCORE_MODEL, BatchingEmbedder, CachedQueryEmbedder, ScoreModel, score_model
from powermem.embeddings.hashing import SCORE_MODEL as HASHING_SCORE_MODEL
from powermem.embeddings.hashing import HashingEmbedder
from powermem.embeddings.local import LocalEmbedder
from powermem.search.calibration import QueryEvidence, calibrated_scores, probability, query_names, stem

MODEL = ScoreModel(intercept=-5.0, vector=4.0, coverage=10.0, no_name=-3.0)


@pytest.mark.parametrize(("words", "same"), [
    (["make", "makes", "making"], True), (["paint", "painted", "painting", "paints"], True),
    (["live", "lives", "lived"], True), (["class", "classes"], True), (["research", "researched"], True),
    (["cat", "car"], False), (["is", "was"], False),
])
def test_stem_joins_inflections_only(words: list[str], same: bool) -> None:
    assert (len({stem(w) for w in words}) == 1) is same


def test_query_names_are_capitalised_words_not_starting_a_sentence() -> None:
    assert query_names("What did Caroline research at the LGBTQ center?") == ["caroline", "lgbtq"]
    assert query_names("Tell me about quantum physics") == []  # a sentence's first word is capitalised anyway
    assert query_names("Caroline went home. Where did Melanie go? I think The Band played") == ["melanie", "band"]
    assert query_names("where does maya live") == []


def test_features_count_covered_words_and_unmatched_names() -> None:
    query = QueryEvidence("Where does Maya's manager live?")  # terms: maya, manager, live
    assert query.features("Maya's manager lives in Porto", 0.7) == (0.7, 1.0, 0.0)
    vector, coverage, no_name = query.features("Maya's sister is a pilot", 0.2)
    assert vector == 0.2
    assert coverage == pytest.approx(1 / 3) and no_name == 0.0
    assert query.features("Tea is best without sugar", 0.0) == (0.0, 0.0, 1.0)
    assert QueryEvidence("tea without sugar").features("Daniel lives in Porto", 0.0)[2] == 0.0  # names nothing
    assert QueryEvidence("!!!").features("anything", 0.0) == (0.0, 0.0, 0.0)


def test_probability_rises_with_evidence_and_falls_with_an_unmatched_name() -> None:
    base = probability(MODEL, (0.3, 0.3, 0.0))
    assert 0 < base < 1
    assert probability(MODEL, (0.6, 0.3, 0.0)) > base and probability(MODEL, (0.3, 0.6, 0.0)) > base
    assert probability(MODEL, (0.3, 0.3, 1.0)) < base
    assert probability(MODEL, (0.0, 0.0, 0.0)) < 0.01


def test_scores_are_each_the_best_at_or_below_their_rank() -> None:
    query = QueryEvidence("hiking dog")
    ranked = [("Tea is nice", 0.0), ("I hike with my dog", 0.9), ("Soup", 0.0), ("dogs", 0.0)]
    raw = [probability(MODEL, query.features(text, vector)) for text, vector in ranked]
    scores = calibrated_scores(MODEL, query, ranked)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == scores[1] == round(raw[1], 6)  # lifted to the relevant result below it
    assert scores[2] == scores[3] == round(raw[3], 6)
    assert calibrated_scores(MODEL, query, []) == []


def test_each_embedder_brings_its_score_model() -> None:
    hashing = HashingEmbedder(64)
    assert score_model(hashing) == HASHING_SCORE_MODEL and HASHING_SCORE_MODEL.vector == 0.0
    assert BatchingEmbedder(hashing).score_model == HASHING_SCORE_MODEL
    assert CachedQueryEmbedder(BatchingEmbedder(hashing)).score_model == HASHING_SCORE_MODEL
    assert LocalEmbedder().score_model == MINILM_SCORE_MODEL
    assert score_model(object()) == MINILM_SCORE_MODEL  # an embedder of one's own: MiniLM's
