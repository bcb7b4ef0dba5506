"""A deterministic, dependency-free embedder for tests, benchmarks and offline fallbacks.

Words and their character trigrams are hashed (blake2b, so vectors are the same in every
process, unlike the salted built-in ``hash``) into signed buckets. Texts sharing words, or
words sharing spelling, get similar vectors; there is no semantics beyond that.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

import numpy as np

from powermem.embeddings.base import ScoreModel, Vectors, l2_normalise

__all__ = ["HashingEmbedder"]

_WORD = re.compile(r"\w+")
_CACHE_LIMIT = 200_000
# Fitted on LoCoMo (benchmarks/score_calibration.py --embedding hashing --fit, 2026-12-03). A
# hashed cosine is word overlap again: fitted with coverage its coefficient comes out negative,
# so the score uses coverage alone, whatever ``dims`` is.
SCORE_MODEL = ScoreModel(intercept=-4.214, vector=0.0, coverage=11.613, no_name=-2.784)


class HashingEmbedder:
    """Feature hashing of words and character trigrams, L2-normalised float32 rows."""

    def __init__(self, dims: int = 256) -> None:
        if dims < 1:
            raise ValueError("dims must be >= 1")
        self._dims = dims
        # word -> (buckets, signed weights); words repeat a lot, so this makes embedding
        # mostly dictionary lookups.
        self._cache: dict[str, tuple[list[int], list[float]]] = {}

    @property
    def dims(self) -> int:
        return self._dims

    @property
    def reconcile_min_similarity(self) -> float:
        # Measured on LoCoMo (benchmarks/reconcile_threshold.py): the share of second LLM
        # calls MiniLM gives at 0.7. Fewer buckets add collision noise, which raises cosines.
        if self._dims >= 256:
            return 0.47
        return 0.49 if self._dims >= 128 else 0.5

    @property
    def score_model(self) -> ScoreModel:
        return SCORE_MODEL

    async def embed(self, texts: Sequence[str]) -> Vectors:
        return self.embed_sync(texts)

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """The same as :meth:`embed`, for callers outside an event loop (the test server)."""
        buckets: list[int] = []
        weights: list[float] = []
        counts: list[int] = []
        cache = self._cache
        for text in texts:
            before = len(buckets)
            for word in _WORD.findall(text.lower()):
                word_buckets, word_weights = cache.get(word) or self._word_features(word)
                buckets.extend(word_buckets)
                weights.extend(word_weights)
            counts.append(len(buckets) - before)
        return self._assemble(buckets, weights, counts)

    def _assemble(self, buckets: list[int], weights: list[float], counts: list[int]) -> Vectors:
        n = len(counts)
        rows = np.repeat(np.arange(n, dtype=np.int64), counts)
        flat = rows * self._dims + np.asarray(buckets, dtype=np.int64)
        summed = np.bincount(flat, weights=np.asarray(weights, dtype=np.float64), minlength=n * self._dims)
        return l2_normalise(summed.reshape(n, self._dims).astype(np.float32))

    def _word_features(self, word: str) -> tuple[list[int], list[float]]:
        padded = f"<{word}>"
        grams = [padded[i : i + 3] for i in range(len(padded) - 2)]
        # Trigrams share one unit of weight, like the word itself, so long words do not
        # outweigh short ones and a typo still leaves most of the similarity.
        gram_weight = 1.0 / math.sqrt(len(grams))
        features = [("w:" + word, 1.0)] + [("t:" + g, gram_weight) for g in grams]
        buckets: list[int] = []
        weights: list[float] = []
        for feature, weight in features:
            bucket, sign = self._bucket(feature)
            buckets.append(bucket)
            weights.append(sign * weight)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = (buckets, weights)
        return buckets, weights

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self._dims, 1.0 if value >> 63 else -1.0

    async def aclose(self) -> None:
        return None
