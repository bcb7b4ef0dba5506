"""``powermem mcp``: its options, and a clear error when the server extra is not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from powermem.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[3]


def test_options_and_defaults() -> None:
    args = build_parser().parse_args(["mcp"])
    assert (args.transport, args.user_id, args.host, args.port) == ("stdio", None, None, None)
    args = build_parser().parse_args(["mcp", "--transport", "http", "--user-id", "u1", "--host", "::1", "--port", "0"])
    assert (args.transport, args.user_id, args.host, args.port) == ("http", "u1", "::1", 0)


def test_an_unknown_transport_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "--transport", "sse"]) == 2
    assert "invalid choice: 'sse'" in capsys.readouterr().err


def test_without_the_sdk_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name in [n for n in sys.modules if n == "mcp" or n.startswith("mcp.")] or ["mcp"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing it now fails as if it were not installed
    monkeypatch.delitem(sys.modules, "powermem.cli.mcp", raising=False)
    assert main(["mcp"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'powermem-graph[server]'" in err and "missing module mcp" in err


def test_the_library_and_command_line_import_without_the_sdk() -> None:
    code = ("import sys; sys.modules.update(mcp=None, uvicorn=None, fastapi=None, starlette=None)\n"
            "import powermem, powermem.cli, powermem._admin\n"
            "assert 'powermem.cli.mcp' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr


async def test_without_a_default_user_a_call_must_name_its_scope(tmp_path: Path) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from powermem import AsyncMemory
    from powermem.cli.mcp import build_mcp_server

    seen = []
    config = {"store": {"provider": "embedded", "path": str(tmp_path / "p.db")},
              "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"}}
    async with AsyncMemory(config) as memory:
        server = build_mcp_server(memory, authorize=lambda request, scope: seen.append((request, scope.user_id)))
        with pytest.raises(ToolError, match="no scope: pass user_id"):
            await server.call_tool("search_memories", {"query": "tea"})
        result = await server.call_tool("add_memory", {"content": "Likes tea", "user_id": "bob", "infer": False})
        assert not result.is_error and result.structured_content["results"][0]["user_id"] == "bob"
    assert seen == [(None, "bob")]  # the hook ran once, with no HTTP request outside a transport
