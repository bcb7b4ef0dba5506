"""Which entities each extracted fact mentions, and which fact states each relation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from powermem.ids import SnowflakeGenerator
from powermem.llm.schemas import Extraction
from powermem.stores.base import RelationInput
from powermem.text.names import normalize_name, sanitize_relationship
from powermem.when import lenient_time


@dataclass(frozen=True)
class _Stated:
    fact: int | None
    source_key: str
    relationship: str
    destination_key: str
    valid_at: str | None = None  # world times the model gave, canonical; None: not said
    invalid_at: str | None = None
    family: str | None = None  # its type family (schemas.FAMILIES), when the model named one


@dataclass
class FactLinks:
    entity_keys: list[tuple[str, ...]]  # per fact, resolved entity keys it mentions
    stated: list[_Stated]
    display: dict[str, str]  # resolved key -> a name to show
    fact_times: Sequence[str | None] = ()  # per fact, when the model says it became true

    def relations(
        self, ids: SnowflakeGenerator, memory_of_fact: Mapping[int, int], at: str, facts: Sequence[str],
        said_at: str | None = None,
    ) -> list[RelationInput]:
        """The relations stated, each asserted by the memory of its fact.

        Each is valid from the time the model gave it, else from the time the model gave its
        fact, else from ``said_at`` (when its messages were said), else from ``at``, the time
        of the write.

        A relation whose fact has no memory written by this add (or that no fact names) is
        asserted by every memory the add writes; with none, it is not planned: a relation must
        go with the last memory that asserts it, so one without any could never be forgotten.
        """
        written = tuple(sorted(set(memory_of_fact.values())))
        asserted: dict[tuple[str, str, str], tuple[_Stated, set[int]]] = {}
        for s in self.stated:
            own = memory_of_fact.get(s.fact) if s.fact is not None else None
            _, memory_ids = asserted.setdefault((s.source_key, s.relationship, s.destination_key), (s, set()))
            memory_ids.update((own,) if own is not None else written)
        made: list[RelationInput] = []
        for s, memory_ids in asserted.values():
            if not memory_ids:
                continue
            text = facts[s.fact] if s.fact is not None else " ".join(
                (self.display[s.source_key], s.relationship, self.display[s.destination_key])
            )
            happened = self.fact_times[s.fact] if s.fact is not None else None
            made.append(RelationInput(ids.next_id(), s.source_key, s.destination_key, s.relationship, text,
                                      tuple(sorted(memory_ids)), s.valid_at or happened or said_at or at, at,
                                      s.invalid_at, family=s.family))
        return made


def _mentions(fact_words: str, key: str) -> bool:
    # Both are normalised (word characters and single spaces): a whole-word match is a substring
    # match between spaces. No regex compiled per key; both are capped at MAX_NAME_LENGTH.
    return f" {key} " in f" {fact_words} "


def fact_times(facts: Sequence[str], extraction: Extraction) -> list[str | None]:
    """Per fact (deduplicated text), the canonical time the model gave it, if any."""
    given: dict[str, str] = {}
    for f in extraction.facts:
        if (when := lenient_time(f.valid_at)) is not None:
            given.setdefault(f.text.strip(), when)
    return [given.get(fact) for fact in facts]


def event_time(happened: str | None, said: str) -> str:
    """When a memory's fact took place, for its ``created_at``: the time the model gave, but
    never later than when it was said. A fact dated in the future is a plan known from the
    moment it was said ("moves to Berlin in May"), and ``as_of`` queries must see it then."""
    return min(happened, said) if happened is not None else said


def link_facts(facts: Sequence[str], extraction: Extraction, resolved: Mapping[str, str],
               times: Sequence[str | None] = ()) -> FactLinks:
    """``resolved`` maps each surface name's normalised key to the entity key it resolved to;
    ``times`` are the facts' own times (fact_times), when known."""
    display: dict[str, str] = {}
    for name in [e.name for e in extraction.entities] + [n for r in extraction.relations for n in (r.source, r.destination)]:
        key = normalize_name(name)
        if key in resolved:
            display.setdefault(resolved[key], name.strip())
    normalised = [normalize_name(f) for f in facts]
    entity_keys = [
        tuple(dict.fromkeys(resolved[k] for k in resolved if _mentions(words, k))) for words in normalised
    ]
    stated = []
    for rel in extraction.relations:
        source, destination = normalize_name(rel.source), normalize_name(rel.destination)
        if source not in resolved or destination not in resolved or resolved[source] == resolved[destination]:
            continue
        both = [i for i, w in enumerate(normalised) if _mentions(w, source) and _mentions(w, destination)]
        either = [i for i, w in enumerate(normalised) if _mentions(w, source) or _mentions(w, destination)]
        fact = (both or either)[0] if (both or either) else None
        stated.append(_Stated(fact, resolved[source], sanitize_relationship(rel.relationship), resolved[destination],
                              lenient_time(rel.valid_at), lenient_time(rel.invalid_at), rel.family))
    return FactLinks(entity_keys, stated, display, tuple(times) or (None,) * len(facts))
