"""Offline relations: facts like "Daniel lives in Porto" read from patterns, without an LLM.

The text is cut into sentences and tokens once (names as single tokens, contractions split),
then a few fixed patterns are tried at each token, each reading at most a handful of tokens
ahead: the work is linear in the text, which is read up to ``MAX_EXTRACT_CHARS`` as the name
extractor does. Patterns:

- subject + verb + preposition + name: "Daniel lives in Porto", "I work at Acme",
  "she moved to Lisbon", "Ana is from Porto", "I was born in Lagos", "Rui married Ana";
- a job at a place, said of the sentence's subject: "I moved here for a new job at Acme";
- roles (possessive and copular): "my manager is Daniel Okafor", "Maya's sister Ines",
  "Daniel is Maya's manager", "Rui is my tutor", "a tutor named Rui".

"I" and "my" stand for ``self_name`` (the speaker): without one, those facts are skipped.
Every relationship type comes from the fixed vocabulary below (``OFFLINE_TYPES``), never from
the text, so offline types need no sanitising; role nouns map to ``HAS_<ROLE>`` from the
possessor to the role's holder: (Maya)-[:HAS_MANAGER]->(Daniel Okafor).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from powermem.text.extract import MAX_EXTRACT_CHARS, ordinary_start
from powermem.text.names import normalize_name
from powermem.text.stopwords import NAME_STOPWORDS

MAX_RELATIONS_PER_TEXT = 12

# Role nouns (and their spelling variants) -> the role in HAS_<ROLE>.
ROLES: dict[str, str] = {
    "manager": "MANAGER", "boss": "MANAGER", "supervisor": "MANAGER", "mentor": "MENTOR",
    "sister": "SISTER", "brother": "BROTHER", "sibling": "SIBLING", "mother": "MOTHER", "mom": "MOTHER",
    "mum": "MOTHER", "father": "FATHER", "dad": "FATHER", "parent": "PARENT", "son": "SON",
    "daughter": "DAUGHTER", "child": "CHILD", "kid": "CHILD", "wife": "WIFE", "husband": "HUSBAND",
    "spouse": "SPOUSE", "partner": "PARTNER", "girlfriend": "GIRLFRIEND", "boyfriend": "BOYFRIEND",
    "fiance": "FIANCE", "fiancé": "FIANCE", "fiancee": "FIANCE", "fiancée": "FIANCE", "friend": "FRIEND",
    "colleague": "COLLEAGUE", "coworker": "COLLEAGUE", "co-worker": "COLLEAGUE", "cousin": "COUSIN",
    "aunt": "AUNT", "uncle": "UNCLE", "grandmother": "GRANDMOTHER", "grandma": "GRANDMOTHER",
    "grandfather": "GRANDFATHER", "grandpa": "GRANDFATHER", "niece": "NIECE", "nephew": "NEPHEW",
    "neighbor": "NEIGHBOR", "neighbour": "NEIGHBOR", "roommate": "ROOMMATE", "teacher": "TEACHER",
    "tutor": "TUTOR", "coach": "COACH", "doctor": "DOCTOR", "therapist": "THERAPIST", "dog": "DOG",
    "cat": "CAT", "pet": "PET", "puppy": "DOG", "kitten": "CAT",
}
_VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "LIVES_IN": (frozenset(["live", "lives", "lived", "living", "reside", "resides", "resided", "residing"]),
                 frozenset(["in"])),
    "MOVED_TO": (frozenset(["move", "moves", "moved", "moving", "relocated", "relocating"]), frozenset(["to"])),
    "WORKS_AT": (frozenset(["work", "works", "worked", "working"]), frozenset(["at", "for"])),
    "STUDIES_AT": (frozenset(["study", "studies", "studied", "studying"]), frozenset(["at"])),
    "FROM": (frozenset(["am", "is", "are", "was", "come", "comes", "came"]), frozenset(["from"])),
    "BORN_IN": (frozenset(["born"]), frozenset(["in"])),
    "MARRIED_TO": (frozenset(["married"]), frozenset(["to", ""])),
}
OFFLINE_TYPES = frozenset([*_VERBS, *(f"HAS_{role}" for role in ROLES.values())])

_BE = frozenset(["is", "was", "am", "are"])
# Words allowed between a subject and its verb: auxiliaries and a few adverbs.
_BETWEEN = frozenset([
    "just", "recently", "now", "still", "also", "currently", "finally", "actually", "already", "really", "once",
    "have", "has", "had", "am", "is", "are", "was", "were", "been", "will", "would", "to", "used", "originally",
    "then", "both", "all", "never", "not",
])
_ADJECTIVES = frozenset(["best", "new", "old", "older", "younger", "little", "big", "twin", "former", "current",
                         "good", "close", "oldest", "youngest", "elder"])
_NAMING = frozenset(["named", "called"])
_JOBS = frozenset(["job", "position", "internship", "role", "career"])
_CONNECTORS = frozenset(["of", "de", "del", "van", "von", "da", "la", "le"])

# Words (with inner apostrophes and hyphens) and the punctuation that ends a clause. Each
# alternative is one character class: linear.
_TOKEN = re.compile(r"[^\W_][\w'’-]*|[.,;:!?…\n]")
_SPEAKER = re.compile(r"^\s*([A-Z][\w'’.-]{0,40}(?: [A-Z][\w'’.-]{0,40}){0,2})\s*:\s")
_SENTENCE_END = frozenset(".!?…;:\n")
# A superset of the word pairs self_introduction looks for, whatever lies between the words.
# Matched against the lower-cased text: a case-insensitive pattern costs twice as much (4.5 ->
# 2.8 us a store_bench message), and this runs on every user message of every add. Every
# alternative starts with a literal ("i" is checked for a word before it only once matched), so
# the engine skips to an "i", "c" or "n"; a lookbehind in front tried all three at each
# character (2.6 -> 0.7 us a store_bench message).
_INTRODUCTION_HINT = re.compile(r"i(?<![^\W_]i)(?:[\W_]+am|['’]m)|call(?:ed|[\W_]+me)|name[\W_]+is")
_IS_CONTRACTIONS = frozenset(["he", "she", "it", "that", "what", "who", "there", "here", "where", "how", "this"])
_SUFFIXES = {"'m": "am", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would"}


# Every pattern needs one of these words as a token: a verb of _VERBS (for FROM, which needs
# its preposition, "from"), a role noun or a job noun. A text holding none states no relation,
# and most texts hold none: they are not tokenized (below).
_TRIGGERS = frozenset([*ROLES, *_JOBS, "from", *(w for rel, (verbs, _) in _VERBS.items() if rel != "FROM" for w in verbs)])
# A token whose lower case is a trigger is a run of these letters in the lower-cased text
# ("co-worker": its run "worker"), or that run and an "n" when the token ends in "n't".
_LETTER_RUN = re.compile(r"[a-zé]+")
_TRIGGER_RUNS = frozenset(word.rsplit("-", 1)[-1] for word in _TRIGGERS)


@dataclass(frozen=True)
class OfflineRelation:
    source: str
    relationship: str  # one of OFFLINE_TYPES
    destination: str


@dataclass(frozen=True)
class _Token:
    kind: str  # "N" name, "W" lower-case word, "S" possessive 's, "P" comma
    text: str


def speaker_of(text: str) -> str | None:
    """The "Name: " a line of a transcript starts with, if any."""
    found = _SPEAKER.match(text[:200])
    return found.group(1).strip() if found else None


def self_introduction(text: str) -> str | None:
    """The name a speaker gives as their own: "I'm Maya", "my name is Maya", "call me Maya"."""
    text = text[:MAX_EXTRACT_CHARS]
    if not _INTRODUCTION_HINT.search(text.lower()):  # most texts: no tokenizing at all (it runs on every add)
        return None
    return _introduced_name(text)


def _introduced_name(text: str) -> str | None:
    for sentence in _sentences(text):
        words = [t.text if t.kind != "N" else "\x00" for t in sentence]
        for i, token in enumerate(sentence):
            if token.kind != "N" or i < 2:
                continue
            before = (words[i - 2], words[i - 1])
            if before in (("i", "am"), ("is", "called"), ("call", "me")) or (
                i >= 3 and (words[i - 3], *before) == ("my", "name", "is")
            ):
                return token.text
    return None


def extract_relations(text: str, self_name: str | None = None) -> list[OfflineRelation]:
    """Relations the text states; "I"/"my" are ``self_name`` (or a leading "Speaker: ")."""
    text = text[:MAX_EXTRACT_CHARS]
    return _read_relations(text, self_name) if _may_state_relation(text) else []


def _read_relations(text: str, self_name: str | None) -> list[OfflineRelation]:
    speaker = speaker_of(text)
    if speaker is not None:
        self_name = speaker
        text = text[text.index(":") + 1:]
    found: dict[tuple[str, str, str], OfflineRelation] = {}
    for sentence in _sentences(text):
        for relation in _in_sentence(sentence, self_name):
            source, destination = normalize_name(relation.source), normalize_name(relation.destination)
            if source and destination and source != destination:
                found.setdefault((source, relation.relationship, destination), relation)
            if len(found) >= MAX_RELATIONS_PER_TEXT:
                return list(found.values())
    return list(found.values())


def _may_state_relation(text: str) -> bool:
    """False when no token of the text can be a trigger word (a superset test, one regex pass)."""
    lowered = text.lower()
    runs = _LETTER_RUN.findall(lowered)
    if not _TRIGGER_RUNS.isdisjoint(runs):
        return True
    # "workn't": the token's base is "work"
    return ("n't" in lowered or "n’t" in lowered) and not _TRIGGER_RUNS.isdisjoint(
        [run[:-1] for run in runs if run.endswith("n")])


def _sentences(text: str) -> Iterable[list[_Token]]:
    sentence: list[_Token] = []
    start = True
    pending: list[str] = []  # capitalised words of the name being read
    for match in _TOKEN.finditer(text):
        raw = match.group()
        if raw in _SENTENCE_END or raw == ",":
            _flush(sentence, pending)
            if raw == ",":
                sentence.append(_Token("P", ","))
                continue
            if sentence:
                yield sentence
            sentence, start = [], True
            continue
        base, suffix = _split_suffix(raw)
        capitalised = base[:1].isupper() and base.lower() not in NAME_STOPWORDS
        name_word = capitalised and not (start and not pending and ordinary_start(base))
        if name_word or (pending and base in _CONNECTORS):
            pending.append(base)
        else:
            _flush(sentence, pending)
            sentence.append(_Token("W", base.lower()))
        start = False
        if suffix is not None:
            _flush(sentence, pending)
            sentence.append(_Token("S", "'s") if suffix == "'s" else _Token("W", suffix))
    _flush(sentence, pending)
    if sentence:
        yield sentence


def _split_suffix(raw: str) -> tuple[str, str | None]:
    """ "Maya's" -> ("Maya", "'s"); "I'm" -> ("I", "am"); "she's" -> ("she", "is")."""
    if "'" not in raw and "’" not in raw:  # most words; every suffix below has an apostrophe
        return raw, None
    word = raw.replace("’", "'")
    lower = word.lower()
    if lower.endswith("n't"):
        return raw[: len(word) - 3], "not"
    for suffix, full in _SUFFIXES.items():
        if lower.endswith(suffix) and len(word) > len(suffix):
            return raw[: len(word) - len(suffix)], full
    if lower.endswith("'s") and len(word) > 2:
        return raw[: len(word) - 2], ("is" if lower[:-2] in _IS_CONTRACTIONS else "'s")
    return raw.rstrip("'’"), None


def _flush(sentence: list[_Token], pending: list[str]) -> None:
    while pending and pending[-1] in _CONNECTORS:
        sentence.append(_Token("W", pending.pop()))
    if pending:
        sentence.append(_Token("N", " ".join(pending)))
        pending.clear()


_PRONOUNS = frozenset(["i", "we", "he", "she", "they", "you", "it"])


def _in_sentence(tokens: list[_Token], self_name: str | None) -> Iterable[OfflineRelation]:
    subject: str | None = None
    seen_subject = False  # the sentence's subject is its first name or pronoun, resolved or not
    for i, token in enumerate(tokens):
        own = _subject_at(tokens, i, self_name)
        if not seen_subject and (own is not None or (token.kind == "W" and token.text in _PRONOUNS)):
            subject, seen_subject = own, True
        if own is not None:
            yield from _verb_facts(tokens, i, own)
        yield from _role_facts(tokens, i, self_name, subject)
        if token.kind == "W" and token.text in _JOBS and subject is not None:
            place = _name_at(tokens, i + 1, ("at", "with"))
            if place is not None:
                yield OfflineRelation(subject, "WORKS_AT", place)


def _subject_at(tokens: list[_Token], i: int, self_name: str | None) -> str | None:
    token = tokens[i]
    if token.kind == "N" and not (i + 1 < len(tokens) and tokens[i + 1].kind == "S"):
        return token.text
    if token.kind == "W" and token.text == "i":
        return self_name
    return None


def _name_at(tokens: list[_Token], i: int, prepositions: Iterable[str]) -> str | None:
    """The name after one of the prepositions at ``i`` ("" means none is needed), skipping "the"."""
    options = set(prepositions)
    if i < len(tokens) and tokens[i].kind in ("W", "P") and tokens[i].text in options - {""}:
        i += 1
    elif "" not in options:
        return None
    if i < len(tokens) and tokens[i].kind == "W" and tokens[i].text == "the":
        i += 1
    return tokens[i].text if i < len(tokens) and tokens[i].kind == "N" else None


def _verb_facts(tokens: list[_Token], i: int, subject: str) -> Iterable[OfflineRelation]:
    j = i + 1
    while j < len(tokens) and j - i <= 3 and tokens[j].kind == "W" and tokens[j].text in _BETWEEN:
        # A "be" word is itself the verb of "X is from Y": try it before skipping it.
        if tokens[j].text in _BE and j + 1 < len(tokens) and tokens[j + 1].text == "from":
            break
        j += 1
    if j >= len(tokens) or tokens[j].kind != "W":
        return
    for relationship, (verbs, prepositions) in _VERBS.items():
        if tokens[j].text in verbs:
            place = _name_at(tokens, j + 1, prepositions)
            if place is not None:
                yield OfflineRelation(subject, relationship, place)


def _possessor_at(tokens: list[_Token], i: int, self_name: str | None) -> tuple[str | None, int]:
    """(possessor, index after it) for "Maya's" or "my" at ``i``; (None, i) otherwise."""
    token = tokens[i]
    if token.kind == "N" and i + 1 < len(tokens) and tokens[i + 1].kind == "S":
        return token.text, i + 2
    if token.kind == "W" and token.text == "my":
        return self_name, i + 1
    return None, i


def _role_at(tokens: list[_Token], i: int) -> tuple[str | None, int]:
    while i < len(tokens) and tokens[i].kind == "W" and tokens[i].text in _ADJECTIVES:
        i += 1
    if i < len(tokens) and tokens[i].kind == "W" and tokens[i].text in ROLES:
        return ROLES[tokens[i].text], i + 1
    return None, i


def _role_facts(
    tokens: list[_Token], i: int, self_name: str | None, subject: str | None
) -> Iterable[OfflineRelation]:
    possessor, after = _possessor_at(tokens, i, self_name)
    if possessor is not None:
        role, k = _role_at(tokens, after)
        if role is not None:
            # "my manager is Daniel", "Maya's sister Ines", "my sister, Ines", "my tutor named Rui"
            holder = _name_at(tokens, k, ("is", "was", ",", "")) or _name_at(tokens, k, _NAMING)
            if holder is not None:
                yield OfflineRelation(possessor, f"HAS_{role}", holder)
            # "Daniel is my manager" / "Daniel is Maya's manager"
            if i >= 2 and tokens[i - 1].text in _BE and tokens[i - 2].kind == "N":
                yield OfflineRelation(possessor, f"HAS_{role}", tokens[i - 2].text)
    elif tokens[i].kind == "W" and tokens[i].text in ("a", "an") and subject is not None:
        role, k = _role_at(tokens, i + 1)
        holder = _name_at(tokens, k, _NAMING) if role is not None else None
        if role is not None and holder is not None:  # "I study with a tutor named Rui"
            yield OfflineRelation(subject, f"HAS_{role}", holder)


@dataclass(frozen=True)
class RoleChain:
    """ "Maya's manager's sister": the anchor name, its roles in order, and the phrase."""

    anchor: str
    roles: tuple[str, ...]  # ROLES values
    words: tuple[str, ...]  # the role nouns as written (lower case)


def role_chain(query: str) -> RoleChain | None:
    """The first possessive chain of known roles in a question, if any."""
    for sentence in _sentences(query[:MAX_EXTRACT_CHARS]):
        for i, token in enumerate(sentence):
            if token.kind != "N" or i + 1 >= len(sentence) or sentence[i + 1].kind != "S":
                continue
            roles: list[str] = []
            words: list[str] = []
            k = i + 2
            while True:
                role, after = _role_at(sentence, k)
                if role is None:
                    break
                roles.append(role)
                words.append(sentence[after - 1].text)
                if after < len(sentence) and sentence[after].kind == "S":
                    k = after + 1
                    continue
                break
            if roles:
                return RoleChain(token.text, tuple(roles), tuple(words))
    return None


def follows_role(relationship: str, role: str) -> int:
    """How a relation of this type leads from a possessor to the holder of ``role``: 1 forward
    ((possessor)-[:HAS_MANAGER]->(holder)), -1 backward ((holder)-[:MANAGER_OF]->(possessor)),
    0 not at all. LLM types are matched by the same conventions."""
    if relationship in (f"HAS_{role}", role, f"{role}_IS"):
        return 1
    if relationship in (f"{role}_OF", f"IS_{role}_OF"):
        return -1
    return 0


def stem(word: str) -> str:
    """A crude English stem, enough to meet a relation type's verb: lives/lived/living -> liv."""
    word = word.lower()
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s", "e"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


_TYPE_FILLER = frozenset(["has", "is", "of", "in", "at", "to", "for", "from", "the", "a", "an", "by", "with", "on"])


def type_stems(relationship: str) -> frozenset[str]:
    """The content words of a relation type, stemmed: LIVES_IN -> {"liv"}."""
    return frozenset(stem(w) for w in relationship.lower().split("_") if w and w not in _TYPE_FILLER)
