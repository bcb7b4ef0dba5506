"""Query text -> plain search terms, the same for both stores' full-text engines.

The full-text search also asks for each term's regular inflections (``with_inflections``):
neither store's index stems words.

Terms are lower-case word tokens; the stores quote them, so FTS5 or Lucene syntax in a query
(``AND OR NOT ( ) " * ~ : \\ /``) is searched for as text, never interpreted.
"""

from __future__ import annotations

import re

from powermem.text.stopwords import TERM_STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32
MAX_INFLECTED = 2 * MAX_TERMS  # query terms and their inflections, at most
_VOWELS = frozenset("aeiou")
_MIN_BASE = 3  # letters a base form keeps ("win" from "winning", not "th" from "thing")
_CVC = re.compile(r"[^aeiou][aeiou][^aeiouwxy]$")  # consonant, vowel, consonant at the end


def search_terms(text: str) -> list[str]:
    """The first ``MAX_TERMS`` distinct terms, in order; the scan stops once it has them."""
    terms: dict[str, None] = {}
    for match in _WORD.finditer(text.casefold()):  # casefold first: it can split a word ("İ" -> "i̇")
        token = match.group().strip("_")
        if len(token) > 1 and token not in TERM_STOPWORDS:
            terms[token] = None
            if len(terms) == MAX_TERMS:
                break
    return list(terms)


def inflections(term: str) -> list[str]:
    """Other regular English forms of ``term``: its base form and the base's -s, -ed and -ing
    forms ("games" -> game, gamed, gaming; "tried" -> tries, try, trying). Neither store's
    full-text index stems, so "What games does Nate play?" would not meet "the game was
    called Counter-Strike" otherwise. A guess that is no word ("gamed") costs a lookup and
    matches nothing. Irregular forms ("won") are not guessed."""
    if len(term) < _MIN_BASE or not (term.isascii() and term.isalpha()):
        return []
    forms = {form for base in _bases(term) for form in _inflect(base)}
    return sorted(f for f in forms if f != term and len(f) >= _MIN_BASE and f not in TERM_STOPWORDS)


def with_inflections(terms: list[str]) -> list[str]:
    """``terms`` first, then their ``inflections``, up to ``MAX_INFLECTED`` terms in all."""
    found = dict.fromkeys(terms)
    for term in terms:
        for form in inflections(term):
            if len(found) >= MAX_INFLECTED:
                return list(found)
            found.setdefault(form)
    return list(found)


def _bases(word: str) -> set[str]:
    """The base forms ``word`` may be inflected from (itself when it has no inflection)."""
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= _MIN_BASE and _VOWELS & set(stem):
            if stem[-1] == stem[-2] and stem[-1] not in "lsz":
                return {stem[:-1]}  # winning -> win
            if suffix == "ed" and stem.endswith("i"):
                return {stem[:-1] + "y"}  # tried -> try
            return {stem, stem + "e"}  # painted -> paint; loved -> love (and "lov", no word)
    if len(word) <= _MIN_BASE:
        return {word}
    if word.endswith("ies"):
        return {word[:-3] + "y"}
    if word.endswith(("ches", "shes", "xes", "sses")):
        return {word[:-2]}
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return {word[:-1]}
    return {word}


def _inflect(base: str) -> set[str]:
    """``base`` and its -s, -ed and -ing forms, by the regular spelling rules."""
    if base.endswith("y") and len(base) > 1 and base[-2] not in _VOWELS:
        return {base, base[:-1] + "ies", base[:-1] + "ied", base + "ing"}
    if base.endswith("e"):
        return {base, base + "s", base + "d", base[:-1] + "ing"}
    forms = {base, base + ("es" if base.endswith(("ch", "sh", "x", "s")) else "s"), base + "ed", base + "ing"}
    if _CVC.search(base):
        # A final stressed syllable doubles its consonant (win -> winning, submit -> submitted,
        # but visit -> visited); the spelling does not tell the stress, so both are asked for.
        forms |= {base + base[-1] + "ed", base + base[-1] + "ing"}
    return forms
