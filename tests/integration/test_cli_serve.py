"""``powermem serve`` as a user runs it, and the library without the web stack installed."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.support.cli_env import ROOT, CliEnv, make_cli_env

_RUNNING = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             request: pytest.FixtureRequest) -> CliEnv:
    return make_cli_env("embedded", tmp_path, monkeypatch, capsys, request)


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def wait_for_address(process: subprocess.Popen[str], log: list[str]) -> tuple[str, int]:
    """Read stderr until uvicorn names its address; the rest of stderr keeps going to ``log``."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while (line := lines.get(timeout=120)) is not None:
        if match := _RUNNING.search(line):
            return match[1], int(match[2])
    raise AssertionError("powermem serve stopped before it listened:\n" + "".join(log))


def test_serve_binds_loopback_with_keys_and_config(embedded: CliEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERMEM_API_KEYS", "serve-key")
    config = embedded.tmp / "server.json"
    config.write_text(json.dumps({"server": {"max_body_bytes": 2048}}))
    log: list[str] = []
    process = subprocess.Popen([sys.executable, "-m", "powermem.cli", "serve", "--port", "0", "--config", str(config)],
                               cwd=embedded.tmp, env=python_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True)
    try:
        host, port = wait_for_address(process, log)
        assert host == "127.0.0.1"
        url = f"http://{host}:{port}"
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "store": "embedded"}
        assert httpx.get(f"{url}/v1/memories").status_code == 401
        keyed = {"X-API-Key": "serve-key"}
        added = httpx.post(f"{url}/v1/memories", headers=keyed,
                           json={"messages": "served", "user_id": "alice", "infer": False})
        assert added.status_code == 200, added.text
        too_big = httpx.post(f"{url}/v1/memories", headers=keyed, json={"messages": "x" * 3000, "user_id": "alice"})
        assert too_big.status_code == 413  # --config's max_body_bytes
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    assert code == 0, "".join(log)
    assert "Application shutdown complete" in "".join(log)
    assert embedded.ok("list", "--user", "alice", "--json").count('"served"') == 1


def test_serve_without_the_web_stack_says_what_to_install(tmp_path: Path) -> None:
    code = "import sys; sys.modules['fastapi'] = None\nfrom powermem.cli import main\nraise SystemExit(main(['serve']))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=python_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "pip install 'powermem-graph[server]'" in done.stderr and "Traceback" not in done.stderr


def test_the_library_imports_without_the_web_stack(tmp_path: Path) -> None:
    code = ("import sys\nfor name in ('fastapi', 'starlette', 'uvicorn'): sys.modules[name] = None\n"
            "import powermem, powermem.cli, powermem.cli.wire\nfrom powermem import AsyncMemory, Memory, auto_config\n"
            "from powermem.cli import main\nassert main(['--version']) == 0\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=python_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
