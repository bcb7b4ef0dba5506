"""Getting the JSON object out of what a model said, and mending the usual slips.

Models wrap their answer in prose or code fences, leave a trailing comma, or write a Python
dict (single quotes, ``None``). Everything here is one left-to-right pass: an answer may
echo user text, so nothing backtracks or rescans (64 KiB of ``{`` or quotes costs
milliseconds); the only regexes are character classes that find the next character worth
a look.
Valid JSON is never changed: double-quoted strings are copied byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

__all__ = ["NoJSONObject", "first_json_object", "json_object_candidates", "parse_json_object", "repair_json"]

# A quote right after one of these (or at the start) opens a string; elsewhere it is an
# apostrophe in prose ("it's").
_VALUE_START = "{[,:"
_VALUE_END = ",:}]"
_PYTHON_WORDS = {"True": "true", "False": "false", "None": "null"}
# What the scans stop at; everything between is copied or skipped in one slice.
_BRACES_AND_QUOTES = re.compile(r"[{}\"']")
_REPAIRABLE = re.compile(r"[\"',]|\b(?:True|False|None)\b")
# A parse is tried on at most this many candidates: an answer with more brace groups before
# its JSON is not worth the time.
MAX_CANDIDATES = 32


class NoJSONObject(ValueError):
    """The text holds no balanced ``{...}`` at all."""


def parse_json_object(text: str) -> Any:
    """The JSON value of ``text``; else of its first balanced ``{...}`` that parses, as is or
    repaired.

    Raises ``NoJSONObject`` when there is no balanced object, ``ValueError`` (naming the
    first candidate's problem) when none parses even repaired.
    """
    try:
        return _loads(text)
    except ValueError:
        pass
    first_problem: ValueError | None = None
    for candidate in islice(json_object_candidates(text), MAX_CANDIDATES):
        try:
            return _loads(candidate)
        except ValueError:
            pass
        try:
            return _loads(repair_json(candidate))
        except ValueError as exc:
            first_problem = first_problem or exc
    if first_problem is None:
        raise NoJSONObject("the answer holds no JSON object")
    raise ValueError(f"invalid JSON: {first_problem}")


def _loads(text: str) -> Any:
    try:
        # strict=False: a raw newline inside a string is a common slip, and harmless.
        return json.loads(text, strict=False)
    except RecursionError:
        raise ValueError("the JSON nests too deeply") from None


def first_json_object(text: str) -> str | None:
    """The first balanced ``{...}`` of ``text`` (braces inside strings do not count), or None."""
    return next(json_object_candidates(text), None)


def json_object_candidates(text: str) -> Iterator[str]:
    """The balanced ``{...}`` spans of ``text`` that are not inside another, in order.

    One pass with a stack of open braces. When the text ends (or a string never closes)
    with braces still open, the earliest-starting pair closed since the last complete span
    comes last: a stray ``{`` in the prose does not hide the object after it. The spans do
    not overlap, so parsing each costs linear time in all.
    """
    stack: list[int] = []
    best: tuple[int, int] | None = None
    prev = ""
    i, n = 0, len(text)
    while i < n:
        if not stack:
            i = text.find("{", i)
            if i < 0:
                return
            stack.append(i)
            prev, i = "{", i + 1
            continue
        found = _BRACES_AND_QUOTES.search(text, i)
        if found is None:
            break
        j = found.start()
        prev = _last_significant(text, i, j, prev)
        ch = text[j]
        if ch == '"' or (ch == "'" and prev in _VALUE_START):
            end = _string_end(text, j)
            if end < 0:
                break
            i, prev = end + 1, ch
            continue
        if ch == "{":
            stack.append(j)
        elif ch == "}":
            opened = stack.pop()
            if not stack:
                best = None
                yield text[opened : j + 1]
            elif best is None or opened < best[0]:
                best = (opened, j)
        i, prev = j + 1, ch
    if best is not None:
        yield text[best[0] : best[1] + 1]


def repair_json(text: str) -> str:
    """``text`` with trailing commas dropped, single-quoted strings double-quoted and
    Python's ``True``/``False``/``None`` spelled as JSON; double-quoted strings untouched."""
    out: list[str] = []
    prev = ""
    i, n = 0, len(text)
    while i < n:
        found = _REPAIRABLE.search(text, i)
        if found is None:
            out.append(text[i:])
            break
        j = found.start()
        out.append(text[i:j])
        prev = _last_significant(text, i, j, prev)
        ch = text[j]
        if ch == '"' or (ch == "'" and (prev == "" or prev in _VALUE_START)):
            end = _string_end(text, j)
            if end < 0:
                out.append(text[j:])
                break
            out.append(text[j : end + 1] if ch == '"' else _double_quoted(text[j + 1 : end]))
            i, prev = end + 1, '"'
        elif ch == "," and _next_significant(text, j + 1) in ("}", "]"):
            i = j + 1  # a trailing comma: dropped
        elif ch in "TFN" and (prev == "" or prev in _VALUE_START):
            word = found.group()
            out.append(_PYTHON_WORDS[word])
            i, prev = j + len(word), "e"
        else:
            out.append(found.group())
            i, prev = found.end(), found.group()[-1]
    return "".join(out)


def _last_significant(text: str, start: int, end: int, prev: str) -> str:
    """The last non-blank character of ``text[start:end]``, else ``prev``."""
    chunk = text[start:end].rstrip()
    return chunk[-1] if chunk else prev


def _string_end(text: str, start: int) -> int:
    """Index of the quote closing the string opened at ``start``, or -1.

    A single-quoted string ends only at a quote followed by ``,:}]`` (or the end), so an
    apostrophe inside it ("it's") does not end it. Each character is looked at a bounded
    number of times: backslash runs and blank runs end at the previous or next quote.
    """
    quote = text[start]
    j = start + 1
    while True:
        q = text.find(quote, j)
        if q < 0:
            return -1
        j = q + 1
        if _escaped(text, q, start):
            continue
        if quote == '"':
            return q
        after = _next_significant(text, q + 1)
        if after == "" or after in _VALUE_END:
            return q


def _escaped(text: str, at: int, floor: int) -> bool:
    k = at - 1
    while k > floor and text[k] == "\\":
        k -= 1
    return (at - 1 - k) % 2 == 1


def _next_significant(text: str, i: int) -> str:
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    return text[i] if i < n else ""


def _double_quoted(body: str) -> str:
    """The body of a single-quoted string as a JSON string: ``\\'`` unescaped, ``"`` escaped."""
    out = ['"']
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n:
            nxt = body[i + 1]
            out.append("'" if nxt == "'" else ch + nxt)
            i += 2
            continue
        out.append('\\"' if ch == '"' else ch)
        i += 1
    out.append('"')
    return "".join(out)
