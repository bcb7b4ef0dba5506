"""The API's input rules as the documentation states them: the fuzzer's oracle for which calls
must succeed and which must raise ``InvalidInputError``."""

from __future__ import annotations

import math
from typing import Any

from powermem import InvalidInputError
from powermem.filters import parse_filters
from tests.reliability.helpers import INT64


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> str:
    """What the pipeline stores for LLM output holding lone surrogates."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def valid_id(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and bool(value.strip()) and len(value) <= 256 and "\x00" not in value
        and "\x1f" not in value and encodable(value)
    )


def _valid_json(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, list):
        return all(_valid_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and encodable(k) and _valid_json(v) for k, v in value.items())
    return False


def valid_metadata(value: Any, allow_none: bool = False) -> bool:
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    for key, item in value.items():
        if not isinstance(key, str) or not key or not encodable(key):
            return False
        if item is None and allow_none:
            continue
        if not _valid_json(item):
            return False
    return True


_ROLES = frozenset({"user", "assistant", "system", "tool", "function", "developer"})


def parsed_messages(value: Any) -> list[tuple[str, str, str | None]] | None:
    """(role, content, name) per message, or None when ``messages`` is invalid."""
    items = [value] if isinstance(value, dict) else value
    if isinstance(value, str):
        items = [{"role": "user", "content": value}]
    if not isinstance(items, list) or not items:
        return None
    out = []
    for item in items:
        content, role, name = item.get("content"), item.get("role", "user"), item.get("name")
        if not isinstance(content, str) or role not in _ROLES or not encodable(content):
            return None
        if name is not None and (not isinstance(name, str) or not encodable(name)):
            return None
        out.append((role, content, name))
    return out


def storable(parsed: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    return [m for m in parsed if m[0] != "system" and m[1].strip()]


def parsed_filter(value: Any) -> tuple[bool, Any]:
    """(valid, AST); filter validation itself is unit-tested, the oracle here is the parser."""
    try:
        return True, parse_filters(value)
    except InvalidInputError:
        return False, None
