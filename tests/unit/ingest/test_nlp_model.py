"""The spaCy extractor against a real model: ``make test`` runs this module in .venv-nlp (see the
Makefile); where spaCy or en_core_web_sm is missing it reports itself skipped."""

from __future__ import annotations

import pytest

from powermem.ingest import nlp
from powermem.text.relations import OFFLINE_TYPES
from tests.support.spacy_model import installed_pipeline

PIPELINE = installed_pipeline()


@pytest.fixture(scope="module")
def reader() -> nlp.SpacyReader:
    return nlp.SpacyReader(PIPELINE)


def test_auto_and_spacy_choose_the_installed_model() -> None:
    assert isinstance(nlp.make_reader("auto"), nlp.SpacyReader)
    assert isinstance(nlp.make_reader("spacy"), nlp.SpacyReader)
    assert nlp.make_reader("heuristic") is nlp.heuristic_reader


@pytest.mark.parametrize(("text", "speaker", "expected"), [
    ("Daniel Okafor lives in Porto and commutes to Lisbon twice a week.", None,
     {("Daniel Okafor", "LIVES_IN", "Porto")}),
    ("My manager is Daniel Okafor.", "Maya", {("Maya", "HAS_MANAGER", "Daniel Okafor")}),
    ("Melanie: my sister Ines is visiting.", None, {("Melanie", "HAS_SISTER", "Ines")}),
    ("Caroline: I moved to Sweden last year.", None, {("Caroline", "MOVED_TO", "Sweden")}),
    ("Bob works at Google.", None, {("Bob", "WORKS_AT", "Google")}),
    # Parses the relation patterns miss: an appositive role, and a subject named in apposition.
    ("Daniel Okafor, my manager, lives in Porto.", "Maya",
     {("Maya", "HAS_MANAGER", "Daniel Okafor"), ("Daniel Okafor", "LIVES_IN", "Porto")}),
    ("Last year my brother Tom relocated to Berlin.", "Maya",
     {("Maya", "HAS_BROTHER", "Tom"), ("Tom", "MOVED_TO", "Berlin")}),
    ("The weather in Porto is nice.", None, set()),
    ("My manager is Daniel Okafor.", None, set()),  # no speaker: no first-person fact
])
def test_relations_come_from_the_parse(
    reader: nlp.SpacyReader, text: str, speaker: str | None, expected: set[tuple[str, str, str]]
) -> None:
    _, relations = reader(text, speaker)
    assert {(r.source, r.relationship, r.destination) for r in relations} == expected
    assert all(r.relationship in OFFLINE_TYPES for r in relations)


def test_an_adds_texts_parsed_in_one_batch_read_as_one_at_a_time(reader: nlp.SpacyReader) -> None:
    texts = ["Maya: Daniel Okafor, my manager, lives in Porto.", "Bob works at Google.", "I moved to Sweden.",
             "The weather in Porto is nice.", "Caroline: my sister Ines is visiting."]
    selves: list[str | None] = [None, None, "Ana", None, None]
    together = nlp.read_all(reader, texts, selves)
    assert together == [reader(text, self_name) for text, self_name in zip(texts, selves, strict=True)]
    assert sum(len(relations) for _, relations in together) == 5


def test_entities_are_the_models_named_entities(reader: nlp.SpacyReader) -> None:
    mentions, _ = reader("Caroline: I moved to Sweden last year.", None)
    assert mentions.strong == ["Caroline", "Sweden"] and mentions.weak == []  # the speaker, then GPE
    mentions, _ = reader("The weather in Porto is nice.", None)
    assert mentions.strong == ["Porto"]
