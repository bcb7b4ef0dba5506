"""Points in time from callers (strict) and from the model (lenient)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from powermem.errors import InvalidInputError
from powermem.filters import And, Condition, Or
from powermem.when import (
    CreatedWindow,
    canonical_micros,
    created_between,
    created_by,
    created_until,
    created_window,
    lenient_time,
    point_in_time,
)


def test_point_in_time_normalises_every_form_to_utc_text() -> None:
    expected = "2023-05-08T13:56:00.000000+00:00"
    for value in (datetime(2023, 5, 8, 13, 56), datetime(2023, 5, 8, 14, 56, tzinfo=timezone(timedelta(hours=1))),
                  "2023-05-08T13:56:00Z", "2023-05-08 13:56", 1683554160, 1683554160.0):
        assert point_in_time(value, "timestamp") == expected
    assert point_in_time(None, "timestamp") is None


@pytest.mark.parametrize("bad", ["yesterday", "", True, float("inf"), -(10**15), b"2023", datetime.max.replace(
    tzinfo=timezone(timedelta(hours=-5)))])
def test_point_in_time_names_the_accepted_forms(bad: object) -> None:
    with pytest.raises(InvalidInputError, match=r"as_of must be a datetime, an ISO-8601 string .* epoch seconds"):
        point_in_time(bad, "as_of")


@pytest.mark.parametrize(("given", "expected"), [
    ("2022-06", "2022-06-01T00:00:00.000000+00:00"), ("2022", "2022-01-01T00:00:00.000000+00:00"),
    ("2022-06-15", "2022-06-15T00:00:00.000000+00:00"), ("June", None), (None, None), (2022, None), ("", None),
])
def test_lenient_time_reads_what_models_write(given: object, expected: str | None) -> None:
    assert lenient_time(given) == expected


def test_time_conditions_join_the_callers_filters() -> None:
    mine = Condition("topic", "eq", "x")
    assert created_by(None, None) is None and created_by(mine, None) is mine
    assert created_by(None, "t") == Condition("created_at", "lte", "t")
    assert created_by(mine, "t") == And((mine, Condition("created_at", "lte", "t")))
    assert created_between(mine, "a", "b") == And((mine, Condition("created_at", "gte", "a"),
                                                   Condition("created_at", "lt", "b")))
    assert created_between(None, None, None) is None


def test_created_until_reads_an_as_of_that_every_match_must_meet() -> None:
    as_of = "2023-03-01T09:00:00.000000+00:00"
    assert created_until(created_by(None, as_of)) == as_of
    assert created_until(created_by(Condition("topic", "eq", "x"), as_of)) == as_of
    assert created_until(And((Condition("created_at", "lte", "2024"), Condition("created_at", "lte", "2022")))) == "2022"
    # An alternative or a strict bound is not a creation time every match is at or before.
    assert created_until(Or((Condition("created_at", "lte", as_of), Condition("topic", "eq", "x")))) is None
    assert created_until(Condition("created_at", "lt", as_of)) is None
    assert created_until(Condition("updated_at", "lte", as_of)) is None
    assert created_until(None) is None


def test_created_window_is_filters_that_only_bound_the_creation_time() -> None:
    as_of, start, end = "2023-03-01T09:00:00.000000+00:00", "2023-01-01", "2023-02-01"
    assert created_window(created_by(None, as_of)) == CreatedWindow((("lte", as_of),))
    assert created_window(created_between(created_by(None, as_of), start, end)) == CreatedWindow(
        (("lte", as_of), ("gte", start), ("lt", end)))
    # Anything more than creation-time bounds is the stores' filter compiler's to answer.
    for other in (created_by(Condition("topic", "eq", "x"), as_of),
                  Or((Condition("created_at", "lte", as_of), Condition("created_at", "gt", "2024"))),
                  Condition("created_at", "eq", as_of), Condition("updated_at", "lte", as_of),
                  Condition("created_at", "lte", 2023), Condition("created_at", "lte", "2023-03-01\x00"),
                  Condition("created_at", "lte", "2023-03-01T09:00:00\u00e9"), None):
        assert created_window(other) is None


def test_canonical_micros_orders_as_the_text_does() -> None:
    texts = ["1999-12-31T23:59:59.999999+00:00", "2000-01-01T00:00:00.000000+00:00",
             "2026-12-03T18:06:22.119396+00:00", "2026-12-03T18:06:22.119397+00:00"]
    micros = [canonical_micros(t) for t in texts]
    assert micros[2] == 1796321182119396 and micros == sorted(m for m in micros if m is not None)
    for odd in ["2026-12-03T18:06:22+00:00", "2026-12-03T18:06:22.119396Z", "2026-02-30T00:00:00.000000+00:00",
                "2026-12-03T18:06:22.119396+01:00", "2026-12-03", "\u0662026-12-03T18:06:22.119396+00:00"]:
        assert canonical_micros(odd) is None
