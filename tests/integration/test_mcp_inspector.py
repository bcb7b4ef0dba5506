"""A client nobody here wrote: the MCP Inspector's CLI mode (npm) against ``powermem mcp`` on stdio.

The Inspector is installed from tests/integration/mcp_inspector/package-lock.json into that
folder's node_modules (``make test`` runs ``npm ci`` there; so does this test when it is
missing). The test is skipped, saying why, only when npm is absent or cannot fetch the package.
Its stdio transport hands the server only a minimal environment, so the store comes from
``--config`` and the checkout from ``--cwd``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = Path(__file__).parent / "mcp_inspector"
INSPECTOR = FOLDER / "node_modules" / ".bin" / "inspector"


@pytest.fixture(scope="module")
def inspector() -> Path:
    if not INSPECTOR.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: cannot fetch the MCP Inspector")
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=FOLDER, capture_output=True,
                              text=True, timeout=600, check=False)
        if done.returncode != 0:
            pytest.skip(f"npm could not install the MCP Inspector (registry unreachable?): {done.stderr[-400:]}")
    return INSPECTOR


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inspector")
    path = folder / "config.json"
    path.write_text(json.dumps({"store": {"provider": "embedded", "path": str(folder / "powermem.db")},
                                "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"}}))
    return path


def inspect(inspector: Path, config: Path, *method: str) -> tuple[int, Any, str]:
    command = [str(inspector), "--cli", "--cwd", str(ROOT), "-e", f"PYTHONPATH={ROOT}", "-e", "POWERMEM_ENV_FILE=/dev/null",
               *method, "--", sys.executable, "-m", "powermem.cli", "mcp", "--config", str(config),
               "--user-id", "inspector"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.stdout.strip(), f"no output (exit {done.returncode}): {done.stderr}"
    return done.returncode, json.loads(done.stdout), done.stderr


def call(inspector: Path, config: Path, tool: str, **arguments: str) -> tuple[int, Any]:
    args = [a for key, value in arguments.items() for a in ("--tool-arg", f"{key}={value}")]
    status, out, _ = inspect(inspector, config, "--method", "tools/call", "--tool-name", tool, *args)
    return status, out


def test_lists_the_tools_with_portable_schemas(inspector: Path, config: Path) -> None:
    status, out, stderr = inspect(inspector, config, "--method", "tools/list", "--strict")
    assert status == 0, stderr  # --strict: exit 6 on any error-severity schema portability problem
    assert {t["name"] for t in out["tools"]} == {
        "add_memory", "search_memories", "get_memory", "update_memory", "delete_memory", "delete_all_memories",
        "list_memories", "memory_history", "related_entities"}


def test_add_then_search(inspector: Path, config: Path) -> None:
    status, added = call(inspector, config, "add_memory", content="Alice likes green tea", infer="false")
    assert status == 0 and added["isError"] is False
    memory_id = added["structuredContent"]["results"][0]["id"]
    status, found = call(inspector, config, "search_memories", query="green tea")
    assert status == 0 and found["isError"] is False
    assert found["structuredContent"]["results"][0]["id"] == memory_id
    assert "Alice likes green tea" in found["content"][0]["text"]

