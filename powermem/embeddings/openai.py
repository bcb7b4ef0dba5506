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
from powermem.llm.presets import AZURE_API_VERSION
from powermem.llm.retry import RetryPolicy, call_with_retry, retry_policy
from powermem.redact import reveal

__all__ = ["DEFAULT_EMBEDDING_MODEL", "KNOWN_DIMS", "RECONCILE_MIN_SIMILARITY", "OpenAIEmbedder"]


DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
OLLAMA_BASE_URL = "http://127.0.0.1:11434/v1"
OLLAMA_EMBEDDING_MODEL = "nomic-embed-text"  # mem0's default for Ollama too
KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536,
              # Ollama's common embedding models (tags such as ":latest" are ignored)
              "nomic-embed-text": 768, "mxbai-embed-large": 1024, "all-minilm": 384}
# Reconciliation thresholds giving about the share of second LLM calls MiniLM gives at 0.7.
# Estimated from published cosine ranges, not measured here (no network): ada-002 squeezes
# everything into ~0.7-1.0, the text-embedding-3 models spread lower than MiniLM. The reasoning
# is in docs/configuration.md; benchmarks/reconcile_threshold.py --openai MODEL measures it.
RECONCILE_MIN_SIMILARITY = {"text-embedding-3-small": 0.65, "text-embedding-3-large": 0.6,
                            "text-embedding-ada-002": 0.9}


class OpenAIEmbedder:
    """Batches texts to the endpoint under the shared retry policy; rows are L2-normalised."""

    def __init__(self, config: EmbeddingConfig, *, retry: RetryPolicy | None = None) -> None:
        default_model = OLLAMA_EMBEDDING_MODEL if config.provider == "ollama" else DEFAULT_EMBEDDING_MODEL
        self._model = config.model or (config.deployment if config.provider == "azure" else None) or default_model
        self._dims = _dims(self._model, config.dims)
        # Only text-embedding-3 models can shorten their output; other servers may reject
        # the parameter, so it is sent only where it means something.
        self._send_dims = config.dims is not None and self._model.startswith("text-embedding-3")
        self._batch_size = config.batch_size
        self._client = _client(config, self._model)
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


def _client(config: EmbeddingConfig, model: str) -> openai.AsyncOpenAI:
    # max_retries=0: the shared policy retries; the SDK must not multiply attempts.
    if config.provider == "azure":
        if not config.base_url:
            raise ConfigError("embedding.base_url is required for the azure provider: https://NAME.openai.azure.com")
        return openai.AsyncAzureOpenAI(
            api_key=_api_key(config), api_version=config.api_version or AZURE_API_VERSION,
            azure_endpoint=config.base_url, azure_deployment=config.deployment or model,
            timeout=config.timeout, max_retries=0,
        )
    if config.provider == "ollama":
        return openai.AsyncOpenAI(api_key=reveal(config.api_key) or "ollama", base_url=config.base_url or OLLAMA_BASE_URL,
                                  timeout=config.timeout, max_retries=0)
    return openai.AsyncOpenAI(api_key=_api_key(config), base_url=config.base_url or DEFAULT_BASE_URL,
                              timeout=config.timeout, max_retries=0)


def _dims(model: str, configured: int | None) -> int:
    if configured is not None:
        return configured
    known = KNOWN_DIMS.get(model, KNOWN_DIMS.get(model.split(":")[0]))
    if known is not None:
        return known
    raise ConfigError(f"embedding dims unknown for model {model!r}: set EMBEDDING_DIMS (embedding.dims)")


def _api_key(config: EmbeddingConfig) -> str:
    return resolve_api_key(reveal(config.api_key), config.base_url, "EMBEDDING_API_KEY", "EMBEDDING_BASE_URL",
                           "embedding")
