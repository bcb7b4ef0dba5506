"""The period a search query names ("in May 2023", "last summer", "yesterday"), found by rules.

No LLM and no model: a handful of English patterns, tried most specific first. Relative
periods are taken from a reference time (the search's ``as_of``, else now). Seasons are those
of the northern hemisphere's meteorological calendar (summer: June to August).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Period", "query_period"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
          "year": "year", "years": "year"}

_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_SEASON = "|".join(_SEASONS)
_YEAR = r"(?:19|20)\d\d"
_RULES = [
    ("iso_day", re.compile(rf"\b({_YEAR})-(\d\d)-(\d\d)\b")),
    ("day_month_year", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?(?:,\s*|\s+)({_YEAR})\b")),
    ("month_day_year", re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*|\s+)({_YEAR})\b")),
    ("month_year", re.compile(rf"\b({_MONTH})\.?,?\s+(?:of\s+)?({_YEAR})\b")),
    ("season_year", re.compile(rf"\b({_SEASON})\s+(?:of\s+)?({_YEAR})\b")),
    ("relative_season", re.compile(rf"\b(last|this|past)\s+({_SEASON})\b")),
    ("ago", re.compile(rf"\b(\d{{1,3}}|{'|'.join(_NUMBERS)})\s+(days?|weeks?|months?|years?)\s+ago\b")),
    ("relative_unit", re.compile(r"\b(last|this|past|previous)\s+(week|month|year)\b")),
    ("relative_month", re.compile(rf"\b(?:in|during|last|this|since)\s+({_MONTH})\b")),
    ("yesterday", re.compile(r"\b(yesterday|today)\b")),
    ("year", re.compile(rf"\b({_YEAR})\b")),
]


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime


def query_period(query: str, reference: datetime) -> Period | None:
    """The first period the query names, or None. ``reference`` is timezone-aware."""
    text = query.lower()
    reference = reference.astimezone(UTC)
    for kind, pattern in _RULES:
        match = pattern.search(text)
        if match is None:
            continue
        try:
            period = _PERIODS[kind](match.groups(), reference)
        except (ValueError, OverflowError):  # 31 February and the like: not a date
            continue
        if period is not None:
            return period
    return None


def _day(year: int, month: int, day: int) -> Period:
    start = datetime(year, month, day, tzinfo=UTC)
    return Period(start, start + timedelta(days=1))


def _month(year: int, month: int, months: int = 1) -> Period:
    start = datetime(year, month, 1, tzinfo=UTC)
    index = year * 12 + month - 1 + months
    return Period(start, datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC))


def _season(name: str, year: int) -> Period:
    """The season of ``year``; winter is the one that starts in December of ``year``."""
    return _month(year, _SEASONS[name], 3)


def _last_season(name: str, ref: datetime, which: str) -> Period:
    # "this summer": the one of this year (a winter in January: the one that began in
    # December); "last summer": the latest one that is over.
    year = ref.year
    if which == "this":
        return _season(name, year - 1 if name == "winter" and ref.month <= 2 else year)
    while _season(name, year).end > ref:
        year -= 1
    return _season(name, year)


def _ago(groups: tuple[str | None, ...], ref: datetime) -> Period:
    raw, unit = str(groups[0]), _UNITS[str(groups[1])]
    count = int(raw) if raw.isdigit() else _NUMBERS[raw]
    if unit == "day":
        then = ref - timedelta(days=count)
        return _day(then.year, then.month, then.day)
    if unit == "week":
        then = ref - timedelta(weeks=count)
        start = datetime(then.year, then.month, then.day, tzinfo=UTC) - timedelta(days=then.weekday())
        return Period(start, start + timedelta(weeks=1))
    if unit == "month":
        index = ref.year * 12 + ref.month - 1 - count
        return _month(index // 12, index % 12 + 1)
    return _month(ref.year - count, 1, 12)


def _relative_unit(groups: tuple[str | None, ...], ref: datetime) -> Period:
    back = 0 if groups[0] == "this" else 1
    unit = str(groups[1])
    if unit == "week":
        today = datetime(ref.year, ref.month, ref.day, tzinfo=UTC)
        start = today - timedelta(days=today.weekday(), weeks=back)
        return Period(start, start + timedelta(weeks=1))
    if unit == "month":
        index = ref.year * 12 + ref.month - 1 - back
        return _month(index // 12, index % 12 + 1)
    return _month(ref.year - back, 1, 12)


def _relative_month(groups: tuple[str | None, ...], ref: datetime) -> Period:
    """The latest such month that has begun by the reference time."""
    month = _MONTHS[str(groups[0])]
    return _month(ref.year if month <= ref.month else ref.year - 1, month)


def _yesterday(groups: tuple[str | None, ...], ref: datetime) -> Period:
    then = ref - timedelta(days=1 if groups[0] == "yesterday" else 0)
    return _day(then.year, then.month, then.day)


_PERIODS: dict[str, Callable[[tuple[Any, ...], datetime], Period]] = {
    "iso_day": lambda g, _: _day(int(g[0]), int(g[1]), int(g[2])),
    "day_month_year": lambda g, _: _day(int(g[2]), _MONTHS[g[1]], int(g[0])),
    "month_day_year": lambda g, _: _day(int(g[2]), _MONTHS[g[0]], int(g[1])),
    "month_year": lambda g, _: _month(int(g[1]), _MONTHS[g[0]]),
    "season_year": lambda g, _: _season(g[0], int(g[1])),
    "relative_season": lambda g, ref: _last_season(g[1], ref, "this" if g[0] == "this" else "last"),
    "ago": _ago,
    "relative_unit": _relative_unit,
    "relative_month": _relative_month,
    "yesterday": _yesterday,
    "year": lambda g, _: _month(int(g[0]), 1, 12),
}
