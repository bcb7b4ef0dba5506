"""An answer fenced as a Markdown code block is unwrapped, in linear time whatever it holds."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powermem.llm.client import _unfenced
from tests.support.hostile_text import KIB

# The regex _unfenced replaced (cubic on a run of blanks), as the reference on short texts.
_REFERENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ("```JSON {} ```", "{}"),
        ("```{}```", "{}"),
        ("{}", "{}"),
        ("```", "```"),
        ("``````", ""),
        ("```json```", ""),
        ("``` {} ``` trailing", "``` {} ``` trailing"),
    ],
)
def test_a_fence_around_the_whole_answer_is_removed(answer: str, body: str) -> None:
    assert _unfenced(answer) == body


@pytest.mark.parametrize(
    "answer",
    [
        "```" + " " * 64 * KIB + "x",  # the regex took 7 s at 2,000 blanks
        "```json" + "\n" * 64 * KIB + "```",
        "```x" + " " * 64 * KIB + "x```y",
        "```" + "``` " * 16 * KIB,
    ],
)
def test_blank_runs_take_linear_time(answer: str) -> None:
    start = time.process_time()
    _unfenced(answer.strip())
    assert time.process_time() - start < 1.0


_PIECES = ["`", "```", "json", "JSON", "jſon", "Json", " ", "\n", "\t", "\u00a0", "{", "}", "x", "js", "on"]


@settings(max_examples=1000, deadline=None, database=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_same_body_as_the_regex_it_replaced(answer: str) -> None:
    text = answer.strip()  # _parse strips the answer first
    fenced = _REFERENCE.match(text)
    assert _unfenced(text) == (fenced.group(1) if fenced else text)
