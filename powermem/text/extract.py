"""The offline entity extractor: names and proper nouns, without an LLM.

It favours precision: a capitalised word counts where capitals carry meaning. The first word
of a sentence is *weak*: it counts if the tenant already knows that name, or (ingest/raw.py)
if the text states a relation of it ("Alice works at Acme": Alice is the subject of a
pattern of ``powermem.text.relations``). An ordinary word that a sentence often starts with
("Welcome", "Painting", "Can't": ``ordinary_start``) is never taken for a subject there.
Measured on LoCoMo, taking every other first word as a name linked common nouns ("Pottery",
"Basketball") and cost 0.004-0.009 recall@10. Common function words never count.

Cost is linear in the text, whatever the text. It reads at most ``MAX_EXTRACT_CHARS`` (16 KiB)
characters, cut back to a blank so no word is cut in half: names further into a longer message
are not linked (the embedder reads less still, its first 256 tokens), and a 64 KiB message costs
what a 16 KiB one does. Within that, one left-to-right pass: one regex finds each run of
capitalised words, and whether a run starts a sentence is decided from the text since the
previous run, never by re-reading the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from powermem.text.names import normalize_name
from powermem.text.stopwords import CHAT_STARTS, COMMON_ENDINGS, NAME_STOPWORDS, PLURAL_EXCEPTIONS, SENTENCE_STARTS

MAX_EXTRACT_CHARS = 16 * 1024
MAX_ENTITIES_PER_TEXT = 12

# "Caroline: ..." or "Dr. Smith: ...". Bounded word lengths and counts; the one unbounded run
# (the blanks before the colon) fails in a single pass.
_SPEAKER = re.compile(r"^\s*([A-Z][\w'’.-]{0,40}(?: [A-Z][\w'’.-]{0,40}){0,2})\s*:\s")
# Capitalised words (not continuing a word) joined by blanks and at most one connector each
# ("Bank of England", "Leonardo da Vinci"). Linear: the blanks after a connector follow a
# literal, so no two adjacent quantifiers can trade characters, and each step of the outer
# repetition either ends at a capital or gives back only blanks, each failing at once. The
# capital comes first and the lookbehind after it, so the engine skips to capitals instead of
# trying the lookbehind at every character (2.1 -> 1.0 us a store_bench message).
_CAPITALISED_RUN = re.compile(
    r"[A-Z](?<![\w'’][A-Z])[\w'’-]*(?:\s+(?:(?:of|the|de|del|van|von|da|la|le|and|&)\s*)?[A-Z][\w'’-]*)*"
)
_TRAILING = frozenset(["of", "the", "de", "and", "&"])
_SENTENCE_END = frozenset(".!?…:;\"“(")


@dataclass(frozen=True)
class Mentions:
    """``strong`` names are entities on their own; ``weak`` ones (a capitalised first word of a
    sentence) count only if the tenant already knows an entity of that name."""

    strong: list[str]
    weak: list[str]


def extract_entities(text: str) -> Mentions:
    text = _head(text)
    strong: dict[str, str] = {}
    weak: dict[str, str] = {}
    speaker = _SPEAKER.match(text)
    if speaker:
        _keep(strong, speaker.group(1))
        text = text[speaker.end():]
    previous_end = 0
    for run in _CAPITALISED_RUN.finditer(text):
        raw, start = run.group(), run.start()
        candidate = _trim(raw)
        if len(candidate) > 1:  # one letter ("I", "A") normalises to one letter: never a name
            at_start = candidate == raw and _starts_sentence(text, previous_end, start)
            is_weak = at_start and " " not in candidate and not _is_acronym(candidate)
            _keep(weak if is_weak else strong, candidate)
            if len(strong) + len(weak) >= MAX_ENTITIES_PER_TEXT:
                break
        previous_end = run.end()
    return Mentions(list(strong.values()), [n for k, n in weak.items() if k not in strong])


def _head(text: str) -> str:
    """The first ``MAX_EXTRACT_CHARS`` characters, less a word the cut would split."""
    if len(text) <= MAX_EXTRACT_CHARS:
        return text
    head = text[:MAX_EXTRACT_CHARS]
    if text[MAX_EXTRACT_CHARS].isspace():
        return head
    kept = head.rsplit(maxsplit=1)  # reads back from the end to the last blank only
    return kept[0] if len(kept) == 2 else head


def _starts_sentence(text: str, previous_end: int, start: int) -> bool:
    """Whether ``text[:start]`` is empty or ends in sentence punctuation or a line break, then
    blanks. Only the text since the previous run is read: a run ends in a letter, digit,
    apostrophe or hyphen, none of which ends a sentence."""
    if start == 0:
        return True
    gap = text[previous_end:start]
    body = gap.rstrip()
    return "\n" in gap[len(body):] or (body != "" and body[-1] in _SENTENCE_END)


def _trim(candidate: str) -> str:
    words = candidate.split()
    first, last = 0, len(words)
    while first < last and words[first].lower().strip("'’") in NAME_STOPWORDS:
        first += 1
    while last > first and words[last - 1].lower() in _TRAILING:
        last -= 1
    return " ".join(words[first:last])


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and word.isalpha()


def ordinary_start(word: str) -> bool:
    """Whether a capitalised word that starts a sentence is likely an ordinary word, not a name."""
    return not _is_acronym(word) and _ordinary(word)


def _ordinary(word: str) -> bool:
    lower = word.lower().rstrip("'’")
    if lower in SENTENCE_STARTS or lower in NAME_STOPWORDS or lower in CHAT_STARTS or "'" in lower or "’" in lower:
        return True  # a listed word, or a contraction ("Can't", "You've")
    if len(lower) > 4 and lower.endswith(COMMON_ENDINGS):
        return True
    return len(lower) > 3 and lower.endswith("s") and not lower.endswith(PLURAL_EXCEPTIONS)


def _keep(names: dict[str, str], name: str) -> None:
    key = normalize_name(name)
    if key and key not in NAME_STOPWORDS and len(key) > 1 and key not in names:
        names[key] = name.strip().rstrip("'’").removesuffix("'s").removesuffix("’s")
