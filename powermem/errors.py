"""The powermem exception tree.

Every error powermem raises on purpose derives from :class:`PowermemError`::

    PowermemError
    ├── ConfigError            bad or missing configuration (also a ValueError)
    ├── InvalidInputError      a bad argument to a public method (also a ValueError)
    │   └── InvalidFilterError a filter that does not parse or validate
    ├── StoreError             the store failed: connection, query, file (driver error chained)
    ├── LLMError               the LLM call failed after retries; carries the provider status
    └── EmbeddingError         the embedding call failed after retries; carries the status

Errors from neo4j, openai and sqlite3 are mapped to these at the edge of the package and
chained with ``raise ... from exc`` so the original stays visible in tracebacks.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EmbeddingError",
    "InvalidFilterError",
    "InvalidInputError",
    "LLMError",
    "PowermemError",
    "StoreError",
]


class PowermemError(Exception):
    """Root of every error powermem raises deliberately."""


class ConfigError(PowermemError, ValueError):
    """The configuration is invalid: unknown provider, missing setting, wrong type."""


class InvalidInputError(PowermemError, ValueError):
    """A public method was called with an argument it cannot accept. Nothing was written."""


class InvalidFilterError(InvalidInputError):
    """A ``filters`` value does not follow the filter language."""


class StoreError(PowermemError):
    """The store could not complete an operation (connection, query or file failure)."""


class _ProviderError(PowermemError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMError(_ProviderError):
    """The LLM provider failed after the retry policy gave up. ``status`` is its HTTP status."""


class EmbeddingError(_ProviderError):
    """The embedding provider failed after retries. ``status`` is its HTTP status, if any."""
