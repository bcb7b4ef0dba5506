"""What the agent surfaces (HTTP and MCP) send and how they name failures.

Memory ids are 64-bit snowflakes; a JSON number past 2**53 loses digits in JavaScript and in
many JSON libraries, so every id leaves these surfaces as a decimal string (the API accepts
an id as int or str, so a client hands it back unchanged).
"""

from __future__ import annotations

from typing import Any

from powermem.errors import (
    ConfigError,
    EmbeddingError,
    InvalidFilterError,
    InvalidInputError,
    LLMError,
    PowermemError,
    StoreError,
)

__all__ = ["error_status", "error_type", "to_wire"]

_ID_KEYS = frozenset({"id", "memory_id"})
_ID_LIST_KEYS = frozenset({"memory_ids"})

# Most specific first: InvalidFilterError is an InvalidInputError.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (InvalidFilterError, 400),
    (InvalidInputError, 400),
    (ConfigError, 400),
    (StoreError, 503),
    (LLMError, 503),
    (EmbeddingError, 503),
    (PowermemError, 500),
)


def to_wire(value: Any) -> Any:
    """``value`` with every memory id (``id``, ``memory_id``, ``memory_ids``) as a string."""
    if isinstance(value, dict):
        return {key: _wire_field(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    return value


def _wire_field(key: str, item: Any) -> Any:
    if key == "metadata":  # the caller's own data, returned exactly as stored
        return item
    if key in _ID_KEYS and isinstance(item, int) and not isinstance(item, bool):
        return str(item)
    if key in _ID_LIST_KEYS and isinstance(item, list | tuple):
        return [str(i) if isinstance(i, int) and not isinstance(i, bool) else i for i in item]
    return to_wire(item)


def error_status(exc: BaseException) -> int:
    """The HTTP status a powermem error maps to: bad input 400, an unreachable dependency 503."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_type(exc: BaseException) -> str:
    """The error's class name as clients see it (``InvalidInputError``...), never a traceback."""
    return type(exc).__name__
