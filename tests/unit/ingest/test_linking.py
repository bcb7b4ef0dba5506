"""Which entities each fact mentions, which fact states each relation, and which memories
assert it (relation provenance planned by the infer pipeline)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from powermem.ids import SnowflakeGenerator
from powermem.ingest.linking import event_time, fact_times, link_facts
from powermem.llm.schemas import ExtractedEntity, ExtractedRelation, Extraction
from powermem.text.names import normalize_name
from tests.support.hostile_text import KIB, hostile_texts

IDS = SnowflakeGenerator()
AT = "2026-12-02T00:00:00+00:00"


def _extraction(*relations: tuple[str, str, str]) -> Extraction:
    names = sorted({n for s, _, d in relations for n in (s, d)})
    return Extraction(
        facts=[], entities=[ExtractedEntity(name=n, type="thing") for n in names],
        relations=[ExtractedRelation(source=s, relationship=r, destination=d) for s, r, d in relations],
    )


def _resolved(extraction: Extraction) -> dict[str, str]:
    return {e.name.lower(): e.name.lower() for e in extraction.entities}


def test_a_relation_is_asserted_by_the_memory_of_the_fact_naming_both_ends() -> None:
    facts = ["Alice works at Acme", "Bob lives in Paris"]
    extraction = _extraction(("Alice", "WORKS_AT", "Acme"), ("Bob", "LIVES_IN", "Paris"))
    links = link_facts(facts, extraction, _resolved(extraction))
    planned = links.relations(IDS, {0: 11, 1: 22}, AT, facts)
    assert {(r.relationship, r.memory_ids) for r in planned} == {("WORKS_AT", (11,)), ("LIVES_IN", (22,))}


def test_a_relation_no_fact_names_is_asserted_by_every_memory_the_add_writes() -> None:
    facts = ["She started a new job", "It is near the river"]
    extraction = _extraction(("Alice", "WORKS_AT", "Acme"))
    links = link_facts(facts, extraction, _resolved(extraction))
    [relation] = links.relations(IDS, {0: 11, 1: 22}, AT, facts)
    assert relation.memory_ids == (11, 22)


def test_a_relation_whose_fact_wrote_no_memory_falls_back_to_the_written_ones() -> None:
    facts = ["Alice works at Acme", "Bob likes tea"]
    extraction = _extraction(("Alice", "WORKS_AT", "Acme"))
    links = link_facts(facts, extraction, _resolved(extraction))
    [relation] = links.relations(IDS, {1: 22}, AT, facts)  # fact 0 was a NONE: no memory of its own
    assert relation.memory_ids == (22,)


def test_no_relation_is_planned_when_the_add_writes_no_memory() -> None:
    facts = ["Alice works at Acme"]
    extraction = _extraction(("Alice", "WORKS_AT", "Acme"))
    links = link_facts(facts, extraction, _resolved(extraction))
    assert links.relations(IDS, {}, AT, facts) == []


def test_the_same_relation_stated_twice_is_one_relation_asserted_by_both() -> None:
    facts = ["Alice works at Acme", "Alice works at Acme since May"]
    extraction = _extraction(("Alice", "WORKS_AT", "Acme"), ("Alice", "WORKS_AT", "Acme"))
    links = link_facts(facts, extraction, _resolved(extraction))
    # Both relations resolve to fact 0 (first fact naming both ends): one relation.
    [relation] = links.relations(IDS, {0: 11, 1: 22}, AT, facts)
    assert relation.memory_ids == (11,)


def _extraction_of(facts: list[str], names: list[str], relations: Sequence[tuple[str, str, str]] = ()) -> Extraction:
    return Extraction(
        facts=facts,
        entities=[ExtractedEntity(name=n, type="thing") for n in names],
        relations=[ExtractedRelation(source=s, relationship=r, destination=d) for s, r, d in relations],
    )


def test_a_fact_mentions_an_entity_as_whole_words_only() -> None:
    facts = ["Ann moved to New York", "Annabel likes York", "Ann's cat", "nothing here"]
    resolved = {"ann": "ann", "new york": "new york", "york": "york"}
    links = link_facts(facts, _extraction_of(facts, ["Ann", "New York", "York"]), resolved)
    assert links.entity_keys == [("ann", "new york", "york"), ("york",), ("ann",), ()]


def test_a_relation_is_stated_by_the_fact_naming_both_ends() -> None:
    facts = ["Bob likes tea", "Ann works at Acme", "Acme hired Ann and Bob"]
    extraction = _extraction_of(facts, ["Ann", "Acme", "Bob"], [("Ann", "works at", "Acme")])
    links = link_facts(facts, extraction, {"ann": "ann", "acme": "acme", "bob": "bob"})
    assert [(s.fact, s.relationship) for s in links.stated] == [(1, "WORKS_AT")]


def test_hostile_facts_and_names_take_linear_time() -> None:
    texts = list(hostile_texts(64 * KIB).values())
    names = [t[:300] for t in texts] + [f"Name{i}" for i in range(200)]
    resolved = {key: key for name in names if (key := normalize_name(name))}
    start = time.process_time()
    link_facts(texts, _extraction_of(texts, names), resolved)
    assert time.process_time() - start < 1.0


def test_a_relation_without_a_time_of_its_own_is_valid_from_its_facts() -> None:
    facts = ["Alice moved to Porto", "Bob likes tea"]
    extraction = Extraction.model_validate({
        "facts": [{"text": "Alice moved to Porto", "valid_at": "2023-06"}, "Bob likes tea"],
        "entities": [{"name": n, "type": "thing"} for n in ("Alice", "Porto", "Bob", "tea")],
        "relations": [{"source": "Alice", "relationship": "LIVES_IN", "destination": "Porto", "family": "residence"},
                      {"source": "Bob", "relationship": "LIKES", "destination": "tea", "valid_at": "2020-01-01"}],
    })
    times = fact_times(facts, extraction)
    assert times == ["2023-06-01T00:00:00.000000+00:00", None]
    links = link_facts(facts, extraction, _resolved(extraction), times)
    planned = {r.relationship: r for r in links.relations(IDS, {0: 11, 1: 22}, AT, facts, said_at="2023-09-15")}
    assert (planned["LIVES_IN"].valid_at, planned["LIVES_IN"].family) == ("2023-06-01T00:00:00.000000+00:00",
                                                                          "residence")
    # The relation's own time wins over its fact's; a relation without a family has none.
    assert (planned["LIKES"].valid_at, planned["LIKES"].family) == ("2020-01-01T00:00:00.000000+00:00", None)


def test_a_memory_is_never_dated_after_it_was_said() -> None:
    said = "2023-09-15T10:00:00.000000+00:00"
    assert event_time("2023-06-01T00:00:00.000000+00:00", said) == "2023-06-01T00:00:00.000000+00:00"
    assert event_time("2024-05-01T00:00:00.000000+00:00", said) == said  # a plan: known when said
    assert event_time(None, said) == said
