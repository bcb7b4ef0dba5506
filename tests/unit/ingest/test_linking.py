from __future__ import annotations

import time
from collections.abc import Sequence

from powermem.ingest.linking import link_facts
from powermem.llm.schemas import ExtractedEntity, ExtractedRelation, Extraction
from powermem.text.names import normalize_name
from tests.support.hostile_text import KIB, hostile_texts


def _extraction(facts: list[str], names: list[str], relations: Sequence[tuple[str, str, str]] = ()) -> Extraction:
    return Extraction(
        facts=facts,
        entities=[ExtractedEntity(name=n, type="thing") for n in names],
        relations=[ExtractedRelation(source=s, relationship=r, destination=d) for s, r, d in relations],
    )


def test_a_fact_mentions_an_entity_as_whole_words_only() -> None:
    facts = ["Ann moved to New York", "Annabel likes York", "Ann's cat", "nothing here"]
    resolved = {"ann": "ann", "new york": "new york", "york": "york"}
    links = link_facts(facts, _extraction(facts, ["Ann", "New York", "York"]), resolved)
    assert links.entity_keys == [("ann", "new york", "york"), ("york",), ("ann",), ()]


def test_a_relation_is_stated_by_the_fact_naming_both_ends() -> None:
    facts = ["Bob likes tea", "Ann works at Acme", "Acme hired Ann and Bob"]
    extraction = _extraction(facts, ["Ann", "Acme", "Bob"], [("Ann", "works at", "Acme")])
    links = link_facts(facts, extraction, {"ann": "ann", "acme": "acme", "bob": "bob"})
    assert [(s.fact, s.relationship) for s in links.stated] == [(1, "WORKS_AT")]


def test_hostile_facts_and_names_take_linear_time() -> None:
    texts = list(hostile_texts(64 * KIB).values())
    names = [t[:300] for t in texts] + [f"Name{i}" for i in range(200)]
    resolved = {key: key for name in names if (key := normalize_name(name))}
    start = time.process_time()
    link_facts(texts, _extraction(texts, names), resolved)
    assert time.process_time() - start < 1.0
