"""Repairing a model's answer: the JSON object is found in fences and prose, trailing commas and
Python dicts are mended, valid JSON is never changed, and hostile input costs linear time."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powermem.llm.repair import (
    NoJSONObject,
    first_json_object,
    json_object_candidates,
    parse_json_object,
    repair_json,
)
from tests.support.hostile_text import KIB

_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                            max_size=4), max_leaves=12)
OBJECTS = st.dictionaries(st.text(max_size=8), _VALUES, max_size=5)
# Prose before the object holds no "{" (it would open an object); after it, anything.
_BEFORE = st.text(alphabet=st.characters(blacklist_characters="{", blacklist_categories=("Cs",)), max_size=40)
_AFTER = st.text(max_size=40)


@settings(max_examples=150, deadline=None, database=None)
@given(OBJECTS, _BEFORE, _AFTER, st.sampled_from(["", "```", "```json\n", "```JSON "]), st.sampled_from([None, 2]),
       st.booleans())
def test_any_object_in_fences_and_prose_round_trips(obj: dict[str, Any], before: str, after: str, fence: str,
                                                    indent: int | None, ascii_only: bool) -> None:
    body = json.dumps(obj, indent=indent, ensure_ascii=ascii_only)
    wrapped = f"{before}{fence}{body}{'```' if fence else ''}{after}"
    assert parse_json_object(wrapped) == obj


@settings(max_examples=150, deadline=None, database=None)
@given(_VALUES, st.sampled_from([None, 0, 2]))
def test_valid_json_is_never_changed(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert repair_json(text) == text


def _pythonish(value: Any) -> str:
    """A model's sloppy rendering: single-quoted strings, Python literals, trailing commas."""
    if isinstance(value, dict):
        return "{" + "".join(f"{_single(k)}: {_pythonish(v)}, " for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + "".join(f"{_pythonish(v)},\n " for v in value) + "]"
    if isinstance(value, str):
        return _single(value)
    return {None: "None", True: "True", False: "False"}.get(value, json.dumps(value)) \
        if value is None or isinstance(value, bool) else json.dumps(value)


def _single(text: str) -> str:
    inner = json.dumps(text)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{inner}'"


@settings(max_examples=150, deadline=None, database=None)
@given(OBJECTS)
def test_trailing_commas_and_single_quotes_are_mended(obj: dict[str, Any]) -> None:
    assert parse_json_object("Result: " + _pythonish(obj) + " -- done") == obj


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"a": [1, 2,], "b": {"c": 3,},}', {"a": [1, 2], "b": {"c": 3}}),
        ("{'a': 'it\\'s', 'b': \"x\"}", {"a": "it's", "b": "x"}),
        ("{'a': 'it's fine', 'b': 1}", {"a": "it's fine", "b": 1}),  # an apostrophe inside
        ("{'q': 'say \"hi\"'}", {"q": 'say "hi"'}),
        ('{"a": None, "b": True, "c": False}', {"a": None, "b": True, "c": False}),
        ('{"Nonesuch": "None, True,}", "t": "it\'s"}', {"Nonesuch": "None, True,}", "t": "it's"}),
        ('I think {maybe} this: {"a": 1}', {"a": 1}),  # a balanced non-JSON brace pair first
        ('Note { unbalanced. Answer: {"a": {"b": 2}} bye', {"a": {"b": 2}}),
        ('{"text": "line one\nline two"}', {"text": "line one\nline two"}),  # raw newline in a string
        ('{"a": "}{"} trailing {"b": 2}', {"a": "}{"}),
        ("<answer>{\"a\": [\"x\", ]}</answer>", {"a": ["x"]}),
    ],
)
def test_common_slips(answer: str, value: Any) -> None:
    assert parse_json_object(answer) == value


def test_strings_keep_their_commas_quotes_and_words() -> None:
    text = '{"a": "x, }", "b": "\'single\'", "c": "None True", "d": "\\\\", "e": "\\"q\\","}'
    assert repair_json(text) == text


@pytest.mark.parametrize("answer", ["", "no json at all", "just { an open brace", '{"a": "never closed}'])
def test_no_object_is_reported_as_such(answer: str) -> None:
    with pytest.raises(NoJSONObject):
        parse_json_object(answer)


def test_an_object_that_stays_broken_is_invalid_json() -> None:
    with pytest.raises(ValueError, match="invalid JSON") as info:
        parse_json_object('{"a": 1 "b": 2}')
    assert not isinstance(info.value, NoJSONObject)


def test_candidates_are_disjoint_and_in_order() -> None:
    assert list(json_object_candidates('a {x} b {"y": 1} c {"z": {"w": 2}}')) == ["{x}", '{"y": 1}', '{"z": {"w": 2}}']
    assert first_json_object("none") is None


@pytest.mark.parametrize(
    "answer",
    [
        "{" * 64 * KIB,
        "}" * 64 * KIB,
        '"' * 64 * KIB,
        "'" * 64 * KIB,
        "{'" * 32 * KIB,
        '{"' * 32 * KIB,
        "{" + "\\" * 64 * KIB,
        '{"' + '\\"' * 32 * KIB,
        "{'" + "\\'" * 32 * KIB,
        "{'a" + "' " * 32 * KIB,
        "{" + "," * 64 * KIB,
        "{" + ", " * 32 * KIB + "x",
        "{x}" * 21 * KIB,
        "{" + "{x}" * 21 * KIB,
        "[" * 64 * KIB,
        "{'a': " + "None" * 16 * KIB,
        "{" + "N" * 64 * KIB,
    ],
)
def test_adversarial_input_takes_linear_time(answer: str) -> None:
    start = time.process_time()
    for step in (first_json_object, repair_json, lambda t: list(json_object_candidates(t))):
        step(answer)
    try:
        parse_json_object(answer)
    except ValueError:
        pass
    assert time.process_time() - start < 1.0
