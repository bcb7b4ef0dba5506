from __future__ import annotations

import time

import pytest

from powermem.text.stopwords import TERM_STOPWORDS
from powermem.text.terms import MAX_INFLECTED, MAX_TERMS, inflections, search_terms, with_inflections
from tests.support.hostile_text import KIB, hostile_texts


def test_search_terms_drop_syntax_and_stopwords() -> None:
    assert search_terms('What did "Alice" say AND (NOT bob*) ~ : \\ /?') == ["alice", "say", "bob"]


def test_terms_are_the_first_distinct_ones_in_order() -> None:
    words = [f"w{i}" for i in range(100)]
    assert search_terms(" ".join(words + words)) == words[:MAX_TERMS]


def test_casefolding_may_split_a_word() -> None:
    # "İ" casefolds to "i" plus a combining dot, which is not a word character.
    assert search_terms("İstanbul") == ["stanbul"]


@pytest.mark.parametrize(("name", "text"), hostile_texts(64 * KIB).items())
def test_hostile_64_kib_queries_are_linear(name: str, text: str) -> None:
    start = time.process_time()
    terms = search_terms(text)
    assert time.process_time() - start < 1.0, name
    assert len(terms) <= MAX_TERMS and not set(terms) & TERM_STOPWORDS


def test_a_query_of_only_stopwords_has_no_terms() -> None:
    assert search_terms("the a of " * 7000) == []


@pytest.mark.parametrize(("term", "expected"), [
    ("games", {"game", "gaming", "gamed"}),  # plural -> base -> its forms
    ("winning", {"win", "wins", "winned"}),  # doubled consonant undone
    ("tried", {"try", "tries", "trying"}),
    ("loved", {"love", "loves", "loving"}),
    ("cities", {"city"}),
    ("visit", {"visits", "visited", "visiting"}),
    ("submit", {"submitted", "submitting"}),  # stress is not in the spelling: both doublings asked
    ("watches", {"watch", "watched", "watching"}),
])
def test_inflections_include_the_regular_forms(term: str, expected: set[str]) -> None:
    forms = inflections(term)
    assert expected <= set(forms) and term not in forms


@pytest.mark.parametrize("term", ["is", "x", "18th", "café", "2023"])
def test_short_non_alphabetic_and_non_ascii_terms_have_no_inflections(term: str) -> None:
    assert inflections(term) == []


def test_inflections_are_never_stopwords_nor_shorter_than_a_base() -> None:
    forms = {f for word in ("doing", "has", "was", "being", "sing", "thing") for f in inflections(word)}
    assert not forms & TERM_STOPWORDS and all(len(f) >= 3 for f in forms)


def test_with_inflections_keeps_the_terms_first_and_stops_at_the_cap() -> None:
    assert with_inflections(["games", "won"])[:2] == ["games", "won"]
    words = search_terms(" ".join(f"playing{chr(97 + i)}z" for i in range(26)) + " " + "walks " * 3)
    expanded = with_inflections(words)
    assert expanded[: len(words)] == words and len(expanded) == MAX_INFLECTED
    assert with_inflections([]) == []
