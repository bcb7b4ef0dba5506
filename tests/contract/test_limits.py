"""The limits of API.md ("Limits") on both stores: at the limit a call works and both stores
give the same answer; past it the call raises a typed error naming the limit and writes
nothing. Also the two filter cases the embedded store once got wrong: in/nin lists of 10,000
values and string values holding U+0000."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from powermem import AsyncMemory, InvalidInputError, PowermemError
from powermem.errors import InvalidFilterError
from powermem.limits import (
    INT64_MAX,
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_GET_ALL_LIMIT,
    MAX_IN_VALUES,
    MAX_MESSAGES,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_SEARCH_LIMIT,
    MAX_TEXT_BYTES,
)
from tests.reliability.helpers import store_snapshot

Call = Callable[[AsyncMemory, int], Awaitable[Any]]


def text(size: int, filler: str = "\u00e9") -> str:
    """A string of exactly ``size`` UTF-8 bytes, mostly two-byte characters."""
    width = len(filler.encode())
    return "T" + filler * ((size - 1) // width) + "x" * ((size - 1) % width)


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def metadata(size: int) -> dict[str, Any]:
    """Metadata whose compact JSON is exactly ``size`` bytes."""
    base = {"k": "v", "pad": ""}
    base["pad"] = text(size - json_size(base))
    assert json_size(base) == size
    return base


def nested(depth: int) -> dict[str, Any]:
    """Metadata ``depth`` containers deep, counting the metadata dict itself."""
    value: Any = 1
    for i in range(depth - 1):
        value = [value] if i % 2 else {"d": value}
    return {"deep": value}


def nots(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"k": "v"}
    for _ in range(depth - 1):
        node = {"NOT": node}
    return node


def conditions(n: int) -> dict[str, Any]:
    return {"AND": [{"n": {"gte": -i}} for i in range(1, n + 1)]}


def cyclic() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    return {"loop": loop}


OVER: list[tuple[str, Call, str]] = [
    ("message text", lambda m, i: m.add(text(MAX_TEXT_BYTES + 1), user_id="u", infer=False), "64 KiB"),
    ("message of 5 MB", lambda m, i: m.add("x" * 5_000_000, user_id="u", infer=False), "64 KiB"),
    ("message content", lambda m, i: m.add([{"role": "user", "content": text(MAX_TEXT_BYTES + 1, "\U0001f600")}],
                                           user_id="u", infer=False), r"messages\[0\]\['content'\].*64 KiB"),
    ("message name", lambda m, i: m.add({"role": "user", "content": "x", "name": text(MAX_TEXT_BYTES + 1)},
                                        user_id="u", infer=False), "name.*64 KiB"),
    ("messages count", lambda m, i: m.add([{"role": "user", "content": "x"}] * (MAX_MESSAGES + 1), user_id="u",
                                          infer=False), "at most 1,000"),
    ("query text", lambda m, i: m.search(text(MAX_TEXT_BYTES + 1), user_id="u"), "query.*64 KiB"),
    ("update content", lambda m, i: m.update(i, content=text(MAX_TEXT_BYTES + 1)), "content.*64 KiB"),
    ("metadata size", lambda m, i: m.add("x", user_id="u", metadata=metadata(MAX_METADATA_BYTES + 1)), "64 KiB"),
    ("metadata size, 10 million items", lambda m, i: m.add("x", user_id="u", metadata={"k": [0] * 10_000_000}),
     "64 KiB"),
    ("update metadata size", lambda m, i: m.update(i, metadata=metadata(MAX_METADATA_BYTES + 1)), "64 KiB"),
    ("metadata depth", lambda m, i: m.add("x", user_id="u", metadata=nested(MAX_METADATA_DEPTH + 1)), "16 levels"),
    ("metadata 100,000 deep", lambda m, i: m.add("x", user_id="u", metadata=nested(100_000)), "16 levels"),
    ("metadata cycle", lambda m, i: m.add("x", user_id="u", metadata=cyclic()), "16 levels"),
    ("update metadata depth", lambda m, i: m.update(i, metadata=nested(MAX_METADATA_DEPTH + 1)), "16 levels"),
    ("filter depth", lambda m, i: m.get_all(user_id="u", filters=nots(MAX_FILTER_DEPTH + 1)), "32 levels"),
    ("filter 500 deep", lambda m, i: m.search("q", user_id="u", filters=nots(500)), "32 levels"),
    ("filter 100,000 deep", lambda m, i: m.get_all(user_id="u", filters=nots(100_000)), "32 levels"),
    ("filter depth in add", lambda m, i: m.add("x", user_id="u", filters=nots(MAX_FILTER_DEPTH + 1)), "32 levels"),
    ("filter conditions", lambda m, i: m.get_all(user_id="u", filters=conditions(MAX_FILTER_CONDITIONS + 1)),
     "100 conditions"),
    ("in values", lambda m, i: m.get_all(user_id="u", filters={"n": {"in": list(range(MAX_IN_VALUES + 1))}}),
     "10,000 values"),
    ("nin values", lambda m, i: m.search("q", user_id="u", filters={"n": {"nin": list(range(MAX_IN_VALUES + 1))}}),
     "10,000 values"),
    ("filter string", lambda m, i: m.get_all(user_id="u", filters={"k": {"contains": text(MAX_TEXT_BYTES + 1)}}),
     "64 KiB"),
    ("search limit", lambda m, i: m.search("q", user_id="u", limit=MAX_SEARCH_LIMIT + 1), r"1\.\.1,000"),
    ("search limit 10**7", lambda m, i: m.search("q", user_id="u", limit=10**7), r"1\.\.1,000"),
    ("get_all limit", lambda m, i: m.get_all(user_id="u", limit=MAX_GET_ALL_LIMIT + 1), r"1\.\.10,000"),
    ("get_all limit 2**63", lambda m, i: m.get_all(user_id="u", limit=2**63), r"1\.\.10,000"),
    ("get_all offset 2**63", lambda m, i: m.get_all(user_id="u", offset=2**63), "signed 64 bits"),
    ("memory_id 2**63", lambda m, i: m.get(2**63), "signed 64 bits"),
    ("memory_id string 2**63", lambda m, i: m.delete(str(2**63)), "signed 64 bits"),
    ("memory_id of 5,000 digits", lambda m, i: m.history("1" + "0" * 5000), "signed 64 bits"),
]


async def test_past_each_limit_a_typed_error_names_it_and_nothing_changes(memory: AsyncMemory) -> None:
    existing = (await memory.add("Canary memory about Alice", user_id="u", metadata={"k": "v", "n": 1},
                                 infer=False))["results"][0]
    before = await store_snapshot(memory)
    failures: list[str] = []
    for name, call, message in OVER:
        try:
            await call(memory, existing["id"])
        except InvalidInputError as exc:
            if not re.search(message, str(exc)):
                failures.append(f"{name}: message {str(exc)[:300]!r} does not name the limit ({message!r})")
            if not isinstance(exc, ValueError) or not isinstance(exc, PowermemError):
                failures.append(f"{name}: {type(exc).__name__} is not a PowermemError and ValueError")
            if "filter" in name and not isinstance(exc, InvalidFilterError):
                failures.append(f"{name}: {type(exc).__name__} is not an InvalidFilterError")
        except Exception as exc:
            failures.append(f"{name}: raised {type(exc).__name__}: {str(exc)[:200]}")
        else:
            failures.append(f"{name}: accepted")
        if await store_snapshot(memory) != before:
            failures.append(f"{name}: the store changed")
            before = await store_snapshot(memory)
    assert not failures, "\n".join(failures)


async def test_at_each_limit_the_call_works(memory: AsyncMemory) -> None:
    big = text(MAX_TEXT_BYTES, "\U0001f600")
    [first] = (await memory.add(big, user_id="u", metadata=metadata(MAX_METADATA_BYTES), infer=False))["results"]
    assert (await memory.get(first["id"]))["memory"] == big  # type: ignore[index]
    added = await memory.add([{"role": "system", "content": "s"}] * (MAX_MESSAGES - 1)
                             + [{"role": "user", "content": text(MAX_TEXT_BYTES), "name": text(MAX_TEXT_BYTES)}],
                             user_id="u", metadata=nested(MAX_METADATA_DEPTH), infer=False)
    [second] = added["results"]
    assert second["metadata"]["deep"] == nested(MAX_METADATA_DEPTH)["deep"]
    [third] = (await memory.add("Alice likes tea", user_id="u", metadata={"k": "v", "n": 1}, infer=False))["results"]
    updated = await memory.update(third["id"], content=text(MAX_TEXT_BYTES),
                                  metadata={**metadata(MAX_METADATA_BYTES - 8), "n": 1})
    assert updated is not None and updated["memory"] == text(MAX_TEXT_BYTES)

    found = await memory.search(text(MAX_TEXT_BYTES), user_id="u", limit=MAX_SEARCH_LIMIT)
    assert {r["id"] for r in found["results"]} <= {first["id"], second["id"], third["id"]}
    listed = await memory.get_all(user_id="u", limit=MAX_GET_ALL_LIMIT, filters=nots(MAX_FILTER_DEPTH))
    assert {r["id"] for r in listed["results"]} == {second["id"]}  # 31 NOTs: k != "v"
    many = await memory.get_all(user_id="u", filters=conditions(MAX_FILTER_CONDITIONS))
    assert {r["id"] for r in many["results"]} == {third["id"]}  # only the third has n, and n is 1
    tail = await memory.get_all(user_id="u", offset=INT64_MAX)
    assert tail["results"] == [] and tail["total"] == 3
    assert await memory.get(INT64_MAX) is None
    assert await memory.get("0" * 100 + "1") is None
    same = {"memory": {"contains": text(MAX_TEXT_BYTES)}}
    assert {r["id"] for r in (await memory.get_all(user_id="u", filters=same))["results"]} == {second["id"], third["id"]}
    found = await memory.search(text(MAX_TEXT_BYTES, "x"), user_id="u", filters=same, limit=1)
    assert {r["id"] for r in found["results"]} <= {second["id"], third["id"]}


ROWS: list[tuple[str, dict[str, Any]]] = [
    ("int", {"v": 7}),
    ("float", {"v": 2.5}),
    ("whole float", {"v": 3.0}),
    ("true", {"v": True}),
    ("false", {"v": False}),
    ("one", {"v": 1}),
    ("string", {"v": "7"}),
    ("big int", {"v": INT64_MAX}),
    ("nul string", {"v": "a\x00b"}),
    ("plain a", {"v": "a"}),
    ("missing", {}),
    ("nul\x00row", {"w": 1}),
]
NAMES = {name for name, _ in ROWS}


def many(*values: Any) -> list[Any]:
    """``values`` padded to exactly MAX_IN_VALUES with values that match no row."""
    padding = [f"pad {i}" if i % 3 else -1000 - i for i in range(MAX_IN_VALUES - len(values))]
    return [*padding[: len(padding) // 2], *values, *padding[len(padding) // 2:]]


IN_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"v": {"in": many(7)}}, {"int"}),
    ({"v": {"in": many(3)}}, {"whole float"}),
    ({"v": {"in": many(1.0)}}, {"one"}),
    ({"v": {"in": many(True)}}, {"true"}),
    ({"v": {"in": many(False, "7")}}, {"false", "string"}),
    ({"v": {"in": many(2.5, INT64_MAX)}}, {"float", "big int"}),
    ({"v": {"in": many("a\x00b")}}, {"nul string"}),
    ({"v": {"in": many("a")}}, {"plain a"}),
    ({"v": {"in": many()}}, set()),
    ({"v": {"nin": many(7, True, "a")}}, NAMES - {"int", "true", "plain a"}),
    ({"memory": {"in": many("int", "nul string")}}, {"int", "nul string"}),
    ({"NOT": {"v": {"in": many(7)}}}, NAMES - {"int"}),
]


@pytest.fixture
async def kinds(memory: AsyncMemory) -> AsyncMemory:
    for name, meta in ROWS:
        await memory.add(name, user_id="k", metadata=meta, infer=False)
    return memory


async def test_in_and_nin_take_10000_values_of_every_kind(kinds: AsyncMemory) -> None:
    for filters, expected in IN_CASES:
        listed = await kinds.get_all(user_id="k", filters=filters)
        assert {r["memory"] for r in listed["results"]} == expected, str(filters)[:120]
        assert listed["total"] == len(expected)
    found = await kinds.search("int float", user_id="k", filters=IN_CASES[0][0], limit=20)
    assert {r["memory"] for r in found["results"]} == {"int"}


NUL_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"v": "a\x00b"}, {"nul string"}),
    ({"v": "a"}, {"plain a"}),
    ({"v": {"ne": "a\x00b"}}, NAMES - {"nul string"}),
    ({"v": {"in": ["a\x00b", "zz"]}}, {"nul string"}),
    ({"v": {"nin": ["a\x00b"]}}, NAMES - {"nul string"}),
    ({"v": {"contains": "\x00b"}}, {"nul string"}),
    ({"v": {"contains": "b"}}, {"nul string"}),
    ({"v": {"icontains": "A\x00B"}}, {"nul string"}),
    ({"v": {"gt": "a"}}, {"nul string"}),
    ({"v": {"gte": "a"}}, {"nul string", "plain a"}),
    ({"v": {"lt": "a\x00c"}}, {"nul string", "plain a", "string"}),
    ({"memory": "nul\x00row"}, {"nul\x00row"}),
    ({"memory": {"contains": "\x00r"}}, {"nul\x00row"}),
]


async def test_filters_on_strings_holding_nul(kinds: AsyncMemory) -> None:
    for filters, expected in NUL_CASES:
        listed = await kinds.get_all(user_id="k", filters=filters)
        assert {r["memory"] for r in listed["results"]} == expected, repr(filters)
    found = await kinds.search("nul string", user_id="k", filters=NUL_CASES[0][0], limit=20)
    assert {r["memory"] for r in found["results"]} == {"nul string"}
    row = (await kinds.get_all(user_id="k", filters={"v": "a\x00b"}))["results"][0]
    assert row["metadata"]["v"] == "a\x00b"
