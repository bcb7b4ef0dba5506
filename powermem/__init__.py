"""powermem: a graph + vector memory store for AI agents.

    from powermem import AsyncMemory, Memory, auto_config
"""

from __future__ import annotations

from powermem._memory import AsyncMemory, Memory
from powermem.config import MemoryConfig, SearchConfig, auto_config
from powermem.errors import (
    ConfigError,
    EmbeddingError,
    InvalidFilterError,
    InvalidInputError,
    LLMError,
    PowermemError,
    StoreError,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncMemory",
    "ConfigError",
    "EmbeddingError",
    "InvalidFilterError",
    "InvalidInputError",
    "LLMError",
    "Memory",
    "MemoryConfig",
    "PowermemError",
    "SearchConfig",
    "StoreError",
    "__version__",
    "auto_config",
]
