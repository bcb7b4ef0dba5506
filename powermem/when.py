"""Points in time given by callers (``timestamp``, ``as_of``) and by the LLM (``valid_at``).

Every time powermem stores is the canonical UTC ISO-8601 text of ``filters.format_timestamp``,
so that string order is time order in both stores.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from powermem.errors import InvalidInputError
from powermem.filters import And, Condition, FilterNode, format_timestamp

__all__ = ["ACCEPTED", "CreatedWindow", "canonical_micros", "created_between", "created_by", "created_window",
           "lenient_time", "point_in_time"]

ACCEPTED = "a datetime, an ISO-8601 string (e.g. '2023-05-08T13:56:00+00:00') or epoch seconds (int or float)"

_YEAR_MONTH = re.compile(r"^\d{4}(-\d{2})?$")
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def point_in_time(value: object, name: str) -> str | None:
    """``value`` as canonical UTC text, None for None; anything else raises InvalidInputError.

    A datetime or ISO string without an offset is taken as UTC.
    """
    if value is None:
        return None
    moment = _moment(value)
    if moment is None:
        raise InvalidInputError(f"{name} must be {ACCEPTED}, got {_shown(value)}")
    return format_timestamp(moment)


def lenient_time(value: object) -> str | None:
    """What a model wrote for a time, as canonical text; None when it is not one.

    Models often give just a year or a month ('2022', '2022-06'): they mean its start.
    """
    if isinstance(value, str) and _YEAR_MONTH.match(value.strip()):
        value = value.strip() + ("-01" if len(value.strip()) == 7 else "-01-01")
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    moment = _moment(value)
    return format_timestamp(moment) if moment is not None else None


def created_between(filters: FilterNode | None, start: str | None, end: str | None) -> FilterNode | None:
    """``filters`` narrowed to memories created in [start, end) (either end open when None),
    as one more AND of built-in conditions: both stores already compile those."""
    items = [] if filters is None else [filters]
    if start is not None:
        items.append(Condition("created_at", "gte", start))
    if end is not None:
        items.append(Condition("created_at", "lt", end))
    return items[0] if len(items) == 1 else (And(tuple(items)) if items else None)


def created_by(filters: FilterNode | None, as_of: str | None) -> FilterNode | None:
    """``filters`` narrowed to memories created at or before ``as_of`` (none: unchanged)."""
    if as_of is None:
        return filters
    condition = Condition("created_at", "lte", as_of)
    return condition if filters is None else And((filters, condition))


def created_until(filters: FilterNode | None) -> str | None:
    """The latest creation time ``filters`` allow when they require ``created_at <=`` one (as an
    as_of does), else None. Only conditions every match must meet count: a top-level one or one
    of a top-level AND's."""
    parts = filters.items if isinstance(filters, And) else (filters,)
    bounds = [c.value for c in parts if isinstance(c, Condition) and c.key == "created_at" and c.op == "lte"
              and isinstance(c.value, str)]
    return min(bounds) if bounds else None


_WINDOW_OPS = frozenset({"gt", "gte", "lt", "lte"})


@dataclass(frozen=True)
class CreatedWindow:
    """Filters that only bound ``created_at`` (an as_of, a period the query names, or both):
    each (op, value) compares the stored text, as the stores' filters do. ``micros``: the same
    bounds as ``canonical_micros``, None when a value is not canonical text."""

    bounds: tuple[tuple[str, str], ...]
    micros: tuple[tuple[str, int], ...] | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        numbers = [(op, canonical_micros(value)) for op, value in self.bounds]
        exact = [(op, n) for op, n in numbers if n is not None]
        object.__setattr__(self, "micros", tuple(exact) if len(exact) == len(numbers) else None)


def canonical_micros(text: str) -> int | None:
    """Microseconds since the epoch of canonical time text (``format_timestamp``'s), else None.
    Canonical texts have one width, so their order as text is the order of these numbers."""
    if not _CANONICAL.fullmatch(text):
        return None
    try:
        return (datetime.fromisoformat(text) - _EPOCH) // _MICROSECOND
    except ValueError:  # digits in place, but no such day (2023-02-30)
        return None


def created_window(filters: FilterNode | None) -> CreatedWindow | None:
    """``filters`` as a window of creation times when that is all they are: every condition a
    top-level one (or one of a top-level AND's) comparing ``created_at`` with ASCII text.
    Anything else, or no filters: None."""
    if filters is None:
        return None
    parts = filters.items if isinstance(filters, And) else (filters,)
    bounds = []
    for part in parts:
        if not (isinstance(part, Condition) and part.key == "created_at" and part.op in _WINDOW_OPS
                and isinstance(part.value, str) and part.value.isascii() and "\x00" not in part.value):
            return None
        bounds.append((part.op, part.value))
    return CreatedWindow(tuple(bounds))


def _moment(value: object) -> datetime | None:
    if isinstance(value, bool):
        return None  # a bool is an int to Python, never a time to a caller
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        return None


def _shown(value: object) -> str:
    return f"{value!r:.100}" if isinstance(value, str | int | float) else type(value).__name__
