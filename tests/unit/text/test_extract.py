from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powermem.text.extract import MAX_EXTRACT_CHARS, Mentions, extract_entities, ordinary_start
from powermem.text.names import normalize_name
from powermem.text.stopwords import NAME_STOPWORDS
from tests.support.hostile_text import KIB, hostile_texts


def test_offline_extractor_finds_names_and_speakers() -> None:
    found = extract_entities("Caroline: I met Dr Smith at the Eiffel Tower in Paris with NASA folks.")
    assert found.strong[:1] == ["Caroline"]
    assert {"Eiffel Tower", "Paris", "NASA"} <= set(found.strong)
    assert "I" not in found.strong


def test_sentence_initial_words_are_weak() -> None:
    # Alice counts once the relation patterns name her (tests/unit/ingest, tests/contract).
    found = extract_entities("Alice works at Acme. Yesterday was fun.")
    assert found.weak == ["Alice"]
    assert found.strong == ["Acme"]


@pytest.mark.parametrize("word", ["Painting", "Loved", "Honestly", "Last", "Congrats", "Monday", "Welcome", "Can't",
                                  "Aww", "Talk", "Books", "Reminds", "Seven"])
def test_ordinary_words_that_start_a_sentence(word: str) -> None:
    assert ordinary_start(word)


@pytest.mark.parametrize("word", ["Alice", "Boris", "Lukas", "Daniel", "NASA"])
def test_names_that_start_a_sentence_are_not_ordinary(word: str) -> None:
    assert not ordinary_start(word)


def test_connectors_join_names_and_trailing_ones_are_trimmed() -> None:
    found = extract_entities("We toured the Bank of England and met Leonardo da Vinci at the Tate and")
    assert found.strong == ["Bank of England", "Leonardo da Vinci", "Tate"]


def test_a_line_break_starts_a_sentence() -> None:
    assert extract_entities("we met\n  Alice there").weak == ["Alice"]
    assert extract_entities("we met   Alice there").strong == ["Alice"]


@pytest.mark.parametrize(("name", "text"), hostile_texts(64 * KIB).items())
def test_hostile_64_kib_texts_take_linear_time(name: str, text: str) -> None:
    """The issue's 1.5 s / 6.9 s / 10.6 s texts and the other backtracking shapes: 100 ms goal,
    1 s bound, in this process's CPU time so that other processes sharing the cores cannot fail it."""
    start = time.process_time()
    found = extract_entities(text)
    assert time.process_time() - start < 1.0, name
    assert len(found.strong) + len(found.weak) <= 12


def test_only_the_first_16_kib_are_read_and_no_word_is_cut() -> None:
    filler = "word " * (MAX_EXTRACT_CHARS // 5 - 1)
    assert extract_entities(filler + "Zanzibar").strong == ["Zanzibar"]
    assert extract_entities(filler + "      Zanzibar").strong == []
    cut = filler + "wor" + "Zanzibar"  # the cap falls inside "worZanzibar..."
    assert extract_entities(cut + " and more").strong == []
    assert extract_entities(filler[:-1] + "Zanzibar" * 3).strong == []


# The regexes this module replaced, kept as the reference for what the extractor must return.
# Super-linear on hostile input, so they are only run on short texts here.
_REF_SPEAKER = re.compile(r"^\s*([A-Z][\w'’.-]{0,40}(?: [A-Z][\w'’.-]{0,40}){0,2})\s*:\s")
_REF_RUN = re.compile(r"(?<![\w'’])([A-Z][\w'’-]*(?:\s+(?:of|the|de|del|van|von|da|la|le|and|&)?\s*[A-Z][\w'’-]*)*)")
_REF_SENTENCE_START = re.compile(r"(?:^|[.!?…:;\"“(]\s*|\n\s*)$")


def _reference(text: str) -> Mentions:
    strong: dict[str, str] = {}
    weak: dict[str, str] = {}

    def keep(names: dict[str, str], name: str) -> None:
        key = normalize_name(name)
        if key and key not in NAME_STOPWORDS and len(key) > 1 and key not in names:
            names[key] = name.strip().rstrip("'’").removesuffix("'s").removesuffix("’s")

    def trim(candidate: str) -> str:
        words = candidate.split()
        while words and words[0].lower().strip("'’") in NAME_STOPWORDS:
            words.pop(0)
        while words and words[-1].lower() in {"of", "the", "de", "and", "&"}:
            words.pop()
        return " ".join(words)

    speaker = _REF_SPEAKER.match(text)
    if speaker:
        keep(strong, speaker.group(1))
        text = text[speaker.end():]
    for match in _REF_RUN.finditer(text):
        raw = match.group(1)
        candidate = trim(raw)
        if not candidate:
            continue
        at_start = candidate == raw and bool(_REF_SENTENCE_START.search(text[: match.start()]))
        is_acronym = len(candidate) >= 2 and candidate.isupper() and candidate.isalpha()
        keep(weak if at_start and not is_acronym and " " not in candidate else strong, candidate)
        if len(strong) + len(weak) >= 12:
            break
    return Mentions(list(strong.values()), [n for k, n in weak.items() if k not in strong])


_PIECES = [
    "A", "B", "Z", "I", "The", "Dr", "NASA", "Bob", "Éa", "a", "of", "the", "de", "del", "van", "von", "da", "la",
    "le", "and", "&", " ", "  ", "\n", "\t", "\u00a0", ".", ":", ";", "!", "?", "…", "'", "’", "-", "“", '"', "(",
    "_", "1", "s", "'s", "x", "often", "Ofx", "Last", "Went", "Honestly", "Ab-Cd", "deB", "ofB", "I'm", "Yes", "Mr.",
]


@settings(max_examples=800, deadline=None, database=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_same_names_as_the_regexes_it_replaced(text: str) -> None:
    assert extract_entities(text) == _reference(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="AbC d'’-x of the\n.Éé_9&", max_size=24))
def test_capitalised_runs_start_where_no_word_goes_on_before_them(text: str) -> None:
    """The pattern puts its lookbehind after the capital (so the engine skips to capitals); it
    finds the runs of the plain form, whose lookbehind comes first."""
    from powermem.text.extract import _CAPITALISED_RUN

    plain = re.compile(
        r"(?<![\w'’])[A-Z][\w'’-]*(?:\s+(?:(?:of|the|de|del|van|von|da|la|le|and|&)\s*)?[A-Z][\w'’-]*)*"
    )
    assert [m.span() for m in _CAPITALISED_RUN.finditer(text)] == [m.span() for m in plain.finditer(text)]
