"""`powermem demo` without --path leaves no temporary folder behind."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

from powermem.cli.demo import run_demo


async def test_demo_removes_its_temporary_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = io.StringIO()
    await run_demo(out, None, "hashing")
    assert "memories in the store" in out.getvalue() and str(tmp_path) in out.getvalue()
    assert list(tmp_path.iterdir()) == []


async def test_demo_keeps_a_folder_it_was_given(tmp_path: Path) -> None:
    await run_demo(io.StringIO(), tmp_path, "hashing")
    assert (tmp_path / "demo.db").is_file()
