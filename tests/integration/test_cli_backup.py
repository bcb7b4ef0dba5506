"""powermem export --full, import of a full export, and powermem backup, through the command line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from powermem import AsyncMemory
from powermem.backup import copy_embedded
from powermem.errors import InvalidInputError
from tests.support.cli_env import CliEnv, make_cli_env


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             request: pytest.FixtureRequest) -> CliEnv:
    return make_cli_env("embedded", tmp_path, monkeypatch, capsys, request)


def full_export(cli: CliEnv) -> list[str]:
    return cli.ok("export", "--full").splitlines()[1:]  # the header carries the time of the export


def test_full_export_and_import_restore_the_store_as_it_was(embedded: CliEnv) -> None:
    embedded.ok("add", "Zoë met Ann in Lisbon", "--user", "zoe", "--metadata", '{"n": 1}')
    memory_id = json.loads(embedded.ok("list", "--user", "zoe", "--json"))["results"][0]["id"]
    embedded.ok("update", memory_id, "--user", "zoe", "--content", "Zoë met Ann in Porto")
    embedded.ok("add", "Bob asked the bot", "--agent", "bot", "--run", "r1")
    lines = full_export(embedded)
    out = json.loads(embedded.ok("export", "--full", "-o", "all.jsonl", "--json"))
    assert out["counts"]["memories"] == 2 and out["counts"]["events"] == 3
    assert json.loads((embedded.tmp / "all.jsonl").read_text().splitlines()[0])["format"] == "powermem-export"

    embedded.monkeypatch.setenv("POWERMEM_PATH", str(embedded.tmp / "copy.db"))
    said = embedded.ok("import", "all.jsonl")
    assert said.startswith("restored ") and "embeddings kept" in said
    assert full_export(embedded) == lines
    history = json.loads(embedded.ok("history", memory_id, "--user", "zoe", "--json"))
    assert [h["event"] for h in history] == ["ADD", "UPDATE"]
    # A second import into the now full store is refused (exit 1), and resumes when asked to.
    refused = embedded.run("import", "all.jsonl")
    assert refused.code == 1 and "not empty" in refused.err
    embedded.ok("import", "all.jsonl", "--resume")
    assert full_export(embedded) == lines


def test_full_flags_that_do_not_apply_are_usage_errors(embedded: CliEnv) -> None:
    embedded.ok("add", "x", "--user", "u")
    assert embedded.run("export", "--full", "--user", "u").code == 2
    embedded.ok("export", "--full", "-o", "all.jsonl")
    embedded.monkeypatch.setenv("POWERMEM_PATH", str(embedded.tmp / "copy.db"))
    assert embedded.run("import", "all.jsonl", "--infer").code == 2
    assert json.loads(embedded.ok("list", "--json"))["total"] == 0


def test_backup_copies_the_live_store(embedded: CliEnv) -> None:
    embedded.ok("add", "Dana plays the cello", "--user", "dana")
    said = json.loads(embedded.ok("backup", "copy.db", "--json"))
    assert said["out"] == "copy.db" and said["pages"] > 0
    conn = sqlite3.connect(embedded.tmp / "copy.db")
    assert conn.execute("SELECT memory FROM memories").fetchall() == [("Dana plays the cello",)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    conn.close()
    again = embedded.run("backup", "copy.db")
    assert again.code == 1 and "exists" in again.err


async def test_backup_of_a_neo4j_store_points_at_neo4j_admin(tmp_path: Path) -> None:
    memory = AsyncMemory({"store": {"provider": "neo4j", "uri": "bolt://127.0.0.1:1", "password": "x"},
                          "embedding": {"provider": "hashing", "dims": 64}})
    with pytest.raises(InvalidInputError, match="neo4j-admin database dump"):
        await copy_embedded(memory, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
