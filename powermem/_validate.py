"""Validation of public-method arguments, so bad input fails before anything is written."""

from __future__ import annotations

import json
import math
from typing import Any

from powermem.errors import InvalidInputError
from powermem.filters import INT64
from powermem.stores.base import Scope

MAX_ID_LENGTH = 256
# Scope.graph_tenant / memory_tenant join the ids with this character: allowing it in an id
# would let two different tenants share one tenant key (and so entities and relations).
_TENANT_SEPARATOR = "\x1f"


def is_unicode_text(value: str) -> bool:
    """False for strings holding lone surrogates, which no store (nor JSON) can encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_of(value: str, where: str) -> str:
    if not is_unicode_text(value):
        raise InvalidInputError(f"{where} is not valid Unicode text (it holds a lone surrogate)")
    return value


def scope_of(user_id: object, agent_id: object, run_id: object, *, required: bool) -> Scope:
    for name, value in (("user_id", user_id), ("agent_id", agent_id), ("run_id", run_id)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a string, not {type(value).__name__}")
        if not value.strip() or len(value) > MAX_ID_LENGTH or "\x00" in value:
            raise InvalidInputError(f"{name} must be a non-blank string of at most {MAX_ID_LENGTH} characters")
        if _TENANT_SEPARATOR in value:
            raise InvalidInputError(f"{name} must not contain the control character U+001F")
        text_of(value, name)
    scope = Scope(user_id, agent_id, run_id)  # type: ignore[arg-type]
    if required and scope.empty:
        raise InvalidInputError("at least one of user_id, agent_id or run_id is required")
    return scope


def metadata_of(metadata: object, *, allow_none_values: bool = False) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict, not {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise InvalidInputError(f"metadata keys must be non-empty strings, got {key!r}")
        text_of(key, f"metadata key {key!r}")
        if value is None and allow_none_values:
            continue
        _check_json_value(value, f"metadata[{key!r}]")
    return dict(metadata)


def _check_json_value(value: object, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"{where} must be a finite number")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where} is not JSON-serialisable: {exc}") from exc
    _check_portable(value, where)


def _check_portable(value: object, where: str) -> None:
    """Integers must fit in 64 bits and strings must be encodable, as both stores require."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise InvalidInputError(f"{where} is an integer outside the 64-bit range")
    if isinstance(value, str):
        text_of(value, where)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_portable(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_portable(key, f"{where} key {key!r}")
            _check_portable(item, f"{where}[{key!r}]")


def positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def non_negative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def threshold_of(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInputError(f"threshold must be a number within [0, 1], got {value!r}")
    return float(value)


def query_of(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, not {type(query).__name__}")
    return text_of(query, "query")


def content_of(content: object) -> str | None:
    if content is None:
        return None
    if not isinstance(content, str) or not content.strip():
        raise InvalidInputError("content must be a non-blank string")
    return text_of(content, "content")
