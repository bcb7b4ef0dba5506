"""Compile the shared filter AST to a SQLite boolean expression over the ``memories`` table.

Every condition is wrapped in COALESCE(..., 0) so NULL (a missing key) never reaches a NOT:
the language is two-valued, as filters.py specifies. Metadata keys reach SQL only as a bound
JSON-path parameter, never as text.

Two details keep the embedded store answering as Neo4j does:

- ``in``/``nin`` bind their values as ONE JSON array read with ``json_each``, so a list of
  10,000 values is one parameter and one subquery, not an OR chain that would pass SQLite's
  expression-depth limit (1,000). Values are grouped by kind, so 1 never matches true.
- SQLite's JSON functions (3.40 at least) cut a decoded string at an escaped U+0000, so
  ``json_extract`` reads {"k": "a\\u0000b"} as "a". A row whose metadata text holds that
  escape reads its string values through ``pm_metadata_text`` (a Python function the engine
  registers) instead; every other row keeps the native, fast path. Lists of strings are
  compared as the hex of their UTF-8, which no JSON decoding can cut.
"""

from __future__ import annotations

import json
from typing import Any

from powermem.filters import And, Condition, FilterNode, Not, Or, Scalar

__all__ = ["compile_filter", "metadata_text"]

_COLUMNS = {"memory": "memory", "created_at": "created_at", "updated_at": "updated_at"}
_SQL_OPS = {"eq": "=", "ne": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NUMBER_TYPES = "('integer', 'real')"
_SCALAR_TYPES = "('integer', 'real', 'text', 'true', 'false')"
# The metadata's string value at a key, whole even when it holds U+0000 (json.dumps writes
# that character as the six characters \u0000, which is what instr looks for).
_TEXT_VALUE = (
    r"(CASE WHEN instr(metadata, '\u0000') > 0 THEN pm_metadata_text(metadata, ?)"
    " ELSE json_extract(metadata, ?) END)"
)
_IN_LIST = "IN (SELECT value FROM json_each(?))"


def metadata_text(metadata: str | None, key: str) -> str | None:
    """SQL function ``pm_metadata_text``: the string at top-level ``key``, NULs and all."""
    if metadata is None:
        return None
    value = json.loads(metadata).get(key)
    return value if isinstance(value, str) else None


def compile_filter(node: FilterNode, params: list[Any]) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(compile_filter(child, params) for child in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(compile_filter(child, params) for child in node.items) + ")"
    if isinstance(node, Not):
        return "(NOT " + compile_filter(node.item, params) + ")"
    return _condition(node, params)


def _condition(cond: Condition, params: list[Any]) -> str:
    if cond.op in ("ne", "nin"):
        positive = Condition(cond.key, "eq" if cond.op == "ne" else "in", cond.value)
        return "(NOT " + _condition(positive, params) + ")"
    if cond.op == "exists":
        return _exists(cond, params)
    if cond.op == "in":
        return _membership(cond.key, cond.value, params)
    if cond.op in ("contains", "icontains"):
        return _contains(cond, params)
    return _compare(cond.key, cond.op, cond.value, params)


def _path(key: str) -> str:
    return '$."' + key + '"'


def _text_value(key: str, params: list[Any]) -> str:
    params.extend([key, _path(key)])
    return _TEXT_VALUE


def _compare(key: str, op: str, value: Scalar, params: list[Any]) -> str:
    if key in _COLUMNS:
        if not isinstance(value, str):
            return "0"  # built-in fields are strings; other kinds never match
        params.append(value)
        return f"COALESCE({_COLUMNS[key]} {_SQL_OPS[op]} ?, 0)"
    params.append(_path(key))
    if isinstance(value, bool):
        return f"COALESCE(json_type(metadata, ?) = '{'true' if value else 'false'}', 0)"
    if isinstance(value, str):
        text = _text_value(key, params)
        params.append(value)
        return f"COALESCE(json_type(metadata, ?) = 'text' AND {text} {_SQL_OPS[op]} ?, 0)"
    params.extend([_path(key), value])
    return f"COALESCE(json_type(metadata, ?) IN {_NUMBER_TYPES} AND json_extract(metadata, ?) {_SQL_OPS[op]} ?, 0)"


def _membership(key: str, values: tuple[Scalar, ...], params: list[Any]) -> str:
    texts = [_hex(v) for v in values if isinstance(v, str)]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    bools = sorted({"'true'" if v else "'false'" for v in values if isinstance(v, bool)})
    terms: list[str] = []
    if key in _COLUMNS:
        if texts:
            params.append(json.dumps(texts))
            terms.append(f"COALESCE(hex({_COLUMNS[key]}) {_IN_LIST}, 0)")
        return "(" + " OR ".join(terms) + ")" if terms else "0"
    if texts:
        params.append(_path(key))
        text = _text_value(key, params)
        params.append(json.dumps(texts))
        terms.append(f"COALESCE(json_type(metadata, ?) = 'text' AND hex({text}) {_IN_LIST}, 0)")
    if numbers:
        params.extend([_path(key), _path(key), json.dumps(numbers)])
        terms.append(f"COALESCE(json_type(metadata, ?) IN {_NUMBER_TYPES} AND json_extract(metadata, ?) {_IN_LIST}, 0)")
    if bools:
        params.append(_path(key))
        terms.append(f"COALESCE(json_type(metadata, ?) IN ({', '.join(bools)}), 0)")
    return "(" + " OR ".join(terms) + ")" if terms else "0"


def _hex(text: str) -> str:
    """What SQLite's hex() gives for ``text`` in a UTF-8 database."""
    return text.encode("utf-8").hex().upper()


def _contains(cond: Condition, params: list[Any]) -> str:
    lower = cond.op == "icontains"
    if cond.key in _COLUMNS:
        column = _COLUMNS[cond.key]
        params.append(cond.value)
        return f"COALESCE(instr(pm_lower({column}), pm_lower(?)) > 0, 0)" if lower else \
            f"COALESCE(instr({column}, ?) > 0, 0)"
    params.append(_path(cond.key))
    text = _text_value(cond.key, params)
    params.append(cond.value)
    haystack = f"pm_lower({text})" if lower else text
    needle = "pm_lower(?)" if lower else "?"
    return f"COALESCE(json_type(metadata, ?) = 'text' AND instr({haystack}, {needle}) > 0, 0)"


def _exists(cond: Condition, params: list[Any]) -> str:
    if cond.key in _COLUMNS:
        return "1" if cond.value else "0"
    params.append(_path(cond.key))
    present = f"COALESCE(json_type(metadata, ?) IN {_SCALAR_TYPES}, 0)"
    return present if cond.value else f"(NOT {present})"
