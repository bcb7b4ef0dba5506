"""Normalising entity names and sanitising relationship types (the allow-list for Cypher).

Each regex here is a single character class (or a literal with a one-character lookahead):
no nested or adjacent unbounded quantifiers, so each runs in time linear in its input.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_RELATION_ALPHABET = re.compile(r"[^A-Z0-9]+")
RELATIONSHIP_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_NAME_LENGTH = 200


@functools.lru_cache(maxsize=16384)  # names repeat: every add normalises each mention a few times
def normalize_name(name: str) -> str:
    """The key two spellings of one entity share: case, accents-width, possessive, punctuation."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _POSSESSIVE.sub("", text)
    text = _NOT_WORD.sub(" ", text).replace("_", " ")
    return " ".join(text.split())[:MAX_NAME_LENGTH]


def sanitize_relationship(name: str) -> str:
    """UPPER_SNAKE_CASE from [A-Z0-9_] only, starting with a letter; never empty."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    snake = _RELATION_ALPHABET.sub("_", ascii_text.upper()).strip("_")
    snake = snake.lstrip("0123456789_")
    snake = snake[:64].rstrip("_")
    return snake if snake else "RELATED_TO"
