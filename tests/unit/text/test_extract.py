from __future__ import annotations

from powermem.text.extract import extract_entities


def test_offline_extractor_finds_names_and_speakers() -> None:
    found = extract_entities("Caroline: I met Dr Smith at the Eiffel Tower in Paris with NASA folks.")
    assert found.strong[:1] == ["Caroline"]
    assert {"Eiffel Tower", "Paris", "NASA"} <= set(found.strong)
    assert "I" not in found.strong


def test_sentence_initial_words_are_weak() -> None:
    found = extract_entities("Alice works at Acme. Yesterday was fun.")
    assert found.weak == ["Alice"]
    assert found.strong == ["Acme"]
