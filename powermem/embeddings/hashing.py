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
_BLOCK_TEXTS = 64
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
        self._table = _FeatureTable()

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
        table = self._table
        if len(table) >= _CACHE_LIMIT:
            table = self._table = _FeatureTable()
        index = table.index
        words: list[int] = []
        counts: list[int] = []
        for text in texts:
            tokens = _WORD.findall(text.lower())
            found = [index.get(word, -1) for word in tokens]
            if -1 in found:  # a word not seen before: hash its features once
                found = [i if i >= 0 else table.add(word, self._word_features(word))
                         for i, word in zip(found, tokens, strict=True)]
            words += found
            counts.append(len(found))
        return self._assemble(table, np.asarray(words, dtype=np.int64), counts)

    def _assemble(self, table: _FeatureTable, words: np.ndarray, counts: list[int]) -> Vectors:
        """The texts' vectors, a block of texts at a time. A whole add's temporaries (megabytes)
        came from fresh pages of memory on every call, and faulting them in took longer than the
        sums: inside an add of 1,000 store_bench messages 8.4 us a text, 2.2 in blocks of 64,
        whose temporaries the allocator reuses. Texts are independent: the same floats."""
        vectors = np.empty((len(counts), self._dims), dtype=np.float32)
        ends = np.cumsum(np.asarray([0, *counts], dtype=np.int64))
        for first in range(0, len(counts), _BLOCK_TEXTS):
            last = min(first + _BLOCK_TEXTS, len(counts))
            vectors[first:last] = self._assemble_block(table, words[ends[first]:ends[last]], counts[first:last])
        return vectors

    def _assemble_block(self, table: _FeatureTable, words: np.ndarray, counts: list[int]) -> Vectors:
        """Sums each text's word features in text, word, feature order: the one order of sums, so
        the vectors are the same floats as summing feature by feature."""
        n = len(counts)
        starts, lengths, buckets, weights = table.arrays()
        sizes = lengths[words]  # features of each word occurrence
        before = np.cumsum(sizes) - sizes  # features of the occurrences before each one
        # The table positions of every occurrence's features, occurrence after occurrence.
        at = np.repeat(starts[words] - before, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)
        cumulative = np.concatenate(([0], np.cumsum(sizes)))
        ends = np.cumsum(np.asarray(counts, dtype=np.int64))
        per_text = cumulative[ends] - cumulative[ends - np.asarray(counts, dtype=np.int64)]
        rows = np.repeat(np.arange(n, dtype=np.int64), per_text)
        summed = np.bincount(rows * self._dims + buckets[at], weights=weights[at], minlength=n * self._dims)
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
        return buckets, weights

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self._dims, 1.0 if value >> 63 else -1.0

    async def aclose(self) -> None:
        return None


class _FeatureTable:
    """Each word seen so far and its hashed features, in flat arrays: words repeat a lot, so
    embedding is a dictionary lookup per word and a few numpy gathers per batch."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self._words = 0
        self._features = 0
        self._starts = np.zeros(1024, dtype=np.int64)
        self._lengths = np.zeros(1024, dtype=np.int64)
        self._buckets = np.zeros(8192, dtype=np.int64)
        self._weights = np.zeros(8192, dtype=np.float64)

    def __len__(self) -> int:
        return self._words

    def add(self, word: str, features: tuple[list[int], list[float]]) -> int:
        if word in self.index:
            return self.index[word]
        buckets, weights = features
        if self._words == len(self._starts):  # capacity doubles: appending stays amortised O(1)
            self._starts, self._lengths = _grown(self._starts), _grown(self._lengths)
        while self._features + len(buckets) > len(self._buckets):
            self._buckets, self._weights = _grown(self._buckets), _grown(self._weights)
        self._starts[self._words], self._lengths[self._words] = self._features, len(buckets)
        self._buckets[self._features : self._features + len(buckets)] = buckets
        self._weights[self._features : self._features + len(buckets)] = weights
        self.index[word] = self._words
        self._words += 1
        self._features += len(buckets)
        return self._words - 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(starts, lengths, buckets, weights) of the words so far (views, not copies)."""
        return self._starts, self._lengths, self._buckets, self._weights


def _grown(array: np.ndarray) -> np.ndarray:
    grown = np.zeros(len(array) * 2, dtype=array.dtype)
    grown[: len(array)] = array
    return grown
