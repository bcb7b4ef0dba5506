"""The API's input rules as the documentation states them: the fuzzer's oracle for which calls
must succeed and which must raise ``InvalidInputError``.

The limits are restated here from API.md ("Limits") and docs/api.md rather than imported from
powermem.limits, so that the oracle checks the package instead of agreeing with it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from powermem import InvalidInputError
from powermem.filters import parse_filters
from tests.reliability.helpers import INT64

TEXT_BYTES = 64 * 1024  # a message's content or name, a query, update content, a filter string
METADATA_BYTES = 64 * 1024  # compact UTF-8 JSON of the metadata argument
METADATA_DEPTH = 16  # nested dicts and lists, the metadata dict itself included
FILTER_DEPTH = 32  # nested filter objects, the filters dict itself included
FILTER_CONDITIONS = 100  # field-operator pairs in one filter
IN_VALUES = 10_000  # values of one in/nin
MESSAGES = 1_000  # messages in one add
SEARCH_LIMIT = 1_000
GET_ALL_LIMIT = 10_000


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def text_within(text: Any) -> bool:
    return not isinstance(text, str) or utf8_size(text) <= TEXT_BYTES


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


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def metadata_within(value: dict[str, Any]) -> bool:
    if _depth(value) > METADATA_DEPTH:
        return False
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return True  # not JSON: refused for that
    return utf8_size(text) <= METADATA_BYTES


def valid_metadata(value: Any, allow_none: bool = False) -> bool:
    if value is None:
        return True
    if not isinstance(value, dict) or not metadata_within(value):
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
    if not isinstance(items, list) or not items or len(items) > MESSAGES:
        return None
    out = []
    for item in items:
        content, role, name = item.get("content"), item.get("role", "user"), item.get("name")
        if not isinstance(content, str) or role not in _ROLES or not encodable(content) or not text_within(content):
            return None
        if name is not None and (not isinstance(name, str) or not encodable(name) or not text_within(name)):
            return None
        out.append((role, content, name))
    return out


def storable(parsed: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    return [m for m in parsed if m[0] != "system" and m[1].strip()]


def parsed_filter(value: Any) -> tuple[bool, Any]:
    """(valid, AST). Filter syntax is unit-tested, so the oracle for it is the parser; the
    limits are checked here independently, so a parser accepting too much fails the fuzzer."""
    try:
        node = parse_filters(value)
    except InvalidInputError:
        return False, None
    return filter_within(value), node


_LOGICAL = {"AND", "OR", "NOT", "$and", "$or", "$not", "and", "or", "not"}


def filter_within(value: Any) -> bool:
    """Depth, conditions, in/nin lengths and string sizes within API.md's limits (for a
    filter the parser accepted: its shape is known to be well formed)."""
    conditions = 0
    stack: list[tuple[dict[str, Any], int]] = [(value, 1)] if isinstance(value, dict) else []
    while stack:
        obj, depth = stack.pop()
        if depth > FILTER_DEPTH:
            return False
        for key, spec in obj.items():
            if key in _LOGICAL:
                children = [spec] if isinstance(spec, dict) else spec
                stack.extend((child, depth + 1) for child in children)
                continue
            specs = list(spec.values()) if isinstance(spec, dict) else [spec]
            conditions += len(specs)
            for operand in specs:
                items = operand if isinstance(operand, (list, tuple)) else [operand]
                if len(items) > IN_VALUES or not all(text_within(item) for item in items):
                    return False
    return conditions <= FILTER_CONDITIONS
