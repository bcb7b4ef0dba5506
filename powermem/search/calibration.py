"""Calibrated relevance: the ``score`` a search result reports.

Fusion decides the order of the results but its value is relative: the best of a tenant that
knows nothing about the query still fuses to the top. The score is instead an estimate, the
same for every query and tenant, that the memory is relevant to the query: a logistic model
over evidence that means the same everywhere,

- ``vector``: the memory's cosine with the query (0 when the memory is not among the vector
  candidates);
- ``coverage``: the share of the query's terms that the memory contains (words compared by
  a crude stem: "lives" meets "live", "painted" meets "painting");
- ``no_name``: 1 when the query names something (a capitalised word not starting a sentence:
  "Caroline", "LGBTQ") and the memory mentions none of its names.

Coefficients are per embedder (``ScoreModel``; an embedder's cosines spread its own way),
fitted on the LoCoMo dev conversations by ``benchmarks/score_calibration.py --fit``.

The score must not rise down the list, where the fused rank decides the order. A result's
score is therefore the highest calibrated relevance at or below its rank among the first
``max(limit, SCORE_WINDOW)`` results: the list down to that result holds something that
relevant. ``threshold`` then cuts the list after its last result calibrated at or above it,
keeping the results ranked above a relevant one.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

from powermem.embeddings.base import ScoreModel
from powermem.text.stopwords import TERM_STOPWORDS
from powermem.text.terms import search_terms

RELEVANT = 0.5  # the documented "relevant" threshold (docs/api.md)
SCORE_WINDOW = 10  # fewest results a score looks below itself, whatever the limit
_STEM = 6  # letters a stem keeps
_SUFFIXES = ("ing", "ed", "es", "s")
_MAX_NAMES = 32
_TEXT_SCAN = 8192  # characters of a memory searched for the query's words: bounds the cost
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")


def query_names(query: str) -> list[str]:
    """Casefolded capitalised words of the query that do not start a sentence (and are no
    stopword): what it names. A sentence's first word is capitalised whatever it is."""
    names: dict[str, None] = {}
    for match in _WORD.finditer(query):
        word = match.group().strip("_")
        if len(word) < 2 or not word[0].isupper() or _starts_sentence(query, match.start()):
            continue
        key = word.casefold()
        if key not in TERM_STOPWORDS:
            names[key] = None
            if len(names) == _MAX_NAMES:
                break
    return list(names)


@functools.lru_cache(maxsize=65536)  # words repeat across memories: a stem is mostly a lookup
def stem(word: str) -> str:
    """One inflection off, then a final "e", then the first six letters: make, makes and
    making meet; so do paint, painted and painting."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word[:_STEM]


def _starts_sentence(text: str, start: int) -> bool:
    return start == 0 or _SENTENCE_END.search(text, max(0, start - 8), start) is not None


class QueryEvidence:
    """What the score compares each result with: the query's term stems and names."""

    __slots__ = ("names", "stems")

    def __init__(self, query: str) -> None:
        self.stems = list(dict.fromkeys(stem(term) for term in search_terms(query)))
        self.names = query_names(query)

    def features(self, memory: str, vector: float) -> tuple[float, float, float]:
        """(vector, coverage, no_name) of one result."""
        words = set(_WORD.findall(memory[:_TEXT_SCAN].casefold()))
        coverage = 0.0
        if self.stems:
            stems = set(map(stem, words))
            coverage = sum(1 for s in self.stems if s in stems) / len(self.stems)
        no_name = float(bool(self.names) and not any(n in words for n in self.names))
        return vector, coverage, no_name


def probability(model: ScoreModel, features: tuple[float, float, float]) -> float:
    vector, coverage, no_name = features
    z = model.intercept + model.vector * vector + model.coverage * coverage + model.no_name * no_name
    return 1.0 / (1.0 + math.exp(-z))


def calibrated_scores(model: ScoreModel, query: QueryEvidence, results: Sequence[tuple[str, float]]) -> list[float]:
    """Scores of (memory text, vector cosine) results in rank order: each the highest
    calibrated relevance at or below its rank, so they never rise down the list."""
    scores = [probability(model, query.features(memory, vector)) for memory, vector in results]
    for i in range(len(scores) - 2, -1, -1):
        scores[i] = max(scores[i], scores[i + 1])
    return [round(s, 6) for s in scores]
