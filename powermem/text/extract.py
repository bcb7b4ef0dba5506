"""The offline entity extractor: names and proper nouns, without an LLM.

It favours precision: a capitalised word counts only where capitals carry meaning (not as
the first word of a sentence, unless it is also capitalised elsewhere or an acronym), and
common function words never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from powermem.text.names import normalize_name
from powermem.text.stopwords import NAME_STOPWORDS

_SPEAKER = re.compile(r"^\s*([A-Z][\w'’.-]{0,40}(?: [A-Z][\w'’.-]{0,40}){0,2})\s*:\s")
_CAPITALISED_RUN = re.compile(
    r"(?<![\w'’])([A-Z][\w'’-]*(?:\s+(?:of|the|de|del|van|von|da|la|le|and|&)?\s*[A-Z][\w'’-]*)*)"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?…:;\"“(]\s*|\n\s*)$")
MAX_ENTITIES_PER_TEXT = 12


@dataclass(frozen=True)
class Mentions:
    """``strong`` names are entities on their own; ``weak`` ones (a capitalised first word of a
    sentence) count only if the tenant already knows an entity of that name."""

    strong: list[str]
    weak: list[str]


def extract_entities(text: str) -> Mentions:
    strong: dict[str, str] = {}
    weak: dict[str, str] = {}
    speaker = _SPEAKER.match(text)
    if speaker:
        _keep(strong, speaker.group(1))
        text = text[speaker.end():]
    for match in _CAPITALISED_RUN.finditer(text):
        raw = match.group(1)
        candidate = _trim(raw)
        if not candidate:
            continue
        at_start = candidate == raw and bool(_SENTENCE_START.search(text[: match.start()]))
        is_weak = at_start and not _is_acronym(candidate) and " " not in candidate
        _keep(weak if is_weak else strong, candidate)
        if len(strong) + len(weak) >= MAX_ENTITIES_PER_TEXT:
            break
    return Mentions(list(strong.values()), [n for k, n in weak.items() if k not in strong])


def _trim(candidate: str) -> str:
    words = candidate.split()
    while words and words[0].lower().strip("'’") in NAME_STOPWORDS:
        words.pop(0)
    while words and words[-1].lower() in {"of", "the", "de", "and", "&"}:
        words.pop()
    return " ".join(words)


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and word.isalpha()


def _keep(names: dict[str, str], name: str) -> None:
    key = normalize_name(name)
    if key and key not in NAME_STOPWORDS and len(key) > 1 and key not in names:
        names[key] = name.strip().rstrip("'’").removesuffix("'s").removesuffix("’s")
