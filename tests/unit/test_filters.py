from __future__ import annotations

import pytest

from powermem.errors import InvalidFilterError
from powermem.filters import And, Condition, Not, Or, parse_filters


def test_equality_shorthand_and_dollar_aliases() -> None:
    assert parse_filters({"a": 1}) == Condition("a", "eq", 1)
    assert parse_filters({"a": {"$gte": 2}}) == Condition("a", "gte", 2)
    assert parse_filters({"a": {"gte": 1, "lt": 5}}) == And((Condition("a", "gte", 1), Condition("a", "lt", 5)))


def test_nesting() -> None:
    node = parse_filters({"OR": [{"a": 1}, {"NOT": {"b": {"in": ["x"]}}}], "c": {"exists": True}})
    assert node == And((Or((Condition("a", "eq", 1), Not(Condition("b", "in", ("x",))))), Condition("c", "exists", True)))


def test_empty_and_none_mean_no_filter() -> None:
    assert parse_filters(None) is None
    assert parse_filters({}) is None


def test_timestamps_are_normalised_to_utc() -> None:
    node = parse_filters({"created_at": {"gte": "2026-01-01T02:00:00+02:00"}})
    assert node == Condition("created_at", "gte", "2026-01-01T00:00:00.000000+00:00")


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"a": {"regex": "x"}}, "unknown operator"),
        ({"a b": 1}, "invalid filter key"),
        ({"1a": 1}, "invalid filter key"),
        ({"a": {"in": "x"}}, "takes a list"),
        ({"a": {"contains": 1}}, "takes a string"),
        ({"a": {"exists": "yes"}}, "true or false"),
        ({"a": {"gt": True}}, "cannot compare booleans"),
        ({"a": None}, "filter values"),
        ({"a": float("nan")}, "not a comparable number"),
        ({"AND": {"a": 1}}, "non-empty list"),
        ({"OR": []}, "non-empty list"),
        ({"NOT": [{"a": 1}]}, "NOT takes"),
        ({"a": {}}, "empty operator"),
        ({"created_at": {"gt": "yesterday"}}, "ISO-8601"),
        ({1: 2}, "keys must be strings"),
    ],
)
def test_invalid_filters_name_the_problem(filters: dict, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        parse_filters(filters)
