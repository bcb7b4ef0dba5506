from __future__ import annotations

import pytest

from powermem.errors import ConfigError
from powermem.text import nlp


def test_heuristic_reader_reads_names_and_relations() -> None:
    mentions, relations = nlp.heuristic_reader("Alice works at Acme.", None)
    assert mentions.strong == ["Alice", "Acme"]
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Alice", "WORKS_AT", "Acme")]


def test_without_the_spacy_model_auto_falls_back_and_spacy_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nlp, "_load", lambda: None)
    assert nlp.make_reader("auto") is nlp.heuristic_reader
    assert nlp.make_reader("heuristic") is nlp.heuristic_reader
    with pytest.raises(ConfigError, match="en_core_web_sm"):
        nlp.make_reader("spacy")


def test_a_loaded_pipeline_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = object()
    monkeypatch.setattr(nlp, "_load", lambda: sentinel)
    reader = nlp.make_reader("auto")
    assert isinstance(reader, nlp.SpacyReader)
