"""The embedded store's process killed with SIGKILL in the middle of a bulk import.

A subprocess imports batches (one transaction each) in a loop and is killed with ``kill -9``
after a given number of committed batches, three times over: it reports each commit and is
paced by the parent (tests/support/paced.py), so the kill lands while it writes one of the
next few batches, whatever the machine's speed. After each kill the file reopens and is
consistent: SQLite's integrity check passes, every batch is whole or absent (never half
written), every batch the process reported as committed is there, every memory has its exact
text, md5 hash, metadata and ADD event, is found by vector and full-text search, and the
entity graph (mentions, entities, FTS rows) has no dangling or orphaned rows. A final
re-run of the idempotent import completes it without a single duplicate.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.stores.base import Scope
from tests.reliability.helpers import Tally
from tests.reliability.importer import BATCH, USER, expected_items, import_batches, item_text
from tests.support.paced import kill_on_progress

ROOT = Path(__file__).resolve().parents[2]
BATCHES = 1000
KILL_AFTER = [25, 120, 300]  # batches committed by each run before its kill
WINDOW = 4  # batches a run may commit past its kill point before the signal lands


def run_and_kill(config: dict[str, Any], kill_after: int, batches: int) -> tuple[list[int], bool]:
    """Run the importer, SIGKILL it after ``kill_after`` committed batches; (batches reported, finished)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "tests.reliability.importer", json.dumps(config), str(batches)]
    killed = kill_on_progress(argv, kill_after=kill_after, window=WINDOW, cwd=ROOT, env=env, seed=kill_after)
    return [int(line.split()[1]) for line in killed.reports], killed.finished


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def check_file(path: Path) -> dict[str, int]:
    """Low-level consistency of the SQLite file; returns row counts."""
    conn = sqlite3.connect(str(path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        memories = one("SELECT count(*) FROM memories")
        assert one("SELECT count(*) FROM memory_fts") == memories, "full-text rows differ from memories"
        assert one("SELECT count(*) FROM memory_fts f LEFT JOIN memories m ON m.id = f.rowid WHERE m.id IS NULL") == 0
        assert one("SELECT count(*) FROM mentions x LEFT JOIN memories m ON m.id = x.memory_id WHERE m.id IS NULL") == 0
        assert one("SELECT count(*) FROM mentions x LEFT JOIN entities e ON e.id = x.entity_id WHERE e.id IS NULL") == 0
        assert one("SELECT count(*) FROM entities e WHERE NOT EXISTS (SELECT 1 FROM mentions x WHERE x.entity_id = e.id)"
                   " AND NOT EXISTS (SELECT 1 FROM relations r WHERE e.id IN (r.source_id, r.destination_id))") == 0
        assert one("SELECT count(*) FROM memories m WHERE NOT EXISTS "
                   "(SELECT 1 FROM mentions x WHERE x.memory_id = m.id)") == 0, "a memory lost its entity links"
        assert one("SELECT count(*) FROM (SELECT tenant, name_key FROM entities GROUP BY 1, 2 HAVING count(*) > 1)") == 0
        events = conn.execute("SELECT memory_id, group_concat(event) FROM history GROUP BY memory_id").fetchall()
        ids = {r[0] for r in conn.execute("SELECT id FROM memories")}
        assert {i for i, _ in events} == ids, "history events without their memory, or memories without events"
        assert all(e == "ADD" for _, e in events)
        return {"memories": memories, "entities": one("SELECT count(*) FROM entities")}
    finally:
        conn.close()


async def check_memories(m: AsyncMemory, reported: set[int], batches: int) -> int:
    """Every stored batch is whole and intact; every reported batch is stored. Returns batches stored."""
    expected = expected_items(batches)
    listed = await m.get_all(user_id=USER, limit=BATCH * batches + 10, sort_by="id", order="asc")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in listed["results"]:
        by_key.setdefault(record["metadata"]["import_key"], []).append(record)
    for key, records in by_key.items():
        assert sorted(r["memory"] for r in records) == sorted(expected[key]), f"batch {key} is half-written"
        for r in records:
            assert r["hash"] == md5(r["memory"])
            assert r["metadata"] == {"import_key": key, "batch": int(key.split("-")[1]), "role": "user"}
    missing = [b for b in reported if f"batch-{b:05d}" not in by_key]
    assert not missing, f"batches reported committed were lost: {missing[:10]}"
    store, pipeline, _ = await m._ready()
    scope = Scope(USER)
    sample = listed["results"][:: max(1, len(listed["results"]) // 30)]
    for record in sample:
        vector = (await pipeline._embedder.embed([record["memory"]]))[0]
        assert record["id"] in {h.id for h in await store.vector_search(scope, None, vector, 3)}
        batch, item = record["memory"].split()[1].rstrip(":").split(".")
        token = f"zq{batch}x{item}"
        assert [h.id for h in await store.fulltext_search(scope, None, [token], 5)] == [record["id"]]
        history = await m.history(record["id"])
        assert [(h["event"], h["new_memory"]) for h in history] == [("ADD", record["memory"])]
    return len(by_key)


async def test_sigkill_during_bulk_import(tmp_path: Path, tally: Tally) -> None:
    await kill_import_and_check(tmp_path / "killed.db", KILL_AFTER, BATCHES, tally)


@pytest.mark.slow
async def test_sigkill_during_bulk_import_many_times(tmp_path: Path, tally: Tally) -> None:
    kills = [random.Random(n).randint(1, 300) for n in range(10)]
    await kill_import_and_check(tmp_path / "killed-often.db", kills, 4 * BATCHES, tally)


async def kill_import_and_check(path: Path, kills: list[int], batches: int, tally: Tally) -> None:
    # Each run commits at most its kill point plus the window: together less than the import.
    assert sum(k + WINDOW for k in kills) < batches
    config = {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": "hashing", "dims": 64},
              "llm": {"provider": "none"}}
    reported: set[int] = set()
    stored = 0
    for kill_after in kills:
        committed, finished = run_and_kill(config, kill_after, batches)
        assert not finished, "the importer ran to the end without being killed"
        assert kill_after <= len(committed) <= kill_after + WINDOW, "the importer ran past its credits"
        tally.add("faults", "embedded/sigkill-during-import")
        reported.update(committed)
        counts = check_file(path)
        async with AsyncMemory(config) as m:
            now = await check_memories(m, reported, batches)
        assert counts["memories"] == now * BATCH
        assert now >= stored, "committed batches disappeared after a later kill"
        stored = now
    assert 0 < stored < batches
    async with AsyncMemory(config) as m:
        written = await import_batches(m, range(batches))
        assert written == batches - stored, "the re-run rewrote batches that were stored"
        assert await check_memories(m, set(range(batches)), batches) == batches
        assert (await m.get_all(user_id=USER, limit=1))["total"] == batches * BATCH
        found = await m.search(item_text(7, 3), user_id=USER, limit=3)
        assert found["results"][0]["memory"] == item_text(7, 3)
    counts = check_file(path)
    assert counts["memories"] == batches * BATCH
    tally.add("cases", "embedded/import-batches", batches)
    tally.add("lost", "embedded/sigkill-during-import", 0)
