from __future__ import annotations

import time

import pytest

from powermem.text.names import MAX_NAME_LENGTH, RELATIONSHIP_PATTERN, normalize_name, sanitize_relationship
from tests.support.hostile_text import KIB, hostile_texts


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


@pytest.mark.parametrize(("name", "text"), hostile_texts(64 * KIB).items())
def test_hostile_64_kib_names_are_linear(name: str, text: str) -> None:
    """Whole 64 KiB texts (a query's n-gram source, an LLM's entity name): well under the bound."""
    start = time.process_time()
    key = normalize_name(text + "'s")
    relationship = sanitize_relationship(text)
    assert time.process_time() - start < 1.0, name
    assert len(key) <= MAX_NAME_LENGTH and RELATIONSHIP_PATTERN.fullmatch(relationship)
