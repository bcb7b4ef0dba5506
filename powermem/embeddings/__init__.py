"""Embedding providers: ``local`` (offline MiniLM, the default), ``openai`` (also ``azure``, ``ollama``), ``hashing``."""

from __future__ import annotations

from powermem.config import EmbeddingConfig
from powermem.embeddings.base import BatchingEmbedder, CachedQueryEmbedder, Embedder

__all__ = ["BatchingEmbedder", "CachedQueryEmbedder", "Embedder", "create_embedder"]


def create_embedder(config: EmbeddingConfig) -> Embedder:
    return BatchingEmbedder(_provider(config), max_batch=config.batch_size)


def _provider(config: EmbeddingConfig) -> Embedder:
    # Providers import lazily: the openai SDK and the MiniLM weights load only when chosen.
    if config.provider == "hashing":
        from powermem.embeddings.hashing import HashingEmbedder

        return HashingEmbedder(dims=config.dims or 256)
    if config.provider in ("openai", "azure", "ollama"):
        from powermem.embeddings.openai import OpenAIEmbedder

        return OpenAIEmbedder(config)
    from powermem.embeddings.local import LocalEmbedder

    return LocalEmbedder(model_dir=config.model, batch_size=min(config.batch_size, 64), download=config.download,
                         threads=config.threads)
