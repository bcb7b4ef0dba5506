"""Deprecation warnings point at the caller's line, from Memory as from AsyncMemory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory, Memory


def config(tmp_path: Path) -> dict[str, Any]:
    return {"store": {"provider": "embedded", "path": str(tmp_path / "m.db")}, "embedding": {"provider": "hashing"}}


def test_memory_warning_points_at_the_caller(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match="store provider argument is deprecated") as record:
        memory = Memory(config(tmp_path), storage_type="sqlite")
    memory.close()
    assert [Path(w.filename).name for w in record] == [Path(__file__).name]


def test_async_memory_warning_points_at_the_caller(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning) as record:
        AsyncMemory(config(tmp_path), embedding_provider="hashing")
    assert [Path(w.filename).name for w in record] == [Path(__file__).name]
