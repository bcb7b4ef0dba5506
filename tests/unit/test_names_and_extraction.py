from __future__ import annotations

import pytest

from powermem.ingest.names import RELATIONSHIP_PATTERN, normalize_name, sanitize_relationship
from powermem.ingest.offline import extract_entities
from powermem.search.text import search_terms


@pytest.mark.parametrize(
    ("raw", "key"),
    [("Alice", "alice"), ("ALICE's", "alice"), ("  New   York ", "new york"), ("Zoë", "zoë"), ("Ａｃｍｅ", "acme")],
)
def test_normalize_name(raw: str, key: str) -> None:
    assert normalize_name(raw) == key


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("lives in", "LIVES_IN"),
        ("works-for", "WORKS_FOR"),
        ("`]->(x) DETACH DELETE x //", "X_DETACH_DELETE_X"),
        ("它的", "RELATED_TO"),
        ("café owner", "CAFE_OWNER"),
        ("123 go", "GO"),
        ("'\"", "RELATED_TO"),
        ("a" * 100, "A" * 64),
    ],
)
def test_sanitize_relationship_uses_the_allow_list(raw: str, clean: str) -> None:
    assert sanitize_relationship(raw) == clean
    assert RELATIONSHIP_PATTERN.fullmatch(clean)


def test_offline_extractor_finds_names_and_speakers() -> None:
    found = extract_entities("Caroline: I met Dr Smith at the Eiffel Tower in Paris with NASA folks.")
    assert found.strong[:1] == ["Caroline"]
    assert {"Eiffel Tower", "Paris", "NASA"} <= set(found.strong)
    assert "I" not in found.strong


def test_sentence_initial_words_are_weak() -> None:
    found = extract_entities("Alice works at Acme. Yesterday was fun.")
    assert found.weak == ["Alice"]
    assert found.strong == ["Acme"]


def test_search_terms_drop_syntax_and_stopwords() -> None:
    assert search_terms('What did "Alice" say AND (NOT bob*) ~ : \\ /?') == ["alice", "say", "bob"]
