"""Every ```python and ```bash block in docs/ runs, so the docs cannot rot.

- python blocks run one by one, each in a fresh subprocess: cwd and HOME in a tmp folder,
  ``EMBEDDING_PROVIDER=hashing`` (64 dims), ``POWERMEM_PATH`` in that folder, no ``.env``.
- bash blocks of one page run in order in one tmp folder (so a later block sees what an
  earlier one stored), with ``powermem`` on PATH, under ``bash -euo pipefail``.
- a block preceded by ``<!-- requires: neo4j -->`` runs against the test Neo4j server (and is
  marked ``neo4j``); ``<!-- requires: llm -->`` runs with ``LLM_*`` pointing at the scripted
  OpenAI-compatible server of the test suite, which answers every extraction with "nothing
  worth remembering" (so those blocks prove the code runs, not what a real model says).
- anything not meant to run is fenced ```text (or json / cypher / mermaid); other fence
  languages are rejected, so that nothing escapes these tests by accident.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUN = {"python", "bash"}
SHOWN = {"text", "json", "cypher", "mermaid"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_REQUIRES = re.compile(r"^<!--\s*requires:\s*([\w, ]+?)\s*-->$")
_CLEARED = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE", "POWERMEM_STORE", "LLM_API_KEY",
            "OPENAI_API_KEY", "LLM_PROVIDER", "LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_MODEL", "EMBEDDING_MODEL",
            "EMBEDDING_API_KEY", "EMBEDDING_BASE_URL", "LLM_STRUCTURED_OUTPUT", "LLM_API_VERSION", "OPENAI_API_VERSION",
            "LLM_DEPLOYMENT")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    requires: frozenset[str]

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def read_blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, lang = i, match.group(1)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        previous = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        needs = _REQUIRES.match(previous)
        requires = frozenset(n.strip() for n in needs.group(1).split(",")) if needs else frozenset()
        yield Block(path.name, start + 1, lang, "\n".join(lines[start + 1:end]) + "\n", requires)
        i = end + 1


ALL = [b for page in sorted(DOCS.glob("*.md")) for b in read_blocks(page)]


def marks(requires: frozenset[str]) -> list[pytest.MarkDecorator]:
    return [pytest.mark.neo4j] if "neo4j" in requires else []


PYTHON = [pytest.param(b, id=b.id, marks=marks(b.requires)) for b in ALL if b.lang == "python"]
BASH_GROUPS: dict[tuple[str, frozenset[str]], list[Block]] = {}
for _block in (b for b in ALL if b.lang == "bash"):
    BASH_GROUPS.setdefault((_block.page, _block.requires), []).append(_block)
BASH = [pytest.param(blocks, id=f"{page}{'+' + '+'.join(sorted(req)) if req else ''}", marks=marks(req))
        for (page, req), blocks in BASH_GROUPS.items()]


def test_there_are_docs_to_test() -> None:
    pages = {b.page for b in ALL}
    assert {"quickstart.md", "cli.md", "api.md", "configuration.md"} <= pages
    assert len(PYTHON) >= 10 and BASH


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_every_fence_says_whether_it_runs(block: Block) -> None:
    assert block.lang in RUN | SHOWN, f"{block.id}: fence ```{block.lang}: use python/bash (run) or text"
    assert block.requires <= {"neo4j", "llm"}, f"{block.id}: unknown requirement {sorted(block.requires)}"


def environment(tmp_path: Path, block_requires: frozenset[str], request: pytest.FixtureRequest) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "powermem"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m powermem.cli "$@"\n')
    shim.chmod(0o755)
    env.update({
        "HOME": str(tmp_path), "POWERMEM_ENV_FILE": str(tmp_path / "absent.env"),
        "EMBEDDING_PROVIDER": "hashing", "EMBEDDING_DIMS": "64", "POWERMEM_PATH": str(tmp_path / "powermem.db"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    })
    if "neo4j" in block_requires:
        settings = request.getfixturevalue("neo4j_store_config")
        env.update({"NEO4J_URI": settings["uri"], "NEO4J_USERNAME": settings.get("username") or "neo4j",
                    "NEO4J_PASSWORD": settings.get("password") or ""})
        if settings.get("database"):
            env["NEO4J_DATABASE"] = settings["database"]
    if "llm" in block_requires:
        server: ScriptedOpenAIServer = request.getfixturevalue("openai_server")
        server.respond_with(ScriptedLLM())
        env.update({"LLM_API_KEY": "test", "LLM_BASE_URL": server.base_url, "LLM_MODEL": "scripted"})
    return env


def report(block: Block, done: subprocess.CompletedProcess[str]) -> str:
    return f"{block.id} ({block.lang}) exited {done.returncode}\n--- code\n{block.code}--- stdout\n{done.stdout}" \
           f"--- stderr\n{done.stderr}"


@pytest.mark.parametrize("block", PYTHON)
def test_python_block_runs(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment(tmp_path, block.requires, request),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, report(block, done)


@pytest.mark.parametrize("blocks", BASH)
def test_bash_blocks_run(blocks: list[Block], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = environment(tmp_path, blocks[0].requires, request)
    for block in blocks:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, report(block, done)
