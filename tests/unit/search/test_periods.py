"""The period a query names, relative to a reference time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from powermem.search.periods import query_period

REF = datetime(2023, 7, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("what did Maya do in May 2023", date(2023, 5, 1), date(2023, 6, 1)),
        ("on 8 May 2023", date(2023, 5, 8), date(2023, 5, 9)),
        ("on May 8th, 2023", date(2023, 5, 8), date(2023, 5, 9)),
        ("shared on December 1,2023", date(2023, 12, 1), date(2023, 12, 2)),
        ("said on 16 November, 2023", date(2023, 11, 16), date(2023, 11, 17)),
        ("the 2023-05-08 meeting", date(2023, 5, 8), date(2023, 5, 9)),
        ("summer 2021", date(2021, 6, 1), date(2021, 9, 1)),
        ("last summer", date(2022, 6, 1), date(2022, 9, 1)),  # this summer is not over on 15 July
        ("this summer", date(2023, 6, 1), date(2023, 9, 1)),
        ("last winter", date(2022, 12, 1), date(2023, 3, 1)),
        ("in June", date(2023, 6, 1), date(2023, 7, 1)),
        ("in December", date(2022, 12, 1), date(2023, 1, 1)),  # the latest December that has begun
        ("last month", date(2023, 6, 1), date(2023, 7, 1)),
        ("last year", date(2022, 1, 1), date(2023, 1, 1)),
        ("last week", date(2023, 7, 3), date(2023, 7, 10)),  # Monday to Monday
        ("two weeks ago", date(2023, 6, 26), date(2023, 7, 3)),
        ("3 days ago", date(2023, 7, 12), date(2023, 7, 13)),
        ("yesterday", date(2023, 7, 14), date(2023, 7, 15)),
        ("back in 2019", date(2019, 1, 1), date(2020, 1, 1)),
    ],
)
def test_named_periods(query: str, start: date, end: date) -> None:
    period = query_period(query, REF)
    assert period is not None
    assert (period.start.date(), period.end.date()) == (start, end)
    assert period.start.tzinfo is not None


@pytest.mark.parametrize("query", ["where does Maya live", "what may happen next", "she has 12345 points", ""])
def test_no_period(query: str) -> None:
    assert query_period(query, REF) is None


def test_an_impossible_date_falls_back_to_what_else_the_query_names() -> None:
    period = query_period("on 31 February 2023", REF)
    assert period is not None and (period.start.date(), period.end.date()) == (date(2023, 2, 1), date(2023, 3, 1))


def test_relative_periods_follow_the_reference() -> None:
    period = query_period("last summer", datetime(2023, 10, 1, tzinfo=UTC))
    assert period is not None and period.start.date() == date(2023, 6, 1)
