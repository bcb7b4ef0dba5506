"""Compile the shared filter AST to a SQLite boolean expression over the ``memories`` table.

Every condition is wrapped in COALESCE(..., 0) so NULL (a missing key) never reaches a NOT:
the language is two-valued, as filters.py specifies. Metadata keys reach SQL only as a bound
JSON-path parameter, never as text.
"""

from __future__ import annotations

from typing import Any

from powermem.filters import And, Condition, FilterNode, Not, Or, Scalar

_COLUMNS = {"memory": "memory", "created_at": "created_at", "updated_at": "updated_at"}
_SQL_OPS = {"eq": "=", "ne": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NUMBER_TYPES = "('integer', 'real')"
_SCALAR_TYPES = "('integer', 'real', 'text', 'true', 'false')"


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
        if not cond.value:
            return "0"
        return "(" + " OR ".join(_compare(cond.key, "eq", v, params) for v in cond.value) + ")"
    if cond.op in ("contains", "icontains"):
        return _contains(cond, params)
    return _compare(cond.key, cond.op, cond.value, params)


def _compare(key: str, op: str, value: Scalar, params: list[Any]) -> str:
    if key in _COLUMNS:
        if not isinstance(value, str):
            return "0"  # built-in fields are strings; other kinds never match
        params.append(value)
        return f"COALESCE({_COLUMNS[key]} {_SQL_OPS[op]} ?, 0)"
    path = '$."' + key + '"'
    if isinstance(value, bool):
        params.append(path)
        return f"COALESCE(json_type(metadata, ?) = '{'true' if value else 'false'}', 0)"
    kinds = _NUMBER_TYPES if isinstance(value, (int, float)) else "('text')"
    params.extend([path, path, value])
    return f"COALESCE(json_type(metadata, ?) IN {kinds} AND json_extract(metadata, ?) {_SQL_OPS[op]} ?, 0)"


def _contains(cond: Condition, params: list[Any]) -> str:
    lower = cond.op == "icontains"
    if cond.key in _COLUMNS:
        column = _COLUMNS[cond.key]
        params.append(cond.value)
        return f"COALESCE(instr(pm_lower({column}), pm_lower(?)) > 0, 0)" if lower else \
            f"COALESCE(instr({column}, ?) > 0, 0)"
    path = '$."' + cond.key + '"'
    params.extend([path, path, cond.value])
    haystack = "pm_lower(json_extract(metadata, ?))" if lower else "json_extract(metadata, ?)"
    needle = "pm_lower(?)" if lower else "?"
    return f"COALESCE(json_type(metadata, ?) = 'text' AND instr({haystack}, {needle}) > 0, 0)"


def _exists(cond: Condition, params: list[Any]) -> str:
    if cond.key in _COLUMNS:
        return "1" if cond.value else "0"
    params.append('$."' + cond.key + '"')
    present = f"COALESCE(json_type(metadata, ?) IN {_SCALAR_TYPES}, 0)"
    return present if cond.value else f"(NOT {present})"
