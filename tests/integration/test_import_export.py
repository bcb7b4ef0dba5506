"""``powermem import`` / ``export``: lossless round trip, LoCoMo files, progress, and resuming
after an interruption (exception, crash between commit and bookkeeping, kill -9) without
storing anything twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powermem import StoreError, _admin, importing
from tests.conftest import shared_data_dir
from tests.contract.test_receipts import prompt_tokens
from tests.support.cli_env import ROOT, STORE_KINDS, CliEnv, make_cli_env
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.paced import kill_on_progress
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture(params=STORE_KINDS)
def cli(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[CliEnv]:
    env = make_cli_env(request.param, tmp_path, monkeypatch, capsys, request)
    yield env
    if env.kind == "neo4j":
        for suffix in ("", "-copy", "-agent"):
            env.run("delete-all", "--user", env.user + suffix)
        env.run("delete-all", "--agent", env.user + "-bot")


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             request: pytest.FixtureRequest) -> CliEnv:
    return make_cli_env("embedded", tmp_path, monkeypatch, capsys, request)


def exported(cli: CliEnv, *scope: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in cli.ok("export", *scope).splitlines()]


def messages(path: Path, user: str, count: int, **extra: Any) -> Path:
    lines = [json.dumps({"role": "user", "content": f"message {i} about topic {i % 7}", "user_id": user, **extra})
             for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def total(cli: CliEnv, user: str) -> int:
    return int(json.loads(cli.ok("list", "--user", user, "--json", "-n", "1"))["total"])


def keys_of(cli: CliEnv, user: str) -> Counter[str]:
    rows = [json.loads(line) for line in cli.ok("export", "--user", user, "--keep-import-keys").splitlines()]
    return Counter(r["metadata"]["import_key"] for r in rows)


RICH_METADATA = '{"n": 3, "f": 1.5, "ok": true, "tags": ["a", "b"], "nested": {"x": null, "y": [1, {"z": "w"}]}}'
VOLATILE = ("id", "created_at", "updated_at")


def same(rows: list[dict[str, Any]], *ignored: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in VOLATILE + ignored} for r in rows]


def test_export_then_import_is_lossless(embedded: CliEnv) -> None:
    embedded.ok("add", "Zoë likes crème brûlée 🍮", "--user", "zoe", "--metadata", RICH_METADATA)
    embedded.ok("add", "second, in a run", "--user", "zoe", "--run", "r1", "--role", "assistant")
    embedded.ok("add", "agent-only memory", "--agent", "bot", "--metadata", '{"source": "x"}')
    embedded.ok("add", "third", "--user", "zoe", "--agent", "bot")
    before = exported(embedded)
    (embedded.tmp / "dump.jsonl").write_text(embedded.ok("export"))
    embedded.monkeypatch.setenv("POWERMEM_PATH", str(embedded.tmp / "other" / "copy.db"))
    embedded.ok("import", "dump.jsonl", "-q")
    after = exported(embedded)
    assert len(after) == 4 and same(after) == same(before)
    assert {r["id"] for r in after}.isdisjoint({r["id"] for r in before})
    # Exported again, the copy gives the same file: the import bookkeeping stays out of it.
    assert all("import_key" not in r["metadata"] for r in after)


def test_round_trip_into_another_tenant(cli: CliEnv) -> None:
    user, copy = cli.user, cli.user + "-copy"
    cli.ok("add", "Zoë likes crème brûlée 🍮", "--user", user, "--metadata", RICH_METADATA)
    cli.ok("add", "second, in a run", "--user", user, "--run", "r1", "--role", "assistant")
    cli.ok("add", "third, with an agent", "--user", user, "--agent", cli.user + "-bot")
    before = exported(cli, "--user", user)
    path = cli.tmp / "dump.jsonl"
    path.write_text("".join(json.dumps({**r, "user_id": copy}) + "\n" for r in before))
    cli.ok("import", path, "-q")
    after = exported(cli, "--user", copy)
    assert [r["user_id"] for r in after] == [copy] * 3
    assert same(after, "user_id") == same(before, "user_id")


def test_export_to_a_file_and_filters(embedded: CliEnv) -> None:
    for i in range(5):
        embedded.ok("add", f"note {i}", "--user", "u", "--metadata", json.dumps({"i": i}))
    out = embedded.ok("export", "--user", "u", "--filters", '{"i": {"gte": 3}}', "-o", "part.jsonl")
    assert out == "exported 2 memories to part.jsonl\n"
    lines = (embedded.tmp / "part.jsonl").read_text().splitlines()
    assert [json.loads(line)["memory"] for line in lines] == ["note 3", "note 4"]
    assert not list(embedded.tmp.glob("*.part"))


def locomo_file(path: Path) -> Path:
    def turns(prefix: str, n: int) -> list[dict[str, str]]:
        return [{"speaker": "Ann" if i % 2 == 0 else "Ben", "dia_id": f"{prefix}:{i + 1}", "text": f"turn {i} of {prefix}"}
                for i in range(n)]
    samples = [{"sample_id": f"conv-{k}", "qa": [], "conversation": {
        "speaker_a": "Ann", "speaker_b": "Ben", "session_1_date_time": "1 May", "session_1": turns("D1", 30),
        "session_2_date_time": "9 May", "session_2": turns("D2", 25)}} for k in (1, 2)]
    path.write_text(json.dumps(samples))
    return path


def test_locomo_import_one_memory_per_turn(embedded: CliEnv) -> None:
    path = locomo_file(embedded.tmp / "locomo.json")
    result = embedded.run("import", path, "--batch-size", "16")
    assert result.code == 0, result.err
    assert "imported 110 of 110 records (locomo)" in result.out
    lines = result.err.splitlines()  # not a terminal: whole progress lines, ending at 100%
    assert lines[0].startswith("import locomo.json [") and "110/110" in lines[-1] and "rec/s" in lines[-1]
    rows = exported(embedded, "--user", "conv-2")
    assert len(rows) == 55 and total(embedded, "conv-1") == 55
    assert rows[0]["memory"] == "Ann: turn 0 of D1" and rows[0]["metadata"]["dia_id"] == "D1:1"
    assert rows[-1]["metadata"] == {"dia_id": "D2:25", "speaker": "Ann", "session": "session_2",
                                    "session_date_time": "9 May", "role": "user"}
    again = embedded.run("import", path)
    assert again.code == 0 and "already imported" in again.out and total(embedded, "conv-1") == 55


def test_user_flag_replaces_the_sample_ids(embedded: CliEnv) -> None:
    embedded.ok("import", locomo_file(embedded.tmp / "l.json"), "--user", "me", "-q")
    assert total(embedded, "me") == 110 and total(embedded, "conv-1") == 0


def test_real_locomo_file_if_present(embedded: CliEnv) -> None:
    path = shared_data_dir() / "locomo-dev.json"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    report = json.loads(embedded.ok("import", path, "--json", "-q"))
    assert (report["total"], report["imported"], report["memories"]) == (2760, 2760, 2760)


def fail_after(monkeypatch: pytest.MonkeyPatch, calls: int) -> None:
    """Batch writes after the first ``calls`` fail, as a lost connection would."""
    real = _admin.PlannedTexts.write
    seen = {"n": 0}

    async def flaky(self: _admin.PlannedTexts) -> Any:
        seen["n"] += 1
        if seen["n"] > calls:
            raise StoreError("connection lost (injected)")
        return await real(self)

    monkeypatch.setattr(_admin.PlannedTexts, "write", flaky)


def test_resume_after_a_failure(cli: CliEnv) -> None:
    path = messages(cli.tmp / "m.jsonl", cli.user, 100)
    with pytest.MonkeyPatch.context() as patch:
        fail_after(patch, 3)
        failed = cli.run("import", path, "--batch-size", "10", "-q")
    assert failed.code == 1 and failed.err == "powermem: connection lost (injected)\n"
    assert total(cli, cli.user) == 30
    report = json.loads(cli.ok("import", path, "--batch-size", "10", "-q", "--json"))
    assert (report["resumed_from"], report["imported"], report["skipped"], report["earlier"]) == (30, 70, 0, 30)
    keys = keys_of(cli, cli.user)
    assert len(keys) == 100 and set(keys.values()) == {1}
    assert [r["memory"] for r in exported(cli, "--user", cli.user)][:3] == [f"message {i} about topic {i}" for i in range(3)]


def test_resume_after_a_crash_between_commit_and_bookkeeping(cli: CliEnv) -> None:
    path = messages(cli.tmp / "m.jsonl", cli.user, 50)
    real = importing.Progress.save
    saves = {"n": 0}

    def crash(self: importing.Progress) -> None:
        saves["n"] += 1
        if saves["n"] == 3:  # batch 3 is committed; the progress file never hears of it
            raise KeyboardInterrupt
        real(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importing.Progress, "save", crash)
        interrupted = cli.run("import", path, "--batch-size", "10", "-q")
    assert interrupted.code == 130 and interrupted.err == "powermem: interrupted\n"
    assert total(cli, cli.user) == 30
    report = json.loads(cli.ok("import", path, "--batch-size", "10", "-q", "--json"))
    assert (report["resumed_from"], report["skipped"], report["imported"]) == (20, 10, 20)
    assert total(cli, cli.user) == 50 and set(keys_of(cli, cli.user).values()) == {1}


def test_a_reset_store_is_noticed(embedded: CliEnv) -> None:
    path = messages(embedded.tmp / "m.jsonl", "u", 20)
    embedded.ok("import", path, "-q")
    embedded.ok("delete-all", "--user", "u")
    out = embedded.ok("import", path, "-q")
    assert "imported 20 of 20" in out and total(embedded, "u") == 20


def test_fresh_imports_again(embedded: CliEnv) -> None:
    path = messages(embedded.tmp / "m.jsonl", "u", 5)
    embedded.ok("import", path, "-q")
    embedded.ok("import", path, "-q", "--fresh")
    assert total(embedded, "u") == 10 and len(keys_of(embedded, "u")) == 10


def test_resume_after_kill_9(embedded: CliEnv) -> None:
    count = 4000
    path = messages(embedded.tmp / "big.jsonl", "u", count)
    progress = embedded.tmp / "progress.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The real command line, paced: killed after 20 saved batches of 25 (tests/support/paced.py),
    # while it writes the next ones; it cannot finish first, however fast the machine.
    argv = [sys.executable, "-m", "tests.support.paced_import", "import", str(path), "--batch-size", "25",
            "--progress-file", str(progress), "-q"]
    killed = kill_on_progress(argv, kill_after=20, prefix="progress ", cwd=embedded.tmp, env=env)
    assert not killed.finished
    committed = int(killed.reports[-1].split()[1])
    assert 500 <= committed < count
    report = json.loads(embedded.ok("import", path, "--batch-size", "25", "--progress-file", progress, "-q", "--json"))
    assert report["resumed_from"] >= committed and report["imported"] + report["skipped"] + report["resumed_from"] == count
    keys = keys_of(embedded, "u")
    assert len(keys) == count and set(keys.values()) == {1}


def test_next_batches_are_embedded_while_one_is_written(embedded: CliEnv,
                                                        openai_server: ScriptedOpenAIServer) -> None:
    # Embeddings come from the scripted server. Each batch's write waits until the server has
    # been asked for the next batch's embeddings: an import that embedded only after writing
    # would wait forever (the timeout below only bounds the failure).
    for name, value in (("EMBEDDING_PROVIDER", "openai"), ("EMBEDDING_API_KEY", "test"),
                        ("EMBEDDING_BASE_URL", openai_server.base_url), ("EMBEDDING_MODEL", "scripted"),
                        ("EMBEDDING_DIMS", str(openai_server.embedding_dims))):
        embedded.monkeypatch.setenv(name, value)
    path = messages(embedded.tmp / "m.jsonl", "u", 20)
    firsts = [f"message {i} about topic {i % 7}" for i in range(0, 20, 5)]
    real = _admin.PlannedTexts.write
    written: list[int] = []

    def asked(text: str) -> bool:
        return any(text in r.body.get("input", []) for r in openai_server.embedding_requests)

    async def write_when_next_is_asked(self: _admin.PlannedTexts) -> Any:
        batch = len(written)
        if batch + 1 < len(firsts):
            async with asyncio.timeout(30):
                while not asked(firsts[batch + 1]):
                    await asyncio.sleep(0.005)
        written.append(batch)
        return await real(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_admin.PlannedTexts, "write", write_when_next_is_asked)
        report = json.loads(embedded.ok("import", path, "--batch-size", "5", "-q", "--json"))
    assert report["imported"] == 20 and written == [0, 1, 2, 3]
    # Written in file order all the same.
    assert [r["memory"] for r in exported(embedded, "--user", "u")] == [
        f"message {i} about topic {i % 7}" for i in range(20)]


def test_infer_import_goes_through_the_llm(embedded: CliEnv, openai_server: ScriptedOpenAIServer) -> None:
    script = ScriptedLLM({"topic": {"facts": ["u talks about topics"], "entities": [], "relations": []}})
    openai_server.respond_with(script)
    embedded.use_llm(openai_server.base_url)
    report = json.loads(embedded.ok("import", messages(embedded.tmp / "m.jsonl", "u", 6), "--infer",
                                    "--batch-size", "3", "-q", "--json"))
    assert report["imported"] == 6 and script.calls[0] == "extract" and len(openai_server.chat_requests) >= 2
    # The totals are the receipts of the adds, which match what the server counted.
    assert report["llm_calls"] == len(openai_server.chat_requests)
    assert report["prompt_tokens"] == sum(prompt_tokens(r) for r in openai_server.chat_requests)
    assert report["completion_tokens"] > 0
    rows = exported(embedded, "--user", "u")
    assert rows and rows[0]["memory"] == "u talks about topics"
