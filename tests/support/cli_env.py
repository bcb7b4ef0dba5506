"""Running the ``powermem`` command line in tests: in-process through ``main`` and as a subprocess.

Each test gets a private environment: the hashing embedder (64 dimensions, the dimension of
the shared test Neo4j), no LLM, no ``.env`` file, HOME and the working directory in tmp_path,
and either an embedded store in tmp_path or the test Neo4j server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from powermem.cli import main

ROOT = Path(__file__).resolve().parents[2]
_CLEARED = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE", "POWERMEM_STORE", "LLM_API_KEY",
            "OPENAI_API_KEY", "LLM_PROVIDER", "LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_MODEL", "EMBEDDING_MODEL")


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class CliEnv:
    tmp: Path
    kind: str
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    user: str = field(default_factory=lambda: f"u-{uuid.uuid4().hex[:10]}")

    def run(self, *argv: str) -> Result:
        """``main(argv)`` in this process; stdout and stderr captured."""
        self.capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *argv: str) -> str:
        result = self.run(*argv)
        assert result.code == 0, result.err
        return result.out

    def sub(self, *argv: str, timeout: float = 120, stdin: str | None = None) -> Result:
        """``python -m powermem.cli argv`` in a subprocess, for exit statuses and real stderr."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        done = subprocess.run([sys.executable, "-m", "powermem.cli", *map(str, argv)], cwd=self.tmp, env=env,
                              capture_output=True, text=True, timeout=timeout, input=stdin, check=False)
        return Result(done.returncode, done.stdout, done.stderr)

    def use_llm(self, base_url: str) -> None:
        for name, value in (("LLM_PROVIDER", "openai"), ("LLM_API_KEY", "test"), ("LLM_BASE_URL", base_url),
                            ("LLM_MODEL", "scripted")):
            self.monkeypatch.setenv(name, value)


def make_cli_env(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 request: pytest.FixtureRequest) -> CliEnv:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("POWERMEM_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    monkeypatch.setenv("EMBEDDING_DIMS", "64")
    monkeypatch.setenv("POWERMEM_PATH", str(tmp_path / "store" / "powermem.db"))
    if kind == "neo4j":
        settings = request.getfixturevalue("neo4j_store_config")
        monkeypatch.setenv("POWERMEM_STORE", "neo4j")
        for name, key in (("NEO4J_URI", "uri"), ("NEO4J_USERNAME", "username"), ("NEO4J_PASSWORD", "password"),
                          ("NEO4J_DATABASE", "database")):
            if settings.get(key):
                monkeypatch.setenv(name, str(settings[key]))
    return CliEnv(tmp_path, kind, capsys, monkeypatch)


STORE_KINDS = [pytest.param("embedded"), pytest.param("neo4j", marks=pytest.mark.neo4j)]
