from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powermem.text.names import RELATIONSHIP_PATTERN
from powermem.text.relations import (
    MAX_RELATIONS_PER_TEXT,
    OFFLINE_TYPES,
    RoleChain,
    extract_relations,
    follows_role,
    role_chain,
    self_introduction,
    speaker_of,
    stem,
    type_stems,
)
from tests.support.hostile_text import KIB, hostile_texts


def triples(text: str, self_name: str | None = "Maya") -> set[tuple[str, str, str]]:
    return {(r.source, r.relationship, r.destination) for r in extract_relations(text, self_name)}


@pytest.mark.parametrize(("text", "expected"), [
    ("Alice works at Acme.", ("Alice", "WORKS_AT", "Acme")),
    ("Daniel Okafor lives in Porto and commutes.", ("Daniel Okafor", "LIVES_IN", "Porto")),
    ("Daniel has lived in the Bronx for years.", ("Daniel", "LIVES_IN", "Bronx")),
    ("I just moved to Lisbon for a new job.", ("Maya", "MOVED_TO", "Lisbon")),
    ("She got a job at Northwind Labs. I love it.", None),
    ("I moved here for a new job at Northwind Labs.", ("Maya", "WORKS_AT", "Northwind Labs")),
    ("Ana is from Porto.", ("Ana", "FROM", "Porto")),
    ("I was born in Lagos.", ("Maya", "BORN_IN", "Lagos")),
    ("Rui married Ana last year.", ("Rui", "MARRIED_TO", "Ana")),
    ("I study at Oxford.", ("Maya", "STUDIES_AT", "Oxford")),
    ("My manager is Daniel Okafor, he's great.", ("Maya", "HAS_MANAGER", "Daniel Okafor")),
    ("My sister Ines is visiting.", ("Maya", "HAS_SISTER", "Ines")),
    ("Maya's sister, Ines, surfs.", ("Maya", "HAS_SISTER", "Ines")),
    ("Daniel is Maya's boss.", ("Maya", "HAS_MANAGER", "Daniel")),
    ("Rui is my tutor.", ("Maya", "HAS_TUTOR", "Rui")),
    ("My best friend Jo called.", ("Maya", "HAS_FRIEND", "Jo")),
    ("I'm learning Portuguese with a tutor named Rui.", ("Maya", "HAS_TUTOR", "Rui")),
])
def test_patterns(text: str, expected: tuple[str, str, str] | None) -> None:
    found = triples(text)
    if expected is None:
        assert found == set()
    else:
        assert expected in found


def test_without_a_speaker_first_person_facts_are_skipped() -> None:
    assert triples("My manager is Daniel. I live in Porto.", None) == set()
    # The subject is "I", unknown: the name later in the sentence never becomes the subject.
    assert triples("I'm learning Portuguese with a tutor named Rui.", None) == set()


def test_a_transcript_speaker_is_the_first_person() -> None:
    assert triples("Caroline: I moved to Sweden four years ago.", None) == {("Caroline", "MOVED_TO", "Sweden")}
    assert speaker_of("Caroline: hi") == "Caroline" and speaker_of("hi: Caroline") is None


@pytest.mark.parametrize(("text", "name"), [
    ("Hi! I'm Maya. I just moved.", "Maya"), ("my name is Maya Costa", "Maya Costa"), ("Call me Ish.", "Ish"),
    ("I'm vegetarian.", None), ("I am happy", None),
])
def test_self_introduction(text: str, name: str | None) -> None:
    assert self_introduction(text) == name


def test_pronouns_and_ordinary_words_are_no_ends() -> None:
    assert triples("He lives in Porto. Yesterday lives in memory. It works at night.") == set()


def test_types_come_only_from_the_allow_list() -> None:
    text = "Zed works at DROP_ALL. Zed's Manager is Bob. Zed lives in `x`) DETACH DELETE n //."
    for relation in extract_relations(text, "Me"):
        assert relation.relationship in OFFLINE_TYPES
    for relationship in OFFLINE_TYPES:
        assert RELATIONSHIP_PATTERN.fullmatch(relationship)


def test_one_fact_per_text_once_and_bounded() -> None:
    text = "Ana lives in Porto. Ana lives in Porto. " + " ".join(f"P{i} lives in C{i}." for i in range(40))
    found = extract_relations(text)
    assert len(found) == MAX_RELATIONS_PER_TEXT
    assert [(r.source, r.destination) for r in found].count(("Ana", "Porto")) == 1


@pytest.mark.parametrize(("name", "text"), hostile_texts(64 * KIB).items())
def test_hostile_64_kib_texts_take_linear_time(name: str, text: str) -> None:
    start = time.process_time()
    extract_relations(text, "Me")
    role_chain(text)
    self_introduction(text)
    assert time.process_time() - start < 1.0, name


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["Ana", "Porto", "'s", " ", "lives", "in", "my", "I", "manager", "is", ",", ".",
                                 "named", "a", "tutor", "’s", "\n", "works", "at", "the", "Bo Li"]), max_size=25)
       .map(" ".join))
def test_any_text_gives_allowed_distinct_relations(text: str) -> None:
    found = extract_relations(text, "Me")
    assert len(found) <= MAX_RELATIONS_PER_TEXT
    assert all(r.relationship in OFFLINE_TYPES and r.source and r.destination for r in found)
    assert all(r.source.lower() != r.destination.lower() for r in found)


def test_role_chains_in_questions() -> None:
    assert role_chain("Where does Maya's manager live?") == RoleChain("Maya", ("MANAGER",), ("manager",))
    assert role_chain("Who is Maya's best friend's mom?") == RoleChain("Maya", ("FRIEND", "MOTHER"), ("friend", "mom"))
    assert role_chain("Where does Maya live?") is None
    assert role_chain("What is Maya's favourite food?") is None


def test_role_conventions_and_stems() -> None:
    assert follows_role("HAS_MANAGER", "MANAGER") == 1 and follows_role("MANAGER_OF", "MANAGER") == -1
    assert follows_role("LIVES_IN", "MANAGER") == 0
    assert {stem(w) for w in ["live", "lives", "lived", "living"]} == {"liv"}
    assert stem("studies") == stem("study") == "study"
    assert type_stems("LIVES_IN") == {"liv"} and type_stems("HAS_SISTER") == {"sister"} and type_stems("FROM") == set()


_INTRO_WORDS = ["I", "i", "am", "AM", "I'm", "I’m", "i'M", "my", "My", "name", "is", "called", "call", "me",
                "Call", "Maya", "Daniel Okafor", "Porto", "she's", "don't", "the", "and"]
_INTRO_GAPS = [" ", "  ", ", ", ". ", " (", ") ", " - ", "\n", " '", "' ", "; ", "… ", " _ ", "_", "x", "7"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_INTRO_WORDS), st.sampled_from(_INTRO_GAPS)), max_size=12))
def test_the_introduction_prefilter_never_hides_one(parts: list[tuple[str, str]]) -> None:
    """self_introduction skips tokenizing texts without a hint: it must answer as the full scan does."""
    from powermem.text.relations import _introduced_name

    text = "".join(word + gap for word, gap in parts)
    assert self_introduction(text) == _introduced_name(text)


_RELATION_WORDS = ["Ana", "Porto", "Bo Li", "I", "my", "My", "'s", "’s", "is", "was", "from", "FROM", "From", "works",
                   "WORKS", "wor\u212aed", "workn't", "Work’", "at", "for", "in", "to", "lives", "moved", "born", "married",
                   "manager", "Sister", "co-worker", "Co-Worker", "-worker", "fiancé", "Fiancée", "fiance\u0301",
                   "job", "a", "named", "the", "don't", "Sis", "workers", "İs", "kaloti", "_work", "work_", "work3"]
_RELATION_GAPS = [" ", ", ", ". ", "\n", "'", "’", "-", "_", ": ", " (", "x", "7", ""]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_RELATION_WORDS), st.sampled_from(_RELATION_GAPS)), max_size=14),
       st.sampled_from([None, "Maya"]))
def test_the_relation_prefilter_never_hides_one(parts: list[tuple[str, str]], self_name: str | None) -> None:
    """extract_relations skips tokenizing texts without a trigger word: it must answer as the full scan does."""
    from powermem.text.relations import _read_relations

    text = "".join(word + gap for word, gap in parts)
    assert extract_relations(text, self_name) == _read_relations(text, self_name)


def test_the_relation_prefilter_passes_every_trigger_word_however_written() -> None:
    from powermem.text.relations import _TRIGGERS, _may_state_relation

    for word in _TRIGGERS:
        for form in (word, word.upper(), word.title(), f"{word}'s", f"{word.title()}n’t", f"-{word}'"):
            assert _may_state_relation(f"Ana, {form} Porto."), form
    assert extract_relations("My co-worker is Bo Li.", "Me") and extract_relations("Ana's fiancée is Rui.", "Me")


def test_the_relation_prefilter_skips_texts_without_a_trigger() -> None:
    from powermem.text.relations import _may_state_relation

    assert not _may_state_relation("Alice kalo mitisa vowen dorpel, Bob Smith!")
    assert _may_state_relation("Alice WORKS at Acme") and _may_state_relation("my Co-Worker Ana")
    assert _may_state_relation("Ana workn't at Acme")  # the token's base is "work"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="icallmednameis' ’_-x\n.am", max_size=16))
def test_the_introduction_hint_finds_what_its_plain_form_does(text: str) -> None:
    """The hint checks for a word before "i" after matching it (so the engine skips to "i", "c"
    or "n"); it matches exactly where the plain form, lookbehind first, does."""
    from powermem.text.relations import _INTRODUCTION_HINT

    plain = re.compile(r"(?<![^\W_])i(?:[\W_]+am|['’]m)|call(?:ed|[\W_]+me)|name[\W_]+is")
    assert [m.span() for m in _INTRODUCTION_HINT.finditer(text)] == [m.span() for m in plain.finditer(text)]
