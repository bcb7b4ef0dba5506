"""The embedding provider interface shared by every embedder."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dims`` columns."""

    @property
    def dims(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Return an array of shape ``(len(texts), dims)``; rows have unit length."""
        ...

    async def aclose(self) -> None: ...


def l2_normalise(matrix: Vectors) -> Vectors:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # An all-zero row (empty text in some embedders) stays zero instead of becoming NaN.
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


class CachedQueryEmbedder:
    """Wraps an embedder with an LRU cache so repeated search queries embed once."""

    def __init__(self, inner: Embedder, capacity: int = 1024) -> None:
        self._inner = inner
        self._capacity = capacity
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    @property
    def inner(self) -> Embedder:
        return self._inner

    async def embed_query(self, text: str) -> Vectors:
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vector = (await self._inner.embed([text]))[0]
        self._cache[text] = vector
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return vector
