from __future__ import annotations

import pytest

from powermem.text.names import RELATIONSHIP_PATTERN, normalize_name, sanitize_relationship


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
