"""`powermem serve` and `powermem mcp` turn require_scope on unless the config says False."""

from __future__ import annotations

import json
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from powermem.config import MemoryConfig


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[MemoryConfig]:
    seen: list[MemoryConfig] = []
    import powermem.cli.http as http
    import powermem.cli.mcp as mcp

    monkeypatch.setattr(http, "serve", lambda config, *a, **k: seen.append(config))

    async def stdio(config: MemoryConfig, *args: Any) -> None:
        seen.append(config)

    monkeypatch.setattr(mcp, "serve_stdio", stdio)
    monkeypatch.setenv("POWERMEM_PATH", str(tmp_path / "m.db"))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    return seen


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--transport", "stdio"]])
def test_serve_and_mcp_require_scope_by_default(command: list[str], captured: list[MemoryConfig],
                                                tmp_path: Path) -> None:
    assert import_module("powermem.cli.main").main(command) == 0
    assert captured[-1].require_scope is True
    off = tmp_path / "off.json"
    off.write_text(json.dumps({"require_scope": False}), encoding="utf-8")
    assert import_module("powermem.cli.main").main([*command, "--config", str(off)]) == 0
    assert captured[-1].require_scope is False


def test_the_library_does_not_require_scope_by_default() -> None:
    assert MemoryConfig.from_any({"embedding": {"provider": "hashing"}}).require_scope is None
