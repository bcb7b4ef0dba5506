"""The embedding provider interface shared by every embedder."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from powermem import receipts, tracing

Vectors = npt.NDArray[np.float32]

# The cosine above which an existing memory is shown to the reconciliation call, for an
# embedder that declares no ``reconcile_min_similarity`` of its own: MiniLM's calibration
# (docs/configuration.md, "Reconciliation threshold per embedder").
DEFAULT_RECONCILE_MIN_SIMILARITY = 0.7


@dataclass(frozen=True)
class ScoreModel:
    """Logistic coefficients turning a search result's evidence into its calibrated ``score``.

    Used by ``powermem.search.calibration``; fitted per embedder by
    ``benchmarks/score_calibration.py --fit`` (docs/api.md, "What a score means").
    """

    intercept: float
    vector: float  # the memory's cosine with the query (0 outside the vector candidates)
    coverage: float  # the share of the query's terms that the memory contains
    no_name: float  # the query names something and the memory mentions none of its names


# all-MiniLM-L6-v2's, also used by an embedder that declares none of its own (fitted on the
# LoCoMo dev conversations, 2026-12-03; benchmarks/score_calibration.py --fit).
MINILM_SCORE_MODEL = ScoreModel(intercept=-4.947, vector=4.034, coverage=10.8, no_name=-2.79)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dims`` columns."""

    @property
    def dims(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Return an array of shape ``(len(texts), dims)``; rows have unit length."""
        ...

    async def aclose(self) -> None: ...


def reconcile_min_similarity(embedder: object) -> float:
    """The embedder's calibrated reconciliation threshold, or MiniLM's when it declares none."""
    value = getattr(embedder, "reconcile_min_similarity", None)
    return float(value) if isinstance(value, int | float) else DEFAULT_RECONCILE_MIN_SIMILARITY


def score_model(embedder: object) -> ScoreModel:
    """The embedder's calibrated score model, or MiniLM's when it declares none."""
    value = getattr(embedder, "score_model", None)
    return value if isinstance(value, ScoreModel) else MINILM_SCORE_MODEL


def l2_normalise(matrix: Vectors) -> Vectors:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # An all-zero row (empty text in some embedders) stays zero instead of becoming NaN.
    norms[norms == 0] = 1.0
    normalised: Vectors = (matrix / norms).astype(np.float32, copy=False)
    return normalised


class CachedQueryEmbedder:
    """Wraps an embedder with an LRU cache so repeated search queries embed once."""

    def __init__(self, inner: Embedder, capacity: int = 1024) -> None:
        self._inner = inner
        self._capacity = capacity
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    @property
    def inner(self) -> Embedder:
        return self._inner

    @property
    def score_model(self) -> ScoreModel:
        return score_model(self._inner)

    async def embed_query(self, text: str) -> Vectors:
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vector: Vectors = (await self._inner.embed([text]))[0]
        self._cache[text] = vector
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return vector


class BatchingEmbedder:
    """Coalesces embed calls made in the same event-loop tick into one batch.

    Concurrent adds each embed a sentence or two; encoding them together is several times
    faster for the local model and saves round trips for remote ones.
    """

    def __init__(self, inner: Embedder, max_batch: int = 64) -> None:
        self._inner = inner
        self._max_batch = max_batch
        self._pending: list[tuple[list[str], asyncio.Future[Vectors]]] = []
        self._scheduled = False

    @property
    def dims(self) -> int:
        return self._inner.dims

    @property
    def inner(self) -> Embedder:
        return self._inner

    @property
    def reconcile_min_similarity(self) -> float:
        return reconcile_min_similarity(self._inner)

    @property
    def score_model(self) -> ScoreModel:
        return score_model(self._inner)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        # Timed and traced here, per caller: the flush below serves several callers at once.
        attributes: dict[str, tracing.AttributeValue] = {"powermem.embed.texts": len(texts)}
        if isinstance(model := getattr(self._inner, "model", None), str):
            attributes["powermem.embed.model"] = model
        with tracing.span("powermem.embed", attributes), receipts.timed("embed"):
            return await self._queue(texts)

    async def _queue(self, texts: Sequence[str]) -> Vectors:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Vectors] = loop.create_future()
        self._pending.append((list(texts), future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(lambda: asyncio.ensure_future(self._flush()))
        return await future

    async def _flush(self) -> None:
        pending, self._pending, self._scheduled = self._pending, [], False
        while pending:
            group: list[tuple[list[str], asyncio.Future[Vectors]]] = []
            size = 0
            while pending and (not group or size + len(pending[0][0]) <= self._max_batch):
                item = pending.pop(0)
                group.append(item)
                size += len(item[0])
            await self._run(group)

    async def _run(self, group: list[tuple[list[str], asyncio.Future[Vectors]]]) -> None:
        try:
            vectors = await self._inner.embed([t for texts, _ in group for t in texts])
        except BaseException as exc:  # every waiter sees the failure, none hangs
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for texts, future in group:
            if not future.done():
                future.set_result(vectors[start : start + len(texts)])
            start += len(texts)

    async def aclose(self) -> None:
        await self._inner.aclose()
