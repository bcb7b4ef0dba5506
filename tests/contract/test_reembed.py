"""powermem.reembed on both stores: every memory and entity moves to the new embedder, search
then answers as a store built with it does, a killed run resumes without redoing rows, and
until the switch the old embedder keeps searching while writes are refused."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from powermem import AsyncMemory
from powermem.embeddings.hashing import HashingEmbedder
from powermem.errors import ConfigError, InvalidInputError, StoreError
from powermem.reembed import ReembedProgress, reembed
from powermem.stores import create_store
from powermem.stores.base import GraphStore
from powermem.stores.dump import Row, Section

OLD, NEW = 64, 128
NAMES = ["Ann", "Bob", "Cid", "Dora", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jules"]
# Distinct texts, so that no two memories tie on a score and the order is the embedder's own.
TEXTS = [f"{NAMES[i % 10]} visited {city} in {1990 + i} to see {NAMES[(i * 3 + 1) % 10]}"
         for i, city in enumerate(["Lisbon", "Porto", "Faro", "Braga", "Evora", "Sintra", "Tavira", "Lagos",
                                   "Coimbra", "Aveiro", "Viseu", "Leiria", "Setubal", "Beja", "Guarda",
                                   "Chaves", "Tomar", "Obidos", "Nazare", "Peniche", "Cascais", "Mafra", "Elvas"])]
QUERIES = ["Ann in Lisbon", "who visited Porto", "Bob 1995", "Jules and Eve", "Coimbra"]
USER = "reembed-user"


def with_dims(config: dict[str, Any], dims: int) -> dict[str, Any]:
    moved = copy.deepcopy(config)
    moved["embedding"] = {"provider": "hashing", "dims": dims}
    return moved


class Stop(Exception):
    """Stands for a kill: raised from the progress callback after some committed batches."""


def stop_after(batches: int) -> Any:
    seen: list[ReembedProgress] = []

    def progress(step: ReembedProgress) -> None:
        seen.append(step)
        if step.kind == "memories" and step.done > 0 and len([s for s in seen if s.done > 0]) >= batches:
            raise Stop

    return progress


@pytest.fixture
async def old_config(memory_config: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """A store of OLD dimensions holding TEXTS; on Neo4j the shared database is moved back to
    OLD dimensions afterwards, as the rest of the suite expects."""
    async with AsyncMemory(memory_config) as m:
        await m.reset()
        for text in TEXTS:
            await m.add(text, user_id=USER, infer=False)
    yield memory_config
    if memory_config["store"]["provider"] == "neo4j":
        store = create_store(_store_config(memory_config))
        await store.reset()
        await store.close()
        try:
            await reembed(memory_config, abort=True)
        except InvalidInputError:
            pass  # nothing in progress
        await reembed(memory_config)


def _store_config(config: dict[str, Any]) -> Any:
    from powermem.config import MemoryConfig

    return MemoryConfig.from_any(config).store


async def store_of(memory: AsyncMemory) -> GraphStore:
    store, _, _ = await memory._ready()
    return store


async def rows(memory: AsyncMemory, section: Section) -> list[Row]:
    store = await store_of(memory)
    found: list[Row] = []
    after = None
    while True:
        batch, after = await store.dump_rows(section, after, 500)
        found += batch
        if after is None:
            return found


async def searches(memory: AsyncMemory) -> list[list[tuple[str, float]]]:
    answers = []
    for query in QUERIES:
        found = (await memory.search(query, user_id=USER, limit=8))["results"]
        answers.append([(r["memory"], round(r["score"], 4)) for r in found])
    return answers


async def test_reembed_moves_every_row_and_search_matches_a_fresh_store(old_config: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    async with AsyncMemory(old_config) as m:
        before_memories = {r["id"]: r["memory"] for r in await rows(m, "memories")}
        before_entities = {r["id"]: r["name"] for r in await rows(m, "entities")}
    assert len(before_memories) == len(TEXTS) and before_entities

    steps: list[ReembedProgress] = []
    report = await reembed(with_dims(old_config, NEW), batch_size=5, on_progress=steps.append)
    assert (report.dims_from, report.dims_to, report.switched) == (OLD, NEW, True)
    assert (report.memories, report.entities) == (len(before_memories), len(before_entities))
    assert [s.done for s in steps if s.kind == "memories"] == [0, 5, 10, 15, 20, 23]
    assert steps[-1].kind == "switch"

    embedder = HashingEmbedder(NEW)
    async with AsyncMemory(with_dims(old_config, NEW)) as m:
        memories, entities = await rows(m, "memories"), await rows(m, "entities")
        assert {r["id"]: r["memory"] for r in memories} == before_memories
        assert {r["id"]: r["name"] for r in entities} == before_entities
        for section, key in ((memories, "memory"), (entities, "name")):
            for row in section:
                expected = embedder.embed_sync([row[key]])[0]
                assert np.allclose(np.asarray(row["embedding"], dtype=np.float32), expected, atol=1e-6)
        moved = await searches(m)
    if old_config["store"]["provider"] == "neo4j":  # the new vector indexes answer too
        indexed = with_dims(old_config, NEW)
        indexed["store"]["exact_scan_limit"] = 0
        async with AsyncMemory(indexed) as m:
            assert await searches(m) == moved
    async with AsyncMemory(with_dims(old_config, NEW)) as m:
        await m.add("Kim visited Lisbon", user_id=USER, infer=False)  # writes work again

    fresh = {"store": {"provider": "embedded", "path": str(tmp_path / "fresh.db")},
             "embedding": {"provider": "hashing", "dims": NEW}, "llm": {"provider": "none"},
             "ingest": old_config["ingest"]}
    async with AsyncMemory(fresh) as f:
        for text in TEXTS:
            await f.add(text, user_id=USER, infer=False)
        assert moved == await searches(f)
        assert all(moved)


async def test_a_killed_reembed_resumes_and_the_old_embedder_searches_meanwhile(old_config: dict[str, Any]) -> None:
    async with AsyncMemory(old_config) as m:
        before = await searches(m)
    with pytest.raises(Stop):
        await reembed(with_dims(old_config, NEW), batch_size=4, on_progress=stop_after(2))

    # Half moved: the old embedder still answers as before, writes are refused with the reason.
    async with AsyncMemory(old_config) as m:
        assert await searches(m) == before
        with pytest.raises(StoreError, match="being re-embedded to hashing"):
            await m.add("Lou visited Beja", user_id=USER, infer=False)
        assert len((await m.get_all(user_id=USER, limit=100))["results"]) == len(TEXTS)
    with pytest.raises(ConfigError, match="re-embed"):
        async with AsyncMemory(with_dims(old_config, NEW)):
            pass
    # Another target cannot start over the one in progress.
    with pytest.raises(ConfigError, match="being re-embedded to hashing"):
        await reembed(with_dims(old_config, 96))

    steps: list[ReembedProgress] = []
    report = await reembed(with_dims(old_config, NEW), batch_size=4, on_progress=steps.append)
    assert report.resumed and report.switched
    assert report.memories == len(TEXTS) - 8  # two batches of 4 were committed before the stop
    assert steps[0] == ReembedProgress("memories", 8, len(TEXTS))
    async with AsyncMemory(with_dims(old_config, NEW)) as m:
        memories = await rows(m, "memories")
        assert sorted(r["memory"] for r in memories) == sorted(TEXTS)  # no duplicates, none lost
        embedder = HashingEmbedder(NEW)
        for row in memories:
            assert np.allclose(np.asarray(row["embedding"], dtype=np.float32), embedder.embed_sync([row["memory"]])[0],
                               atol=1e-6)
        assert all(await searches(m))


async def test_abort_keeps_the_old_vectors_and_writes_resume(old_config: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="nothing to abort"):
        await reembed(with_dims(old_config, NEW), abort=True)
    with pytest.raises(Stop):
        await reembed(with_dims(old_config, NEW), batch_size=4, on_progress=stop_after(1))
    report = await reembed(with_dims(old_config, NEW), abort=True)
    assert report.aborted and not report.switched
    async with AsyncMemory(old_config) as m:
        await m.add("Lou visited Beja", user_id=USER, infer=False)
        assert (await m.search("Lou in Beja", user_id=USER, limit=1))["results"][0]["memory"] == "Lou visited Beja"
    with pytest.raises(ConfigError, match="powermem reembed"):
        async with AsyncMemory(with_dims(old_config, NEW)):
            pass


async def test_a_process_opened_before_the_switch_is_told_to_reopen(old_config: dict[str, Any]) -> None:
    async with AsyncMemory(old_config) as m:
        await m.search("Ann", user_id=USER)
        await reembed(with_dims(old_config, NEW))
        with pytest.raises(ConfigError, match="re-embedded to 128 dimensions"):
            await m.add("Lou visited Beja", user_id=USER, infer=False)


async def test_bad_batch_size_is_refused_before_anything_is_written(old_config: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="batch_size"):
        await reembed(with_dims(old_config, NEW), batch_size=0)
    async with AsyncMemory(old_config) as m:
        await m.add("Lou visited Beja", user_id=USER, infer=False)


async def test_a_run_stopped_in_the_switch_is_finished_by_the_next(old_config: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedded: the switch is one transaction, so a failure in it leaves the old vectors in
    use. Neo4j: a failure after the vectors moved (creating the new indexes) leaves a store
    that refuses to open until the next run finishes the switch."""
    neo4j = old_config["store"]["provider"] == "neo4j"
    async with AsyncMemory(old_config) as m:
        before = await searches(m)
    if neo4j:
        from powermem.stores.neo4j.store import Neo4jStore

        create_indexes = Neo4jStore._vector_indexes

        async def failing(self: Neo4jStore, dims: int) -> None:
            if dims == NEW:
                raise Stop
            await create_indexes(self, dims)

        monkeypatch.setattr(Neo4jStore, "_vector_indexes", failing)
    else:
        from powermem.stores.embedded import reembed as embedded_reembed

        def failing_abort(conn: Any) -> None:
            raise Stop

        monkeypatch.setattr(embedded_reembed, "abort", failing_abort)
    with pytest.raises(Stop):
        await reembed(with_dims(old_config, NEW))
    monkeypatch.undo()

    if neo4j:
        with pytest.raises(ConfigError, match="switching to a new embedder"):
            async with AsyncMemory(old_config):
                pass
        with pytest.raises(ConfigError, match="switching"):
            await reembed(with_dims(old_config, NEW), abort=True)
    else:
        async with AsyncMemory(old_config) as m:
            assert await searches(m) == before  # rolled back: still all old vectors
    report = await reembed(with_dims(old_config, NEW))
    assert report.switched and report.resumed
    async with AsyncMemory(with_dims(old_config, NEW)) as m:
        memories = await rows(m, "memories")
        embedder = HashingEmbedder(NEW)
        for row in memories:
            assert np.allclose(np.asarray(row["embedding"], dtype=np.float32), embedder.embed_sync([row["memory"]])[0],
                               atol=1e-6)
        assert len(memories) == len(TEXTS) and all(await searches(m))
