from __future__ import annotations

from powermem.text.terms import search_terms


def test_search_terms_drop_syntax_and_stopwords() -> None:
    assert search_terms('What did "Alice" say AND (NOT bob*) ~ : \\ /?') == ["alice", "say", "bob"]
