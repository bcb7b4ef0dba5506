"""The filter language of API.md, parsed once into a small validated AST.

Each store compiles the AST to its own query language; no store ever sees the raw dict.
Semantics shared by both stores (the contract suite checks them):

- only top-level *scalar* metadata values (str, int, float, bool) are filterable;
- a comparison matches only values of the same kind (number with number, string with
  string, bool with bool); ``eq``/``gt``... on a missing key never match;
- ``ne`` and ``nin`` match when the key is missing, as in MongoDB and mem0;
- ``NOT`` is plain two-valued negation of its operand.

Size limits (powermem.limits) are checked while parsing, before any deeper recursion or
longer loop, so a filter of any size or depth costs at most a bounded amount of work and
fails with an InvalidFilterError naming the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from powermem.errors import InvalidFilterError
from powermem.limits import INT64, MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_IN_VALUES, MAX_TEXT_BYTES, text_bytes

__all__ = ["BUILTIN_FIELDS", "INT64", "And", "Condition", "FilterNode", "Not", "Or", "Scalar", "parse_filters"]

Scalar = str | int | float | bool

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BUILTIN_FIELDS = frozenset({"created_at", "updated_at", "memory"})
_TIME_FIELDS = frozenset({"created_at", "updated_at"})
_COMPARISONS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
_OPERATORS = _COMPARISONS | {"in", "nin", "contains", "icontains", "exists"}
_LOGICAL = {"AND", "OR", "NOT", "$and", "$or", "$not", "and", "or", "not"}


@dataclass(frozen=True)
class Condition:
    key: str
    op: str
    value: Any  # a Scalar, a tuple of Scalars (in/nin) or a bool (exists)

    @property
    def builtin(self) -> bool:
        return self.key in BUILTIN_FIELDS


@dataclass(frozen=True)
class And:
    items: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Not:
    item: FilterNode


FilterNode = Condition | And | Or | Not


def parse_filters(filters: object) -> FilterNode | None:
    """Validate ``filters`` and return its AST, or None when there is nothing to filter."""
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise InvalidFilterError(f"filters must be a dict, not {type(filters).__name__}")
    node = _Parser().parse_object(filters, "filters", 1)
    return None if isinstance(node, And) and not node.items else node


class _Parser:
    """One parse: counts conditions so that the limit stops the walk as soon as it is passed."""

    def __init__(self) -> None:
        self.conditions = 0

    def parse_object(self, obj: dict[Any, Any], path: str, depth: int) -> FilterNode:
        # Checked before descending: nesting never costs more than MAX_FILTER_DEPTH frames.
        if depth > MAX_FILTER_DEPTH:
            raise InvalidFilterError(
                f"filters nest deeper than the limit of {MAX_FILTER_DEPTH} levels of filter objects (at {path:.200})"
            )
        items: list[FilterNode] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise InvalidFilterError(f"{path}: filter keys must be strings, got {key!r}")
            if key in _LOGICAL:
                items.append(self._logical(key.lstrip("$").upper(), value, f"{path}.{key}", depth))
            else:
                items.extend(self._field(key, value, f"{path}.{key}"))
        return items[0] if len(items) == 1 else And(tuple(items))

    def _logical(self, op: str, value: object, path: str, depth: int) -> FilterNode:
        if op == "NOT":
            if not isinstance(value, dict) or not value:
                raise InvalidFilterError(f"{path}: NOT takes one non-empty filter object")
            return Not(self.parse_object(value, path, depth + 1))
        if not isinstance(value, list) or not value:
            raise InvalidFilterError(f"{path}: {op} takes a non-empty list of filter objects")
        children: list[FilterNode] = []
        for i, child in enumerate(value):
            if not isinstance(child, dict) or not child:
                raise InvalidFilterError(f"{path}[{i}]: expected a non-empty filter object")
            children.append(self.parse_object(child, f"{path}[{i}]", depth + 1))
        return And(tuple(children)) if op == "AND" else Or(tuple(children))

    def _field(self, key: str, spec: object, path: str) -> list[FilterNode]:
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidFilterError(f"{path}: invalid filter key {key!r}; keys must match [A-Za-z_][A-Za-z0-9_]*")
        if not isinstance(spec, dict):
            return [self._counted(key, "eq", spec, path)]
        if not spec:
            raise InvalidFilterError(f"{path}: empty operator object")
        conditions: list[FilterNode] = []
        for raw_op, value in spec.items():
            op = raw_op[1:] if isinstance(raw_op, str) and raw_op.startswith("$") else raw_op
            if op not in _OPERATORS:
                raise InvalidFilterError(
                    f"{path}: unknown operator {raw_op!r}; expected one of {', '.join(sorted(_OPERATORS))}"
                )
            conditions.append(self._counted(key, op, value, f"{path}.{raw_op}"))
        return conditions

    def _counted(self, key: str, op: str, value: object, path: str) -> Condition:
        self.conditions += 1
        if self.conditions > MAX_FILTER_CONDITIONS:
            raise InvalidFilterError(
                f"{path}: filters hold more than the limit of {MAX_FILTER_CONDITIONS} conditions; "
                "match many values of one key with in/nin"
            )
        return _condition(key, op, value, path)


def _condition(key: str, op: str, value: object, path: str) -> Condition:
    if op == "exists":
        if not isinstance(value, bool):
            raise InvalidFilterError(f"{path}: exists takes true or false, got {value!r:.100}")
        return Condition(key, op, value)
    if op in ("in", "nin"):
        if not isinstance(value, (list, tuple)):
            raise InvalidFilterError(f"{path}: {op} takes a list, got {type(value).__name__}")
        if len(value) > MAX_IN_VALUES:
            raise InvalidFilterError(f"{path}: {op} takes at most {MAX_IN_VALUES:,} values (the limit), got {len(value):,}")
        return Condition(key, op, tuple(_scalar(key, v, f"{path}[{i}]") for i, v in enumerate(value)))
    if op in ("contains", "icontains"):
        if not isinstance(value, str):
            raise InvalidFilterError(f"{path}: {op} takes a string, got {type(value).__name__}")
        return Condition(key, op, _text(value, path))
    scalar = _scalar(key, value, path)
    if op in ("gt", "gte", "lt", "lte") and isinstance(scalar, bool):
        raise InvalidFilterError(f"{path}: {op} cannot compare booleans")
    return Condition(key, op, scalar)


def _scalar(key: str, value: object, path: str) -> Scalar:
    if isinstance(value, str):
        value = _text(value, path)
    if key in _TIME_FIELDS:
        return _timestamp(value, path)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise InvalidFilterError(f"{path}: {value} is outside the 64-bit integer range")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidFilterError(f"{path}: {value!r} is not a comparable number")
        return value
    raise InvalidFilterError(
        f"{path}: filter values must be str, int, float or bool, got {type(value).__name__}"
    )


def _text(value: str, path: str) -> str:
    try:
        size = text_bytes(value)
    except UnicodeEncodeError as exc:
        raise InvalidFilterError(f"{path}: {value[:100]!r} is not valid Unicode text (lone surrogate)") from exc
    if size > MAX_TEXT_BYTES:
        raise _too_long(path, size)
    return value


def _too_long(path: str, size: int) -> InvalidFilterError:
    return InvalidFilterError(
        f"{path}: a filter string is limited to 64 KiB ({MAX_TEXT_BYTES:,} bytes of UTF-8), got at least {size:,}"
    )


def _timestamp(value: object, path: str) -> str:
    """Normalise to the stores' canonical UTC ISO form so string order is time order."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidFilterError(f"{path}: {value!r:.100} is not an ISO-8601 timestamp") from exc
    if not isinstance(value, datetime):
        raise InvalidFilterError(f"{path}: expected an ISO-8601 timestamp or datetime, got {value!r:.100}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_timestamp(value)


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))
