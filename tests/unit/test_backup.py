"""powermem.backup.copy_sqlite on a live embedded store: committed data only, writers never
waited for, writes between steps of a stepwise copy included."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from powermem import Memory
from powermem.backup import copy_sqlite
from powermem.errors import InvalidInputError


def config(path: Path) -> dict[str, Any]:
    return {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": "hashing", "dims": 16},
            "llm": {"provider": "none"}}


def rows(path: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def live(tmp_path: Path) -> Any:
    with Memory(config(tmp_path / "live.db")) as m:
        for i in range(3):
            m.add(f"fact number {i}", user_id="u", infer=False)
        yield m, tmp_path / "live.db"


def test_a_copy_under_an_open_write_transaction_holds_committed_data_only(live: Any, tmp_path: Path) -> None:
    _, path = live
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock for the whole copy
    writer.execute("UPDATE memories SET memory = 'uncommitted'")
    try:
        copy_sqlite(path, tmp_path / "copy.db")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert sorted(rows(tmp_path / "copy.db", "SELECT memory FROM memories")) == [
        (f"fact number {i}",) for i in range(3)]


def test_a_write_between_steps_restarts_the_copy_and_is_in_it(live: Any, tmp_path: Path) -> None:
    m, path = live
    written: list[str] = []

    def write_once(status: int, remaining: int, total: int) -> None:
        if not written and remaining:
            written.append(m.add("written during the copy", user_id="u", infer=False)["results"][0]["id"])

    copy_sqlite(path, tmp_path / "copy.db", pages_per_step=1, progress=write_once)
    assert written
    memories = rows(tmp_path / "copy.db", "SELECT memory FROM memories")
    assert ("written during the copy",) in memories and len(memories) == 4
    # Consistent: every memory has its ADD event in the copy.
    assert rows(tmp_path / "copy.db", "SELECT count(*) FROM memories m WHERE NOT EXISTS "
                                      "(SELECT 1 FROM history h WHERE h.memory_id = m.id AND h.event = 'ADD')") == [(0,)]
    with Memory(config(tmp_path / "copy.db")) as copy:
        assert copy.get_all(user_id="u")["total"] == 4


def test_never_overwrites_and_needs_a_store_file(live: Any, tmp_path: Path) -> None:
    _, path = live
    (tmp_path / "taken.db").write_text("keep me")
    with pytest.raises(InvalidInputError, match="exists"):
        copy_sqlite(path, tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_text() == "keep me"
    with pytest.raises(InvalidInputError, match="no such store file"):
        copy_sqlite(tmp_path / "absent.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
