"""The write-ahead log is copied into the database file beside the writer, not inside its COMMIT."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest

from powermem import AsyncMemory
from powermem.stores.embedded import checkpoint

ROWS = 2_000  # ~4 MB of log with 384-dim vectors: under the writer's own threshold (64 MiB)


def config(path: Path) -> dict[str, object]:
    return {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": "hashing", "dims": 384},
            "llm": {"provider": "none"}}


def rows_in_database_file(path: Path) -> int:
    """Memories the database file itself holds (``immutable`` reads it without the log); 0
    while even the schema is only in the log."""
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'memories'").fetchone() is None:
            return 0
        return int(conn.execute("SELECT count(*) FROM memories").fetchone()[0])


async def add_rows(m: AsyncMemory) -> None:
    for start in range(0, ROWS, 500):
        await m.add([{"role": "user", "content": f"Maya memory {i}"} for i in range(start, start + 500)],
                    user_id="maya", infer=False)


async def test_committed_writes_reach_the_database_file_while_the_store_is_open(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with AsyncMemory(config(path)) as m:
        engine = m._store.engine  # type: ignore[attr-defined]
        assert engine._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16_384
        await add_rows(m)
        last = engine._checkpoint.wrote()  # a write number past every add's commit
        assert engine._checkpoint.wait_covered(last, timeout=60)
        assert rows_in_database_file(path) == ROWS
        assert (await m.get_all(user_id="maya", limit=1))["total"] == ROWS


async def test_a_failing_checkpoint_is_logged_and_writes_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    # Only the checkpoint thread's module sees the refusal; the store's own connection opens.
    monkeypatch.setattr(checkpoint, "sqlite3", SimpleNamespace(connect=refuse, Error=sqlite3.Error))
    path = tmp_path / "store.db"
    monkeypatch.setattr(checkpoint, "MIN_INTERVAL_S", 0.0)
    with caplog.at_level(logging.WARNING, logger="powermem.store"):
        async with AsyncMemory(config(path)) as m:
            engine = m._store.engine  # type: ignore[attr-defined]
            await add_rows(m)
            assert engine._checkpoint.wait_covered(engine._checkpoint.wrote(), timeout=60)
            assert rows_in_database_file(path) < ROWS  # nothing copied: the log still holds them
            assert (await m.get_all(user_id="maya", limit=1))["total"] == ROWS
    assert "background WAL checkpoint" in caplog.text
    monkeypatch.undo()
    assert rows_in_database_file(path) == ROWS  # the writer's close checkpointed the rest
