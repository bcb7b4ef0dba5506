"""The stores' backup rows (dump_rows / load_rows / content_counts), on both stores: pages
cover every row once, a batch that cannot be written writes nothing, and loading is an
upsert by id."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.errors import PowermemError
from powermem.stores.base import GraphStore
from powermem.stores.dump import SECTIONS, Row, Section

FACTS = ["Ann met Bob in Lisbon", "Bob met Cid in Porto", "Cid met Ann in Faro", "Dan met Eve in Braga"]


async def store_of(memory: AsyncMemory) -> GraphStore:
    store, _, _ = await memory._ready()
    return store


async def everything(store: GraphStore, section: Section, page: int) -> list[Row]:
    rows: list[Row] = []
    after = None
    while True:
        batch, after = await store.dump_rows(section, after, page)
        rows += batch
        if after is None:
            return rows


def comparable(rows: list[Row]) -> list[Any]:
    return sorted((row["id"], sorted((k, str(v)) for k, v in row.items() if k != "embedding")) for row in rows)


AT = "2026-01-01T00:00:00.000000+00:00"


def relations_among(entities: list[Row], memories: list[Row], first_id: int) -> list[Row]:
    """A relation from each entity of a tenant to the next, asserted by that tenant's first memory."""
    rows: list[Row] = []
    for tenant in sorted({e["user_id"] for e in entities}):
        own = [e for e in entities if e["user_id"] == tenant]
        asserted = [m["id"] for m in memories if m["user_id"] == tenant][:1]
        for a, b in pairwise(own):
            invalid = AT if len(rows) % 2 else None
            rows.append({"id": first_id + len(rows), "source_id": a["id"], "destination_id": b["id"],
                         "relationship": "NEAR", "fact": f"{a['name']} near {b['name']}", "memory_ids": asserted,
                         "times": {"valid_at": AT, "invalid_at": invalid, "created_at": AT,
                                   "expired_at": None, "origin": "llm",
                                   "family": "residence" if invalid else None}})
    return rows


async def test_pages_of_any_size_cover_every_row_once(memory: AsyncMemory) -> None:
    for i, text in enumerate(FACTS):
        await memory.add(text, user_id="u" if i < 3 else "v", infer=False)
    store = await store_of(memory)
    entities, memories = await everything(store, "entities", 100), await everything(store, "memories", 100)
    relations = relations_among(entities, memories, memories[-1]["id"] + 1)
    await store.load_rows("relations", relations)
    assert comparable(await everything(store, "relations", 100)) == comparable(relations)
    counts = await store.content_counts()
    assert counts["memories"] == 4 and counts["events"] == 4 and counts["entities"] >= 5
    assert counts["relations"] == len(relations) >= 4
    for section in SECTIONS:
        whole = await everything(store, section, 10_000)
        assert len({row["id"] for row in whole}) == len(whole)
        for page in (1, 2, 3):
            assert comparable(await everything(store, section, page)) == comparable(whole), (section, page)


async def test_a_batch_that_cannot_be_written_writes_nothing(memory: AsyncMemory) -> None:
    await memory.add("Ann met Bob in Lisbon", user_id="u", infer=False)
    store = await store_of(memory)
    [entity, *_] = await everything(store, "entities", 100)
    before = {section: comparable(await everything(store, section, 100)) for section in SECTIONS}
    fresh = {**entity, "id": entity["id"] + 1_000_000, "name": "Another"}
    clash = {**entity, "id": entity["id"] + 2_000_000}  # same tenant and name_key, another id
    with pytest.raises(PowermemError):
        await store.load_rows("entities", [fresh, clash])
    relation = {"id": 7, "source_id": entity["id"], "destination_id": 12345, "relationship": "KNOWS",
                "fact": "f", "memory_ids": [], "times": {"valid_at": "2026-01-01T00:00:00+00:00",
                                                         "invalid_at": None, "created_at": "2026-01-01T00:00:00+00:00"}}
    with pytest.raises(PowermemError, match="entities does not exist"):
        await store.load_rows("relations", [relation])
    assert {section: comparable(await everything(store, section, 100)) for section in SECTIONS} == before


async def test_loading_the_dumped_rows_again_changes_nothing(memory: AsyncMemory) -> None:
    for text in FACTS[:3]:
        await memory.add(text, user_id="u", infer=False)
    store = await store_of(memory)
    before = {section: await everything(store, section, 100) for section in SECTIONS}
    for section in SECTIONS:
        await store.load_rows(section, before[section])
    after = {section: await everything(store, section, 100) for section in SECTIONS}
    assert {s: comparable(r) for s, r in after.items()} == {s: comparable(r) for s, r in before.items()}
    found = await memory.search("who met Bob", user_id="u")
    assert "Ann met Bob in Lisbon" in [r["memory"] for r in found["results"]]
