"""The commands' config: serve and mcp turn require_scope on (unless the config says False); a mem0 file lays over the environment."""

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


def test_a_mem0_config_file_lays_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POWERMEM_PATH", str(tmp_path / "env.db"))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    mem0 = tmp_path / "mem0.json"
    mem0.write_text(json.dumps({
        "version": "v1.1",
        "vector_store": {"provider": "sqlite", "config": {"database_path": str(tmp_path / "file.db")}},
        "embedder": {"provider": "ollama", "config": {"model": "nomic-embed-text", "embedding_dims": 768}},
    }), encoding="utf-8")
    assert import_module("powermem.cli.main").main(["config", "--config", str(mem0)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["store"]["path"] == str(tmp_path / "file.db")  # the file wins over POWERMEM_PATH
    assert (shown["embedding"]["provider"], shown["embedding"]["dims"]) == ("ollama", 768)
