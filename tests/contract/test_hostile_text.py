"""Hostile text through the public API, on both stores: add, update and search take time
linear in the text, and the event loop keeps running while the text is analysed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import powermem.ingest.nlp
import powermem.search.engine
from powermem import AsyncMemory
from powermem.text.extract import Mentions, extract_entities
from tests.support.hostile_text import KIB, PATTERNS

SIZE = 40 * KIB
NEAR_LIMIT = 65_000  # just under the 64 KiB cap on message and query text, in characters and bytes


def _cpu_seconds_since(start: float) -> float:
    # This process's CPU time (all threads: the embedded store and the extractor run in
    # workers), so that other processes sharing the cores cannot fail the bound.
    return time.process_time() - start


@pytest.mark.parametrize("name", list(PATTERNS))
async def test_hostile_40_kib_add_update_and_search_take_linear_time(memory: AsyncMemory, name: str) -> None:
    """100 ms is the goal on this machine; 1 s is the bound (the extractor took 1.5-10 s before)."""
    text = PATTERNS[name](SIZE)
    warm = await memory.add("Alice moved to Paris", user_id="u", infer=False)
    await memory.search("Alice in Paris", user_id="u")
    cpu = {}
    start = time.process_time()
    added = (await memory.add(text, user_id="u", infer=False))["results"]
    cpu["add"] = _cpu_seconds_since(start)
    start = time.process_time()
    found = (await memory.search(text, user_id="u"))["results"]
    cpu["search"] = _cpu_seconds_since(start)
    start = time.process_time()
    updated = await memory.update(warm["results"][0]["id"], content=text[::-1])
    cpu["update"] = _cpu_seconds_since(start)
    assert max(cpu.values()) < 1.0, cpu
    assert [r["memory"] for r in added] == [text]
    assert found[0]["id"] == added[0]["id"]
    assert updated is not None and updated["memory"] == text[::-1]


class _Gate:
    """Stands in for the extractor: records the thread it runs on and waits there until the
    test's ticking coroutine has run. Run on the event loop's thread, that wait could never end
    (nothing else can run): it gives up after 30 s and fails the call."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[int] = []

    def __call__(self, text: str) -> Mentions:
        self.threads.append(threading.get_ident())
        self.started.set()
        if not self.release.wait(timeout=30):
            raise AssertionError("the extractor blocked the event loop: the ticking coroutine never ran")
        return extract_entities(text)


Call = Callable[[AsyncMemory, str, int], Awaitable[Any]]
CALLS: dict[str, tuple[Any, Call]] = {
    "search": (powermem.search.engine, lambda m, text, i: m.search(text, user_id="u")),
    "add": (powermem.ingest.nlp, lambda m, text, i: m.add(text, user_id="u", infer=False)),
    "update": (powermem.ingest.nlp, lambda m, text, i: m.update(i, content=text)),
}


@pytest.mark.parametrize("call_name", list(CALLS))
async def test_other_coroutines_run_while_a_hostile_text_is_analysed(
    memory: AsyncMemory, monkeypatch: pytest.MonkeyPatch, call_name: str
) -> None:
    existing = (await memory.add("Alice moved to Paris", user_id="u", infer=False))["results"][0]["id"]
    module, call = CALLS[call_name]
    gate = _Gate()
    monkeypatch.setattr(module, "extract_entities", gate)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not gate.started.is_set():
            await asyncio.sleep(0.001)
        for _ in range(3):  # progress made while the extractor is at work
            ticks += 1
            await asyncio.sleep(0)
        gate.release.set()

    text = PATTERNS["'Xy. ' repeated"](NEAR_LIMIT)
    result, _ = await asyncio.gather(call(memory, text, existing), ticker())
    assert ticks == 3 and result
    assert gate.threads and threading.get_ident() not in gate.threads
