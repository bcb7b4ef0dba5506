"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai
from openai.types import CreateEmbeddingResponse

from powermem.config import EmbeddingConfig
from powermem.embeddings.base import DEFAULT_RECONCILE_MIN_SIMILARITY, Vectors, l2_normalise
from powermem.errors import ConfigError, EmbeddingError
from powermem.llm.client import DEFAULT_BASE_URL, resolve_api_key
from powermem.llm.retry import RetryPolicy, call_with_retry, retry_policy
from powermem.redact import reveal

__all__ = ["DEFAULT_EMBEDDING_MODEL", "KNOWN_DIMS", "RECONCILE_MIN_SIMILARITY", "OpenAIEmbedder"]


DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
# Reconciliation thresholds giving about the share of second LLM calls MiniLM gives at 0.7.
# Estimated from published cosine ranges, not measured here (no network): ada-002 squeezes
# everything into ~0.7-1.0, the text-embedding-3 models spread lower than MiniLM. The reasoning
# is in docs/configuration.md; benchmarks/reconcile_threshold.py --openai MODEL measures it.
RECONCILE_MIN_SIMILARITY = {"text-embedding-3-small": 0.65, "text-embedding-3-large": 0.6,
                            "text-embedding-ada-002": 0.9}


class OpenAIEmbedder:
    """Batches texts to the endpoint under the shared retry policy; rows are L2-normalised."""

    def __init__(self, config: EmbeddingConfig, *, retry: RetryPolicy | None = None) -> None:
        self._model = config.model or DEFAULT_EMBEDDING_MODEL
        self._dims = _dims(self._model, config.dims)
        # Only text-embedding-3 models can shorten their output; other servers may reject
        # the parameter, so it is sent only where it means something.
        self._send_dims = config.dims is not None and self._model.startswith("text-embedding-3")
        self._batch_size = config.batch_size
        self._client = openai.AsyncOpenAI(
            api_key=_api_key(config),
            base_url=config.base_url or DEFAULT_BASE_URL,
            timeout=config.timeout,
            max_retries=0,  # the shared policy retries; the SDK must not multiply attempts
        )
        self._policy = retry or retry_policy(config.max_attempts, config.max_retry_seconds, EmbeddingError, initial_wait=config.retry_initial_wait)

    @property
    def dims(self) -> int:
        return self._dims

    @property
    def model(self) -> str:
        return self._model

    @property
    def reconcile_min_similarity(self) -> float:
        """The calibrated value for a known model, else MiniLM's (set it for other models)."""
        return RECONCILE_MIN_SIMILARITY.get(self._model, DEFAULT_RECONCILE_MIN_SIMILARITY)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self._dims), dtype=np.float32)
        # Blank texts are rejected by the API; they stay zero rows, as in every embedder.
        todo = [i for i, text in enumerate(texts) if text.strip()]
        for start in range(0, len(todo), self._batch_size):
            rows = todo[start : start + self._batch_size]
            out[rows] = await self._embed_batch([texts[i] for i in rows])
        return l2_normalise(out)

    async def _embed_batch(self, batch: list[str]) -> Vectors:
        async def create() -> CreateEmbeddingResponse:
            return await self._client.embeddings.create(
                model=self._model,
                input=batch,
                encoding_format="float",  # base64 is not implemented by every compatible server
                dimensions=self._dims if self._send_dims else openai.omit,
            )

        response = await call_with_retry(create, policy=self._policy)
        return self._matrix(response, len(batch))

    def _matrix(self, response: CreateEmbeddingResponse, expected: int) -> Vectors:
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != expected:
            raise EmbeddingError(f"embedding endpoint returned {len(data)} vectors for {expected} texts")
        matrix = np.asarray([item.embedding for item in data], dtype=np.float32)
        if matrix.shape[1] != self._dims:
            raise EmbeddingError(
                f"model {self._model!r} returned {matrix.shape[1]} dimensions, configured {self._dims}: "
                "set EMBEDDING_DIMS to match the model"
            )
        return matrix

    async def aclose(self) -> None:
        await self._client.close()


def _dims(model: str, configured: int | None) -> int:
    if configured is not None:
        return configured
    if model in KNOWN_DIMS:
        return KNOWN_DIMS[model]
    raise ConfigError(f"embedding dims unknown for model {model!r}: set EMBEDDING_DIMS (embedding.dims)")


def _api_key(config: EmbeddingConfig) -> str:
    return resolve_api_key(reveal(config.api_key), config.base_url, "EMBEDDING_API_KEY", "EMBEDDING_BASE_URL",
                           "embedding")
