"""Texts built to make a text analyser backtrack or re-scan: each pattern, at any size.

The first three are the ones issue 13 reported (1.5 s, 6.9 s, 10.6 s at 80 KB before the
fix); the rest aim at the other ways a regex or a prefix scan can go quadratic: long
whitespace or newline runs between matches, one giant capitalised run, connector words,
sentence ends, a speaker prefix that never closes, non-ASCII capitals.
"""

from __future__ import annotations

from collections.abc import Callable

KIB = 1024


def _between(head: str, filler: str, tail: str) -> Callable[[int], str]:
    def make(size: int) -> str:
        room = max(0, size - len(head) - len(tail))
        return head + (filler * (room // len(filler) + 1))[:room] + tail

    return make


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda size: (unit * (size // len(unit) + 1))[:size]


PATTERNS: dict[str, Callable[[int], str]] = {
    "A + spaces + b": _between("A", " ", "b"),
    "'X y ' repeated": _repeat("X y "),
    "'Xy. ' repeated": _repeat("Xy. "),
    "A + newlines + b": _between("A", "\n", "b"),
    "A + tabs/spaces + :": _between("A", "\t ", ":"),
    "'Ab ' repeated (one capitalised run)": _repeat("Ab "),
    "'A of ' repeated (connectors)": _repeat("A of "),
    "'Xy \\n' repeated": _repeat("Xy \n"),
    "'X. ' repeated": _repeat("X. "),
    "spaces + 'Bob Lee' (speaker, no colon)": _between("", " ", "Bob Lee Ann Kim"),
    "'Éa ' repeated (non-ASCII)": _repeat("Éa "),
    "'X'y ' repeated (apostrophes)": _repeat("X'y "),
    "'a' repeated (one long word)": _repeat("a"),
    "'The ' repeated (stopwords in one run)": _repeat("The "),
}


def hostile_texts(size: int) -> dict[str, str]:
    """Every pattern at exactly ``size`` characters."""
    return {name: make(size) for name, make in PATTERNS.items()}
