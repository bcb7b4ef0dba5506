"""Each limit of powermem.limits at its edge, in the validators and the filter parser: the last
accepted size, the first refused one, and inputs far past it (deep, long, cyclic) that must
fail with the typed error rather than RecursionError, OverflowError or a long computation."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from powermem import limits
from powermem._validate import bounded_text, content_of, metadata_of, offset_of, page_size, query_of
from powermem.errors import InvalidFilterError, InvalidInputError
from powermem.filters import Condition, Not, parse_filters
from powermem.ids import parse_id
from powermem.ingest.messages import parse_messages

KIB = 1024


def test_the_limits_are_those_api_md_states() -> None:
    assert (limits.MAX_TEXT_BYTES, limits.MAX_METADATA_BYTES, limits.MAX_METADATA_DEPTH) == (64 * KIB, 64 * KIB, 16)
    assert (limits.MAX_FILTER_DEPTH, limits.MAX_IN_VALUES) == (32, 10_000)
    assert (limits.MAX_SEARCH_LIMIT, limits.MAX_GET_ALL_LIMIT) == (1_000, 10_000)
    assert limits.INT64 == (-(2**63), 2**63 - 1)


# -- text: UTF-8 bytes, not characters ------------------------------------------------------------

@pytest.mark.parametrize("char", ["x", "\u00e9", "\u20ac", "\U0001f600"])
def test_text_is_measured_in_utf8_bytes(char: str) -> None:
    width = len(char.encode())
    fits = char * (limits.MAX_TEXT_BYTES // width)
    assert bounded_text(fits, "query") == fits
    over = fits + "x" * (limits.MAX_TEXT_BYTES % width + 1)
    with pytest.raises(InvalidInputError, match=r"query is limited to 64 KiB \(65,536 bytes of UTF-8\)"):
        bounded_text(over, "query")


def test_65536_characters_of_two_bytes_are_too_long() -> None:
    with pytest.raises(InvalidInputError, match="131,072 bytes"):
        query_of("\u00e9" * limits.MAX_TEXT_BYTES)


def test_a_lone_surrogate_is_still_named_as_such() -> None:
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        content_of("x\ud800")


def test_messages_content_name_and_count() -> None:
    at = "m" * limits.MAX_TEXT_BYTES
    assert parse_messages(at)[0].content == at
    assert len(parse_messages([{"role": "user", "content": "x", "name": at}] * limits.MAX_MESSAGES)) == 1000
    with pytest.raises(InvalidInputError, match="64 KiB"):
        parse_messages(at + "m")
    with pytest.raises(InvalidInputError, match=r"messages\[1\]\['name'\].*64 KiB"):
        parse_messages([{"role": "user", "content": "x"}, {"role": "user", "content": "x", "name": at + "m"}])
    with pytest.raises(InvalidInputError, match="at most 1,000"):
        parse_messages([{"role": "user", "content": "x"}] * (limits.MAX_MESSAGES + 1))


# -- metadata -------------------------------------------------------------------------------------

def sized(size: int, char: str = "\u00e9") -> dict[str, Any]:
    meta = {"k": "", "n": 1}
    empty = len(json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode())
    width = len(char.encode())
    meta["k"] = char * ((size - empty) // width) + "x" * ((size - empty) % width)
    return meta


def nested(depth: int, leaf: Any = 1) -> dict[str, Any]:
    value = leaf
    for i in range(depth - 1):
        value = [value] if i % 2 else {"d": value}
    return {"top": value}


@pytest.mark.parametrize("char", ["x", "\u00e9", "\U0001f600"])
def test_metadata_size_is_compact_utf8_json(char: str) -> None:
    assert metadata_of(sized(limits.MAX_METADATA_BYTES, char)) == sized(limits.MAX_METADATA_BYTES, char)
    with pytest.raises(InvalidInputError, match=r"metadata is limited to 64 KiB \(65,536 bytes of JSON\), got 65,537"):
        metadata_of(sized(limits.MAX_METADATA_BYTES + 1, char))


def test_escaped_characters_count_as_their_json_escape() -> None:
    # U+0000 is six bytes of JSON (\u0000): 11,000 of them are 66,000 bytes.
    with pytest.raises(InvalidInputError, match="64 KiB"):
        metadata_of({"k": "\x00" * 11_000})
    assert metadata_of({"k": "\x00" * 10_000})["k"] == "\x00" * 10_000


def test_update_metadata_is_capped_with_its_none_values() -> None:
    assert metadata_of({"gone": None, **sized(limits.MAX_METADATA_BYTES - 12)}, allow_none_values=True)
    with pytest.raises(InvalidInputError, match="64 KiB"):
        metadata_of({"gone": None, **sized(limits.MAX_METADATA_BYTES)}, allow_none_values=True)


def test_metadata_depth() -> None:
    assert metadata_of(nested(limits.MAX_METADATA_DEPTH)) == nested(limits.MAX_METADATA_DEPTH)
    with pytest.raises(InvalidInputError, match="deeper than the limit of 16 levels"):
        metadata_of(nested(limits.MAX_METADATA_DEPTH + 1))
    # A deep scalar-free chain is still deep: containers count, not values.
    with pytest.raises(InvalidInputError, match="16 levels"):
        metadata_of(nested(limits.MAX_METADATA_DEPTH + 1, leaf=[]))


@pytest.mark.parametrize("depth", [1_000, sys.getrecursionlimit() + 10, 100_000])
def test_metadata_far_too_deep_is_the_typed_error_not_recursion_error(depth: int) -> None:
    with pytest.raises(InvalidInputError, match="16 levels"):
        metadata_of(nested(depth))


def test_metadata_cycles_are_too_deep() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(InvalidInputError, match="16 levels"):
        metadata_of({"loop": loop})


class CountingList(list[int]):
    """Counts how many of its items are visited, to show the walk stops early."""

    visited = 0

    def __iter__(self) -> Any:
        for item in super().__iter__():
            CountingList.visited += 1
            yield item


def test_a_huge_metadata_value_is_refused_before_it_is_walked() -> None:
    CountingList.visited = 0
    with pytest.raises(InvalidInputError, match="at least"):
        metadata_of({"k": CountingList(range(1_000_000))})
    assert CountingList.visited == 0
    with pytest.raises(InvalidInputError, match="64 KiB"):
        metadata_of({"k": "x" * 10_000_000})


# -- filters --------------------------------------------------------------------------------------

def nots(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"k": 1}
    for _ in range(depth - 1):
        node = {"NOT": node}
    return node


def test_filter_depth_counts_filter_objects() -> None:
    node = parse_filters(nots(limits.MAX_FILTER_DEPTH))
    for _ in range(limits.MAX_FILTER_DEPTH - 1):
        assert isinstance(node, Not)
        node = node.item
    assert node == Condition("k", "eq", 1)
    alternating: dict[str, Any] = {"k": 1}
    for i in range(limits.MAX_FILTER_DEPTH - 1):
        alternating = {["AND", "$or", "not"][i % 3]: [alternating, {"j": 2}] if i % 3 < 2 else alternating}
    assert parse_filters(alternating) is not None
    with pytest.raises(InvalidFilterError, match="deeper than the limit of 32 levels"):
        parse_filters({"OR": [alternating, {"j": 2}]})


@pytest.mark.parametrize("depth", [limits.MAX_FILTER_DEPTH + 1, 300, 500, 100_000])
def test_deep_filters_are_the_typed_error_not_recursion_error(depth: int) -> None:
    with pytest.raises(InvalidFilterError, match="32 levels"):
        parse_filters(nots(depth))


def test_filter_conditions_are_counted_across_the_whole_filter() -> None:
    n = limits.MAX_FILTER_CONDITIONS
    assert parse_filters({"OR": [{"k": i} for i in range(n)]}) is not None
    assert parse_filters({"a": {"gte": 1, "lte": 2}, "OR": [{"k": i} for i in range(n - 2)]}) is not None
    with pytest.raises(InvalidFilterError, match="more than the limit of 100 conditions"):
        parse_filters({"a": {"gte": 1, "lte": 2}, "OR": [{"k": i} for i in range(n - 1)]})
    with pytest.raises(InvalidFilterError, match="100 conditions"):
        parse_filters({f"k{i}": i for i in range(n + 1)})


def test_a_long_filter_is_refused_after_the_limit_not_after_the_list() -> None:
    class Endless(list[dict[str, int]]):
        def __iter__(self) -> Any:
            i = 0
            while True:
                assert i <= limits.MAX_FILTER_CONDITIONS, "the parser read past the limit"
                yield {"k": i}
                i += 1

    with pytest.raises(InvalidFilterError, match="100 conditions"):
        parse_filters({"OR": Endless([{"k": 0}])})


def test_in_and_nin_values() -> None:
    values = list(range(limits.MAX_IN_VALUES))
    assert parse_filters({"k": {"in": values}}) == Condition("k", "in", tuple(values))
    for op in ("in", "$nin"):
        with pytest.raises(InvalidFilterError, match="at most 10,000 values"):
            parse_filters({"k": {op: [*values, 1]}})


def test_filter_strings() -> None:
    at = "\u00e9" * (limits.MAX_TEXT_BYTES // 2)
    assert parse_filters({"k": {"contains": at}}) == Condition("k", "contains", at)
    for spec in ({"contains": at + "x"}, at + "x", {"in": ["a", at + "x"]}):
        with pytest.raises(InvalidFilterError, match="64 KiB"):
            parse_filters({"k": spec})
    with pytest.raises(InvalidFilterError, match="64 KiB"):
        parse_filters({"created_at": {"gt": "2026" + " " * limits.MAX_TEXT_BYTES}})


# -- pages, offsets and ids -----------------------------------------------------------------------

def test_page_sizes() -> None:
    assert page_size(1_000, "limit", limits.MAX_SEARCH_LIMIT, "search") == 1_000
    with pytest.raises(InvalidInputError, match=r"within 1\.\.1,000 \(the limit of search\)"):
        page_size(1_001, "limit", limits.MAX_SEARCH_LIMIT, "search")
    assert page_size(10_000, "limit", limits.MAX_GET_ALL_LIMIT, "get_all") == 10_000
    for bad in (10_001, 2**63, 0, -1, True, 1.0):
        with pytest.raises(InvalidInputError, match=r"within 1\.\.10,000"):
            page_size(bad, "limit", limits.MAX_GET_ALL_LIMIT, "get_all")


def test_offsets() -> None:
    assert offset_of(2**63 - 1) == 2**63 - 1
    for bad in (2**63, -1, 10**30, False):
        with pytest.raises(InvalidInputError, match="signed 64 bits"):
            offset_of(bad)


def test_ids() -> None:
    assert parse_id(2**63 - 1) == parse_id(str(2**63 - 1)) == 2**63 - 1
    assert parse_id("0" * 10_000 + "7") == 7
    for bad in (2**63, str(2**63), "1" + "0" * 5_000, "9" * 100_000, 0, "0" * 50):
        with pytest.raises(InvalidInputError, match=r"1\.\.2\*\*63-1"):
            parse_id(bad)
