"""Relation provenance planned by the infer pipeline: which memories assert each relation."""

from __future__ import annotations

from powermem.ids import SnowflakeGenerator
from powermem.ingest.linking import link_facts
from powermem.llm.schemas import ExtractedEntity, ExtractedRelation, Extraction

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
