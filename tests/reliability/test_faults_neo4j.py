"""Neo4j killed in the middle of an import, then restarted: fail fast, lose and duplicate nothing.

The test runs its OWN Neo4j (the launcher class of scripts/neo4j-local, started directly on a
free port with a temporary home; the shared test server is never touched). It imports
batches in a loop, SIGKILLs the server after KILL_AFTER acknowledged batches (progress, not
time: the same on a fast and a slow machine), and checks that every call
made while the server is gone fails with ``StoreError`` within a bound instead of hanging.
The server is restarted on the same home and port; the same ``AsyncMemory`` reconnects and
re-runs the idempotent import (batches whose ``import_key`` is stored are skipped). Then every
batch is stored exactly once and whole, every batch acknowledged before the kill survived,
and every memory has its exact text, hash, ADD event and is found by vector search.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory, StoreError
from powermem.stores.base import Scope
from tests.reliability.helpers import Tally
from tests.reliability.importer import BATCH, USER, batch_key, expected_items, import_batches, item_text

pytestmark = pytest.mark.neo4j

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".neo4j" / "build-5.26"
MAIN_CLASS = "powermem.neo4jlocal.Neo4jLocal"
PASSWORD = "reliability-pw"
BATCHES = 100
KILL_AFTER = 30  # acknowledged batches before the server is killed
FAIL_FAST_SECONDS = 15.0
START_TIMEOUT = float(os.environ.get("NEO4J_LOCAL_START_TIMEOUT", "240"))


def java_binary() -> str | None:
    """A Java 17..21 (Neo4j 5.26 runs on those), looked up as scripts/neo4j-local does."""
    homes = [os.environ.get("NEO4J_LOCAL_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    on_path = shutil.which("java")
    if on_path:
        homes.append(str(Path(os.path.realpath(on_path)).parents[1]))
    homes += sorted(glob.glob("/usr/lib/jvm/*"))
    for home in filter(None, homes):
        java = Path(home) / "bin" / "java"
        if not java.exists():
            continue
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False).stderr
        found = re.search(r'version "(?:1\.)?(\d+)', out)
        if found and 17 <= int(found.group(1)) <= 21:
            return str(java)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnNeo4j:
    """One Neo4j 5.26 process on ``home``/``port`` run by the project's launcher class."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        java = java_binary()
        classpath = BUILD / "classpath.txt"
        if java is None or not classpath.exists():
            pytest.skip("no Java 17..21 or launcher build (run scripts/neo4j-local start once)")
        self.home.mkdir(parents=True, exist_ok=True)
        ready = self.home / "ready"
        options = ["-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                   "-Dio.netty.tryReflectionSetAccessible=true", "-Dlog4j2.disable.jmx=true",
                   "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
                   "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED"]
        cp = f"{BUILD / 'classes'}:{classpath.read_text().strip()}"
        log = (self.home / "neo4j.log").open("ab")
        env = {**os.environ, "NEO4J_PASSWORD": PASSWORD, "NEO4J_LOCAL_PAGECACHE": "64m"}
        self.proc = subprocess.Popen([java, *options, "-cp", cp, MAIN_CLASS, str(self.home), str(self.port), "0",
                                      str(ready)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while not (ready.exists() and self._accepts()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"Neo4j exited during start-up; see {self.home / 'neo4j.log'}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"Neo4j not ready within {START_TIMEOUT}s; see {self.home / 'neo4j.log'}")
            time.sleep(0.5)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def own_neo4j(tmp_path: Path) -> Iterator[OwnNeo4j]:
    server = OwnNeo4j(tmp_path / "neo4j-home", free_port())
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.parametrize("sig", [pytest.param(signal.SIGKILL, id="SIGKILL"),
                                 pytest.param(signal.SIGTERM, id="SIGTERM", marks=pytest.mark.slow)])
async def test_neo4j_killed_mid_import_then_restarted(own_neo4j: OwnNeo4j, tally: Tally, sig: int) -> None:
    own_neo4j.start()
    config: dict[str, Any] = {
        "store": {"provider": "neo4j", "uri": f"bolt://127.0.0.1:{own_neo4j.port}", "password": PASSWORD,
                  "connection_timeout": 5.0},
        "embedding": {"provider": "hashing", "dims": 64},
        "llm": {"provider": "none"},
    }
    async with AsyncMemory(config) as m:
        acknowledged: list[int] = []
        failures: list[float] = []
        killed = False
        for b in range(BATCHES):
            if len(acknowledged) == KILL_AFTER and not killed:
                own_neo4j.kill(sig)
                killed = True
                tally.add("faults", f"neo4j/{signal.Signals(sig).name.lower()}-during-import")
            messages = [{"role": "user", "content": item_text(b, i)} for i in range(BATCH)]
            started = time.monotonic()
            try:
                await m.add(messages, user_id=USER, metadata={"import_key": batch_key(b), "batch": b}, infer=False)
            except StoreError:
                failures.append(time.monotonic() - started)
                if len(failures) >= 3:
                    break
                continue
            assert not killed, "a write succeeded while the server was down"
            acknowledged.append(b)
        assert killed and acknowledged, "the server was not killed in the middle of the import"
        # Reads fail fast too.
        for call in (m.search("Alice", user_id=USER), m.get_all(user_id=USER)):
            started = time.monotonic()
            with pytest.raises(StoreError):
                await call
            failures.append(time.monotonic() - started)
        assert len(failures) == 5 and max(failures) < FAIL_FAST_SECONDS, failures
        tally.add("cases", "neo4j/calls-while-server-down", len(failures))

        own_neo4j.start()  # same home, same port: Neo4j recovers from its transaction log
        await asyncio.sleep(0)
        written = await _import_with_retry(m)
        assert written <= BATCHES - len(acknowledged)

        expected = expected_items(BATCHES)
        listed = await m.get_all(user_id=USER, limit=BATCHES * BATCH + 10, sort_by="id", order="asc")
        assert listed["total"] == BATCHES * BATCH, "a batch is missing or duplicated"
        by_key: dict[str, list[dict[str, Any]]] = {}
        for record in listed["results"]:
            by_key.setdefault(record["metadata"]["import_key"], []).append(record)
        assert sorted(by_key) == sorted(expected)
        for key, records in by_key.items():
            assert sorted(r["memory"] for r in records) == sorted(expected[key]), f"{key} half-written or doubled"
        store, pipeline, _ = await m._ready()
        for record in listed["results"][:: max(1, len(listed["results"]) // 25)]:
            assert record["hash"] == __import__("hashlib").md5(record["memory"].encode()).hexdigest()
            history = await m.history(record["id"], user_id=USER)
            assert [(h["event"], h["new_memory"]) for h in history] == [("ADD", record["memory"])]
            vector = (await pipeline._embedder.embed([record["memory"]]))[0]
            assert record["id"] in {h.id for h in await store.vector_search(Scope(USER), None, vector, 3)}
        tally.add("cases", "neo4j/import-batches", BATCHES)
        tally.add("lost", f"neo4j/{signal.Signals(sig).name.lower()}-during-import", 0)


async def _import_with_retry(m: AsyncMemory) -> int:
    """The idempotent re-run; the first calls after a restart may still see the server warming up."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return await import_batches(m, range(BATCHES))
        except StoreError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)
