"""What the injection fuzzer generates: hostile strings, and programs of API calls made of them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.reliability.helpers import INT64

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
    st.builds(GetAll, scope_value, scope_value, filters, st.sampled_from(["asc", "desc"])),
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
