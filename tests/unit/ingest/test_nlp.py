from __future__ import annotations

import pytest

from powermem.errors import ConfigError
from powermem.ingest import nlp


def test_heuristic_reader_reads_names_and_relations() -> None:
    mentions, relations = nlp.heuristic_reader("Alice works at Acme.", None)
    assert mentions.strong == ["Acme", "Alice"] and mentions.weak == []  # Alice: the subject of a pattern
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


class FakeToken:
    """The few attributes of a spaCy Token that the reader uses."""

    def __init__(self, doc: FakeDoc, i: int, text: str, lemma: str, pos: str, dep: str, head: int, ent: str) -> None:
        self.doc, self.i, self.text, self.lemma_, self.pos_, self.dep_ = doc, i, text, lemma, pos, dep
        self.lower_, self._head, self.ent_type_ = text.lower(), head, ent

    @property
    def head(self) -> FakeToken:
        return self.doc.tokens[self._head]

    @property
    def children(self) -> list[FakeToken]:
        return [t for t in self.doc.tokens if t._head == self.i and t is not self]

    @property
    def lefts(self) -> list[FakeToken]:
        return [t for t in self.children if t.i < self.i]


class FakeSpan:
    def __init__(self, doc: FakeDoc, start: int, end: int, label: str) -> None:
        self.start, self.end, self.label_ = start, end, label
        self.text = " ".join(t.text for t in doc.tokens[start:end])


class FakeDoc:
    """A parsed sentence given as (text, lemma, pos, dep, head index, entity label) rows."""

    def __init__(self, rows: list[tuple[str, str, str, str, int, str]], ents: list[tuple[int, int, str]]) -> None:
        self.tokens = [FakeToken(self, i, *row) for i, row in enumerate(rows)]
        self.ents = [FakeSpan(self, s, e, label) for s, e, label in ents]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.tokens)


PARSES = {
    # "Daniel Okafor lives in Porto."
    "Daniel Okafor lives in Porto.": FakeDoc(
        [("Daniel", "Daniel", "PROPN", "compound", 1, "PERSON"), ("Okafor", "Okafor", "PROPN", "nsubj", 2, "PERSON"),
         ("lives", "live", "VERB", "ROOT", 2, ""), ("in", "in", "ADP", "prep", 2, ""),
         ("Porto", "Porto", "PROPN", "pobj", 3, "GPE"), (".", ".", "PUNCT", "punct", 2, "")],
        [(0, 2, "PERSON"), (4, 5, "GPE")]),
    # "My manager is Rui."
    "My manager is Rui.": FakeDoc(
        [("My", "my", "PRON", "poss", 1, ""), ("manager", "manager", "NOUN", "nsubj", 2, ""),
         ("is", "be", "AUX", "ROOT", 2, ""), ("Rui", "Rui", "PROPN", "attr", 2, "PERSON"),
         (".", ".", "PUNCT", "punct", 2, "")],
        [(3, 4, "PERSON")]),
    # "My sister Ines surfs." (sister a compound of Ines, "My" attached to Ines)
    "My sister Ines surfs.": FakeDoc(
        [("My", "my", "PRON", "poss", 2, ""), ("sister", "sister", "NOUN", "compound", 2, ""),
         ("Ines", "Ines", "PROPN", "nsubj", 3, "PERSON"), ("surfs", "surf", "VERB", "ROOT", 3, ""),
         (".", ".", "PUNCT", "punct", 3, "")],
        [(2, 3, "PERSON")]),
}


def test_the_spacy_reader_reads_entities_and_parse_relations() -> None:
    reader = nlp.SpacyReader(PARSES.__getitem__)
    mentions, relations = reader("Daniel Okafor lives in Porto.", None)
    assert mentions.strong == ["Daniel Okafor", "Porto"] and mentions.weak == []
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Daniel Okafor", "LIVES_IN", "Porto")]
    _, relations = reader("My manager is Rui.", "Maya")
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Maya", "HAS_MANAGER", "Rui")]
    _, relations = reader("My sister Ines surfs.", "Maya")
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Maya", "HAS_SISTER", "Ines")]
    _, relations = reader("My manager is Rui.", None)  # no speaker: no first-person fact
    assert relations == []


def test_a_first_word_without_a_relation_stays_weak() -> None:
    mentions, relations = nlp.heuristic_reader("Pottery is fun. Alice likes Acme.", None)
    assert (mentions.strong, mentions.weak, relations) == (["Acme"], ["Pottery", "Alice"], [])
