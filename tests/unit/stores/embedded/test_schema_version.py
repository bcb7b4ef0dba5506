"""The embedded store records its schema version, and initialize() migrates a store written by
an earlier release: tests/fixtures/store_<commit>.db, each made by that code (make_prev_store.py):
e330da7 (no schema version yet) and 6e7f6aa (schema version 3, before relation families and
re-embedding)."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.backup import export_full
from powermem.errors import ConfigError
from powermem.stores.embedded.schema import SCHEMA_VERSION

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PREVIOUS = FIXTURES / "store_e330da7.db"
READ_BACK = json.loads((FIXTURES / "store_e330da7.json").read_text(encoding="utf-8"))
RELEASES = {"e330da7": 0, "6e7f6aa": 3}  # commit -> the schema version its store records
SCOPES = {"user_id=alice": {"user_id": "alice"}, "run_id=trip": {"run_id": "trip"},
          "user_id=bob,agent_id=crm": {"user_id": "bob", "agent_id": "crm"}}


def config(path: Path) -> dict[str, Any]:
    return {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": "hashing", "dims": 64},
            "llm": {"provider": "none"}}


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    path = tmp_path / "previous.db"
    shutil.copyfile(PREVIOUS, path)
    return path


@pytest.mark.parametrize("release", sorted(RELEASES))
async def test_a_store_of_an_earlier_release_migrates_and_reads_back_everything(release: str, tmp_path: Path) -> None:
    previous = tmp_path / "previous.db"
    shutil.copyfile(FIXTURES / f"store_{release}.db", previous)
    read_back = json.loads((FIXTURES / f"store_{release}.json").read_text(encoding="utf-8"))
    assert user_version(previous) == RELEASES[release]
    async with AsyncMemory(config(previous)) as m:
        for key, scope in SCOPES.items():
            listed = await m.get_all(**scope, limit=100)
            assert json.loads(json.dumps(listed)) == read_back[key]["get_all"], key
            history = {str(r["id"]): await m.history(r["id"]) for r in listed["results"]}
            assert json.loads(json.dumps(history)) == read_back[key]["history"], key
        out = io.StringIO()
        await export_full(m, out)
        # The migrated schema takes writes (an offline relation with its columns among them).
        await m.add("Alice works at Acme", user_id="alice", infer=False)
    assert user_version(previous) == SCHEMA_VERSION
    # Below the API too: the invalidated relation and the deleted memory's history came through.
    records = [json.loads(line) for line in out.getvalue().splitlines()[1:]]
    relations = [r for r in records if r["kind"] == "relation"]
    assert sorted(r["times"]["invalid_at"] is None for r in relations) == [False, True]
    assert sorted(r["event"] for r in records if r["kind"] == "event") == ["ADD"] * 4 + ["DELETE", "UPDATE"]
    # Opening it again changes nothing.
    async with AsyncMemory(config(previous)) as m:
        alice = (await m.get_all(user_id="alice"))["results"]
        assert [r for r in alice if r["memory"] != "Alice works at Acme"] == read_back["user_id=alice"]["get_all"]["results"]


async def test_a_new_store_starts_at_the_current_version(tmp_path: Path) -> None:
    async with AsyncMemory(config(tmp_path / "new.db")) as m:
        await m.add("hello", user_id="u", infer=False)
    assert user_version(tmp_path / "new.db") == SCHEMA_VERSION


async def test_a_store_of_a_newer_release_is_refused_untouched(previous: Path) -> None:
    conn = sqlite3.connect(previous)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = dumped(previous)
    with pytest.raises(ConfigError, match=f"schema version {SCHEMA_VERSION + 1}, newer than this powermem"):
        async with AsyncMemory(config(previous)):
            pass
    assert dumped(previous) == before
    assert user_version(previous) == SCHEMA_VERSION + 1


def dumped(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
