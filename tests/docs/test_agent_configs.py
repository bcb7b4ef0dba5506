"""The MCP client configurations of docs/agents.md: valid JSON, a command our parser accepts,
variables powermem reads, and the first one, started as written, serving the tools."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from powermem.cli import build_parser
from tests.docs.test_code_blocks import DOCS, read_blocks
from tests.support.mcp_client import server_env, stdio_session

ROOT = Path(__file__).resolve().parents[2]
PAGE = DOCS / "agents.md"
SERVERS = [server for block in read_blocks(PAGE) if block.lang == "json"
           for server in json.loads(block.code)["mcpServers"].values()]
KNOWN_VARIABLES = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', (ROOT / "powermem" / "config.py").read_text(encoding="utf-8")))


def powermem_args(server: dict[str, Any]) -> list[str]:
    """The arguments given to ``powermem`` itself, however the client starts it."""
    command, args = server["command"], list(server["args"])
    if command == "uvx":
        assert args[:3] == ["--from", "powermem-graph[server]", "powermem"], args
        return args[3:]
    assert Path(command).name == "powermem", command
    return args


def test_the_page_shows_stdio_and_http_configurations() -> None:
    assert sum("command" in s for s in SERVERS) >= 4 and sum("url" in s for s in SERVERS) >= 1


@pytest.mark.parametrize("server", [s for s in SERVERS if "command" in s])
def test_a_stdio_configuration_is_a_valid_powermem_mcp_command(server: dict[str, Any]) -> None:
    args = build_parser().parse_args(powermem_args(server))
    assert args.command == "mcp" and args.transport == "stdio" and args.user_id
    assert set(server.get("env", {})) <= KNOWN_VARIABLES, set(server.get("env", {})) - KNOWN_VARIABLES


@pytest.mark.parametrize("server", [s for s in SERVERS if "url" in s])
def test_an_http_configuration_points_at_mcp_with_a_key(server: dict[str, Any]) -> None:
    assert server["url"].endswith("/mcp")
    assert set(server["headers"]) <= {"Authorization", "X-API-Key"}
    assert server["headers"].get("Authorization", "Bearer ").startswith("Bearer ")


def test_the_claude_desktop_configuration_serves_the_tools(tmp_path: Path) -> None:
    server = SERVERS[0]
    env = server_env({**server.get("env", {}), "POWERMEM_PATH": str(tmp_path / "powermem.db"),
                      "EMBEDDING_PROVIDER": "hashing", "EMBEDDING_DIMS": "64", "HOME": str(tmp_path)})
    command = [sys.executable, "-m", "powermem.cli", *powermem_args(server)]

    async def tools() -> set[str]:
        with (tmp_path / "stderr.log").open("w") as log:
            async with stdio_session(command, env, log) as session:
                return {tool.name for tool in (await session.list_tools()).tools}

    assert "add_memory" in asyncio.run(tools())


def test_the_remote_python_client_reaches_serve_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's Python client for a remote ``powermem serve``, pointed at a local one with its keys."""
    from powermem import Memory, auto_config
    from powermem.cli.http import create_app
    from tests.support.http_server import serving

    block = next(b for b in read_blocks(PAGE) if "streamable_http_client(" in b.code)
    serve_line = next(b for b in read_blocks(PAGE) if "powermem serve --host" in b.code).code
    keys = re.search(r'POWERMEM_API_KEYS="([^"]+)"', serve_line)
    assert keys is not None
    monkeypatch.setenv("POWERMEM_API_KEYS", keys[1])  # read as `powermem serve` reads it
    config = {"store": {"provider": "embedded", "path": str(tmp_path / "p.db")},
              "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"},
              "server": auto_config()["server"]}
    with Memory(config) as m:
        m.add("Alice plans travel to Lisbon in May", user_id="alice", infer=False)
    with serving(create_app(config, mcp=True)) as url:
        code = block.code.replace("https://memory.example.com", url)
        script = tmp_path / "client.py"
        script.write_text("import asyncio\n\nasync def main():\n" + "".join(f"    {line}\n" for line in code.splitlines())
                          + "    print(found.structured_content['results'][0]['memory'])\n\nasyncio.run(main())\n")
        done = subprocess.run([sys.executable, str(script)], env=server_env(), capture_output=True, text=True,
                              timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Alice plans travel to Lisbon in May"
