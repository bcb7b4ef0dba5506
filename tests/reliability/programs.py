"""What the injection fuzzer generates: hostile strings, and programs of API calls made of them,
including calls whose sizes and depths sit just under, at and just over each of API.md's limits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.reliability.helpers import INT64
from tests.reliability.input_rules import (
    FILTER_CONDITIONS,
    FILTER_DEPTH,
    GET_ALL_LIMIT,
    IN_VALUES,
    MESSAGES,
    METADATA_BYTES,
    METADATA_DEPTH,
    SEARCH_LIMIT,
    TEXT_BYTES,
    clean_text,
    utf8_size,
)

HOSTILE = [
    "MATCH (n) DETACH DELETE n",
    "'; DROP TABLE memories; --",
    "} RETURN 1 //",
    "' OR '1'='1",
    '" OR ""="',
    "`) DETACH DELETE m //",
    "]->(x) SET x.pwned = true //",
    "{pwned: true}",
    "$user_id",
    "$f0",
    "?",
    "?1",
    ":memory:",
    "'); DELETE FROM history; --",
    "CALL dbms.components() YIELD name RETURN name",
    "UNION SELECT sql FROM sqlite_master --",
    "WITH 1 AS x CALL { MATCH (n) DELETE n } RETURN x",
    "*:*",
    "memory:(* OR x)",
    "a AND NOT b",
    "NEAR(a b)",
    '"unterminated',
    "a* OR b^2~0.5",
    "title:x AND scope_tokens:*",
    "\\",
    "\\'",
    '\\"',
    "/* c */",
    "-- c",
    "//",
    ";",
    "{}",
    "{{x}}",
    "``",
    "''",
    '""',
    "%s",
    "%(x)s",
    "\x00",
    "\x1f",
    "\x1e",
    "\r\n",
    "\t",
    "\x7f",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "\ufb01",
    "\u0130",
    "\u00df",
    "\u03a3",
    "\u01c5",
    "e\u0301",
    "\uff2d\uff21\uff34\uff23\uff28",
    "null",
    "NULL",
    "true",
    "NaN",
    "-0",
    "9223372036854775808",
    " ",
    "md_x",
    "memory",
    "user_id",
]

SPECIALS = "'\"`{}();\\$?:*~^/-%[]|&!<>=,.#@\x00\x1f\n\r\t"
OTHER_ROLES = ["boss", "", "USER", "user ", "system\x00"]
ROLES = ["user", "user", "user", "assistant", "tool", "system", "developer", "function"]


def _join(parts: list[str]) -> str:
    return "".join(parts)


_fragment = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.sampled_from(SPECIALS), min_size=1, max_size=4),
    st.text(max_size=6),
    st.sampled_from(["alice", "Bob", "acme", "jazz", "Berlin", "x", "42"]),
)
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(_fragment, min_size=1, max_size=5).map(_join),
    st.text(max_size=20),
)
# Plain words with hostile glue, so texts are often searchable and hold entity-like names.
wordy_text = st.lists(
    st.one_of(st.sampled_from(["Alice", "Bob", "Acme", "jazz", "Berlin", "likes", "works", "at"]), _fragment),
    min_size=1, max_size=7,
).map(" ".join)
any_text = st.one_of(hostile_text, wordy_text)
ident = st.one_of(st.sampled_from(HOSTILE), st.lists(_fragment, min_size=1, max_size=3).map(_join))
small_int = st.one_of(st.integers(-1000, 1000), st.sampled_from([INT64[0], INT64[1], 0, -1]))
scalar = st.one_of(
    any_text, small_int, st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
bad_scalar = st.sampled_from([math.nan, math.inf, -math.inf, 2**64, -(2**70)])
metadata_key = st.one_of(
    st.sampled_from(["k", "tag", "prio", "role", "name", "md_x", "memory", "user_id", "a b", "1x", "$gt", "AND"]),
    ident,
)
json_value = st.recursive(
    scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(ident, inner, max_size=3)),
    max_leaves=6,
)
metadata = st.one_of(
    st.none(),
    st.dictionaries(metadata_key, json_value, max_size=4),
    st.dictionaries(metadata_key, json_value, max_size=4),
    st.dictionaries(metadata_key, st.one_of(json_value, bad_scalar), min_size=1, max_size=3),
)
filter_key = st.one_of(
    st.sampled_from(["k", "tag", "prio", "memory", "role", "name", "missing", "md_k", "_x"]),
    ident,
)
filter_value = st.one_of(scalar.filter(lambda v: v is not None), bad_scalar, st.lists(scalar, max_size=2))
OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains", "exists",
       "$eq", "$in", "$regex", "bogus"]


@st.composite
def _condition(draw: st.DrawFn) -> dict[Any, Any]:
    key = draw(filter_key)
    if draw(st.booleans()):
        return {key: draw(filter_value)}
    op = draw(st.sampled_from(OPS))
    if op in ("in", "nin", "$in"):
        value: Any = draw(st.one_of(st.lists(filter_value, max_size=3), filter_value))
    elif op == "exists":
        value = draw(st.one_of(st.booleans(), filter_value))
    else:
        value = draw(filter_value)
    return {key: {op: value}}


filters = st.one_of(
    st.none(),
    _condition(),
    st.builds(lambda a, b: {**a, **b}, _condition(), _condition()),
    st.builds(lambda a, b, op: {op: [a, b]}, _condition(), _condition(), st.sampled_from(["AND", "OR", "$or"])),
    st.builds(lambda a: {"NOT": a}, _condition()),
    st.sampled_from([[], "k = 1", {"OR": []}, {"NOT": {}}, {1: 2}]),
)
scope_value = st.one_of(st.none(), st.none(), ident)


@st.composite
def message(draw: st.DrawFn) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": draw(st.one_of(st.sampled_from(ROLES), st.sampled_from(OTHER_ROLES))),
                           "content": draw(any_text)}
    if draw(st.integers(0, 4)) == 0:
        msg["name"] = draw(ident)
    return msg


messages = st.one_of(any_text, message(), st.lists(message(), min_size=1, max_size=3))


# -- operations ------------------------------------------------------------------------------------


@dataclass
class AddRaw:
    messages: Any
    agent_id: str | None
    run_id: str | None
    metadata: Any


@dataclass
class AddInfer:
    messages: Any
    agent_id: str | None
    metadata: Any
    facts: list[str]
    entities: list[tuple[str, str]]
    relations: list[tuple[str, str, str]]
    garbage: bool  # the LLM answers with JSON of the wrong shape (after the corrective retry too)


@dataclass
class Search:
    query: str
    agent_id: str | None
    filters: Any
    limit: int
    threshold: float | None


@dataclass
class GetAll:
    agent_id: str | None
    run_id: str | None
    filters: Any
    order: str
    limit: int = 1000
    offset: int = 0


@dataclass
class Get:
    ref: int


@dataclass
class Update:
    ref: int
    content: Any
    metadata: Any


@dataclass
class Delete:
    ref: int


@dataclass
class History:
    ref: int


@dataclass
class Foreign:
    """A call of another tenant (or a mismatched agent) on one of this tenant's memories."""

    ref: int
    method: str
    other: str


@dataclass
class NastyId:
    memory_id: str
    method: str


@dataclass
class DeleteAll:
    agent_id: str | None
    run_id: str | None


ref = st.integers(0, 6)
llm_name = st.one_of(ident, st.sampled_from(["Alice", "Bob", "Acme", "Berlin", "jazz"]))
operation = st.one_of(
    st.builds(AddRaw, messages, scope_value, scope_value, metadata),
    st.builds(AddRaw, messages, st.none(), st.none(), metadata),
    st.builds(
        AddInfer, messages, scope_value, metadata,
        st.lists(st.one_of(wordy_text, hostile_text), max_size=3),
        st.lists(st.tuples(llm_name, ident), max_size=3),
        st.lists(st.tuples(llm_name, st.one_of(ident, st.sampled_from(["WORKS_AT", "lives in"])), llm_name),
                 max_size=3),
        st.integers(0, 9).map(lambda n: n == 0),
    ),
    st.builds(Search, any_text, scope_value, filters, st.one_of(st.integers(1, 50), st.sampled_from([0, -1])),
              st.one_of(st.none(), st.floats(0, 1), st.sampled_from([1.5, -0.1]))),
    st.builds(GetAll, scope_value, scope_value, filters, st.sampled_from(["asc", "desc"]),
              st.sampled_from([1000, 1, 2]), st.sampled_from([0, 0, 1, 3])),
    st.builds(Get, ref),
    st.builds(Update, ref, st.one_of(st.none(), any_text), metadata),
    st.builds(Delete, ref),
    st.builds(History, ref),
    st.builds(Foreign, ref, st.sampled_from(["get", "update", "delete", "history", "agent"]), ident),
    st.builds(NastyId, st.one_of(ident, st.integers(1, 10**6).map(str), st.sampled_from(["0", "-1", " 7 ", "٣"])),
              st.sampled_from(["get", "update", "delete", "history"])),
)


@dataclass
class Program:
    user: str
    ops: list[Any]
    delete_all: DeleteAll | None


valid_metadata_values = st.dictionaries(metadata_key, scalar, max_size=4)
# Every program starts with an add that is likely valid, so calls on ids have targets.
first_add = st.builds(AddRaw, st.lists(wordy_text.map(lambda t: {"role": "user", "content": t}), min_size=1,
                                       max_size=3), scope_value, scope_value,
                      valid_metadata_values)
programs = st.builds(
    Program, ident, st.tuples(first_add, st.lists(operation, min_size=1, max_size=6)).map(lambda t: [t[0], *t[1]]),
    st.one_of(st.none(), st.none(), st.none(), st.builds(DeleteAll, scope_value, scope_value)),
)


# -- around the limits -----------------------------------------------------------------------------
#
# Each limit is tried one under (delta -1), at (0) and one over (+1) its value. Payloads are built
# from a short drawn hostile fragment padded with a drawn filler character (one to four bytes of
# UTF-8, U+0000 and quotes included) to the exact size, so hypothesis draws little data. Apart
# from the one size, every call is valid: under and at must succeed, over must be refused naming
# the limit (fuzzing.py checks both).

POSITIONS = {-1: "under", 0: "at", 1: "over"}
FILLERS = ["x", "\u00e9", "\u20ac", "\U0001f600", "\x00", "'", '"', "\\", "\u200b"]


@dataclass
class AtLimit:
    limit: str
    delta: int
    op: Any


def sized_text(fragment: str, size: int, filler: str) -> str:
    """``fragment`` (lone surrogates replaced) padded with ``filler`` to exactly ``size`` bytes."""
    head = "L" + clean_text(fragment)
    if utf8_size(head) > size // 2:
        head = "L"
    room = size - utf8_size(head)
    width = utf8_size(filler)
    return head + filler * (room // width) + "x" * (room % width)


def _json_size(value: Any) -> int:
    return utf8_size(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def sized_metadata(fragment: str, size: int, filler: str) -> dict[str, Any]:
    """Metadata whose compact JSON is exactly ``size`` bytes (a filler escaped in JSON, like
    U+0000 as \\u0000, costs its escape)."""
    meta: dict[str, Any] = {"k": clean_text(fragment), "prio": 1, "pad": ""}
    room = size - _json_size(meta)
    width = _json_size(filler) - 2
    meta["pad"] = filler * (room // width) + "x" * (room % width)
    return meta


def deep_metadata(fragment: str, depth: int, dict_first: bool) -> dict[str, Any]:
    """Metadata nesting ``depth`` dicts and lists (the metadata dict is the first)."""
    value: Any = clean_text(fragment)
    for i in range(depth - 1):
        value = {clean_text(fragment) or "k": value} if (i % 2 == 0) == dict_first else [value]
    return {"deep": value, "k": clean_text(fragment)}


_clean_words = wordy_text.map(lambda text: "W " + clean_text(text))
_safe_key = st.sampled_from(["k", "tag", "prio", "role", "name", "missing", "memory", "deep", "pad"])
_clean_text = any_text.map(clean_text)
_clean_scalar = st.one_of(_clean_text, small_int, st.booleans(), st.floats(allow_nan=False, allow_infinity=False,
                                                                             width=32))


@st.composite
def valid_condition(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(_safe_key)
    op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains",
                               "exists"]))
    if op in ("in", "nin"):
        value: Any = draw(st.lists(_clean_scalar, max_size=3))
    elif op in ("contains", "icontains"):
        value = draw(_clean_text)
    elif op == "exists":
        value = draw(st.booleans())
    elif op in ("eq", "ne"):
        value = draw(_clean_scalar)
    else:
        value = draw(st.one_of(_clean_text, small_int))
    return {key: {op: value}}


def deep_filter(leaf: dict[str, Any], other: dict[str, Any], depth: int, shape: str) -> dict[str, Any]:
    node = leaf
    for i in range(depth - 1):
        kind = "NOT" if shape == "not" else ["AND", "OR", "NOT"][i % 3]
        node = {"NOT": node} if kind == "NOT" else {kind: [node, other]}
    return node


def wide_filter(conditions: list[dict[str, Any]], n: int, joiner: str) -> dict[str, Any]:
    return {joiner: [conditions[i % len(conditions)] for i in range(n)]}


def long_in(key: str, op: str, values: list[Any], n: int) -> dict[str, Any]:
    """``values`` padded to ``n`` with values of every kind that no generated memory holds."""
    padding = [(f"pad\x00{i}", -10_000 - i, i + 0.25)[i % 3] for i in range(max(0, n - len(values)))]
    return {key: {op: [*values, *padding][:n]}}


def _filters_near(limit: str, delta: int) -> st.SearchStrategy[dict[str, Any]]:
    if limit == "filter_depth":
        return st.builds(deep_filter, valid_condition(), valid_condition(), st.just(FILTER_DEPTH + delta),
                         st.sampled_from(["not", "mixed"]))
    if limit == "filter_conditions":
        return st.builds(wide_filter, st.lists(valid_condition(), min_size=1, max_size=3),
                         st.just(FILTER_CONDITIONS + delta), st.sampled_from(["AND", "OR"]))
    if limit == "in_values":
        return st.builds(long_in, _safe_key, st.sampled_from(["in", "nin"]), st.lists(_clean_scalar, max_size=4),
                         st.just(IN_VALUES + delta))
    return st.builds(lambda key, op, frag, filler: {key: {op: sized_text(frag, TEXT_BYTES + delta, filler)}},
                     _safe_key, st.sampled_from(["eq", "ne", "contains", "icontains", "gte"]), any_text,
                     st.sampled_from(FILLERS))


def _filter_op(delta: int, limit: str) -> st.SearchStrategy[AtLimit]:
    near = _filters_near(limit, delta)
    return st.one_of(
        st.builds(GetAll, st.none(), st.none(), near, st.sampled_from(["asc", "desc"])),
        st.builds(Search, _clean_words, st.none(), near, st.just(10), st.none()),
    ).map(lambda op: AtLimit(limit, delta, op))


def _text_arg(delta: int) -> st.SearchStrategy[str]:
    return st.builds(sized_text, any_text, st.just(TEXT_BYTES + delta), st.sampled_from(FILLERS))


def _user_message(content: str) -> dict[str, Any]:
    return {"role": "user", "content": content}


def limit_op(limit: str, delta: int) -> st.SearchStrategy[AtLimit]:
    """One call with ``limit`` at ``delta`` from its value and otherwise valid input."""
    if limit.startswith(("filter_", "in_")):
        return _filter_op(delta, limit)
    text = _text_arg(delta)
    calls: dict[str, st.SearchStrategy[Any]] = {
        "message_bytes": st.one_of(
            st.builds(AddRaw, text, st.none(), st.none(), st.none()),
            st.builds(AddRaw, st.builds(lambda t: [_user_message("first"), _user_message(t)], text), st.none(),
                      st.none(), st.none()),
            st.builds(AddRaw, st.builds(lambda t: {"role": "user", "content": "named", "name": t}, text), st.none(),
                      st.none(), st.none()),
        ),
        "messages_count": st.builds(
            AddRaw, st.builds(lambda t: [_user_message("L" + clean_text(t))]
                              + [{"role": "system", "content": clean_text(t)}] * (MESSAGES - 1 + delta), any_text),
            st.none(), st.none(), st.none()),
        "query_bytes": st.builds(Search, text, st.none(), st.none(), st.just(10), st.none()),
        "content_bytes": st.builds(Update, ref, text, st.none()),
        "metadata_bytes": st.one_of(
            st.builds(AddRaw, _clean_words, st.none(), st.none(),
                      st.builds(sized_metadata, any_text, st.just(METADATA_BYTES + delta), st.sampled_from(FILLERS))),
            st.builds(Update, ref, st.none(),
                      st.builds(sized_metadata, any_text, st.just(METADATA_BYTES + delta), st.sampled_from(FILLERS))),
        ),
        "metadata_depth": st.one_of(
            st.builds(AddRaw, _clean_words, st.none(), st.none(),
                      st.builds(deep_metadata, any_text, st.just(METADATA_DEPTH + delta), st.booleans())),
            st.builds(Update, ref, st.none(),
                      st.builds(deep_metadata, any_text, st.just(METADATA_DEPTH + delta), st.booleans())),
        ),
        "search_limit": st.builds(Search, _clean_words, st.none(), st.none(), st.just(SEARCH_LIMIT + delta), st.none()),
        "get_all_limit": st.builds(GetAll, st.none(), st.none(), st.none(), st.sampled_from(["asc", "desc"]),
                                   st.just(GET_ALL_LIMIT + delta)),
        "offset": st.builds(GetAll, st.none(), st.none(), st.none(), st.sampled_from(["asc", "desc"]), st.just(10),
                            st.just(INT64[1] + delta)),
        "memory_id": st.builds(NastyId, st.sampled_from(
            [str(INT64[1] + delta), "0" * 30 + str(INT64[1] + delta)] + (["1" + "0" * 5000] if delta > 0 else [])),
            st.sampled_from(["get", "update", "delete", "history"])),
    }
    return calls[limit].map(lambda op: AtLimit(limit, delta, op))


LIMITS = ["message_bytes", "messages_count", "query_bytes", "content_bytes", "metadata_bytes", "metadata_depth",
          "filter_depth", "filter_conditions", "in_values", "filter_text", "search_limit", "get_all_limit", "offset",
          "memory_id"]


def limit_program(limit: str, delta: int) -> st.SearchStrategy[Program]:
    """A first add, the call at the limit, then maybe one ordinary call (which may meet what
    the limit call stored: a 64 KiB memory searched, updated or deleted)."""
    return st.builds(
        Program, ident,
        st.tuples(_valid_first_add, limit_op(limit, delta), st.lists(operation, max_size=1)).map(
            lambda t: [t[0], t[1], *t[2]]),
        st.none(),
    )


# Unlike first_add, always valid: the call at the limit may update what it adds.
_valid_first_add = st.builds(AddRaw, st.lists(_clean_words.map(_user_message), min_size=1, max_size=2), st.none(),
                             st.none(), st.dictionaries(_safe_key, _clean_scalar, max_size=3))
