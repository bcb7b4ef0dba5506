"""What powermem creates is private (folders 0700, files 0600) under any umask; what exists is left alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from powermem import Memory
from powermem.private_files import create_private_file, make_private_dirs


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(old)


@contextmanager
def open_store(path: Path | None) -> Iterator[None]:
    """An embedded store with writes in its WAL (SQLite removes -wal and -shm on close)."""
    config = {"store": {"provider": "embedded", **({"path": str(path)} if path else {})},
              "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"}}
    with Memory(config) as m:
        for i in range(20):
            m.add(f"note {i}: Alice met Bob in Berlin", user_id="u", infer=False)
        assert m.get_all(user_id="u")["total"] == 20
        yield


def test_the_default_store_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(mode=0o755)
    os.chmod(tmp_path / "home", 0o755)
    folder = tmp_path / "home" / ".powermem"
    with open_store(None):  # ~/.powermem/powermem.db
        files = sorted(p.name for p in folder.iterdir())
        assert files == ["powermem.db", "powermem.db-shm", "powermem.db-wal"], files
        assert {p.name: mode(p) for p in folder.iterdir()} == dict.fromkeys(files, 0o600)
    assert mode(folder) == 0o700
    assert mode(tmp_path / "home") == 0o755, "HOME existed: its mode is the user's"


def test_a_store_in_an_existing_shared_folder_leaves_the_folder_alone(tmp_path: Path, umask: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o775)
    with open_store(shared / "nested" / "deeper" / "team.db"):
        assert mode(shared / "nested" / "deeper" / "team.db-wal") == 0o600
    assert mode(shared) == 0o775
    assert mode(shared / "nested") == mode(shared / "nested" / "deeper") == 0o700
    assert mode(shared / "nested" / "deeper" / "team.db") == 0o600


def test_an_existing_store_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mine.db"
    path.touch()
    os.chmod(path, 0o640)
    with open_store(path):
        # SQLite gives its journal files the database file's mode.
        assert mode(path.with_name("mine.db-wal")) == mode(path.with_name("mine.db-shm")) == 0o640
    assert mode(path) == 0o640


def test_helpers(tmp_path: Path, umask: int) -> None:
    make_private_dirs(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    os.chmod(tmp_path / "a", 0o755)
    make_private_dirs(tmp_path / "a" / "b")  # all exist: nothing changes
    assert mode(tmp_path / "a") == 0o755
    create_private_file(tmp_path / "a" / "c" / "f")
    assert mode(tmp_path / "a" / "c" / "f") == 0o600 and mode(tmp_path / "a" / "c") == 0o700
    (tmp_path / "a" / "c" / "f").write_text("kept")
    os.chmod(tmp_path / "a" / "c" / "f", 0o644)
    create_private_file(tmp_path / "a" / "c" / "f")
    assert mode(tmp_path / "a" / "c" / "f") == 0o644 and (tmp_path / "a" / "c" / "f").read_text() == "kept"
