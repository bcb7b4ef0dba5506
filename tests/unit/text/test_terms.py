from __future__ import annotations

import time

import pytest

from powermem.text.stopwords import TERM_STOPWORDS
from powermem.text.terms import MAX_TERMS, search_terms
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
