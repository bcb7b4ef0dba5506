"""Concurrency on both stores: nothing duplicated, lost or half-written, histories consistent.

- 200 gathered adds (infer=False, and infer=True through the scripted LLM server) from 5
  tenants that all name the same entities;
- the sync ``Memory`` driven from 8 threads at once;
- concurrent updates and deletes of the same memory.

Afterwards: one entity per name per tenant, every id an add returned is retrievable with
its exact text and hash = md5(text), findable by search, and has its ADD event; a deleted
memory's history ends with DELETE, no UPDATE follows a DELETE, and get returns None exactly
when the last event is DELETE.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any

import pytest

from powermem import AsyncMemory, Memory
from powermem.stores.base import Scope
from tests.reliability.fuzzing import llm_section
from tests.reliability.helpers import Tally
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

TENANTS = [f"crowd-{i}" for i in range(5)]
NAMES = ["alice", "bob", "acme", "berlin"]
ADDS = 200


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


async def assert_whole(m: AsyncMemory, added: dict[int, tuple[str, str]], kind: str, tally: Tally,
                       test: str) -> None:
    """Every (id -> (user, text)) added is stored whole, findable and has its ADD event."""
    lost: list[str] = []
    by_user: dict[str, set[int]] = {}
    for memory_id, (user, text) in added.items():
        by_user.setdefault(user, set()).add(memory_id)
        got = await m.get(memory_id, user_id=user)
        if got is None or got["memory"] != text or got["hash"] != md5(text):
            lost.append(f"{memory_id}: {got!r:.200}")
            continue
        history = await m.history(memory_id, user_id=user)
        if [h["event"] for h in history] != ["ADD"] or history[0]["new_memory"] != text:
            lost.append(f"{memory_id} history {history!r:.200}")
    for user, ids in by_user.items():
        listed = await m.get_all(user_id=user, limit=1000)
        if {r["id"] for r in listed["results"]} != ids or listed["total"] != len(ids):
            lost.append(f"get_all({user}) holds {listed['total']} memories, {len(ids)} were added")
    for memory_id, (user, text) in list(added.items())[:: max(1, len(added) // 40)]:
        found = await m.search(text, user_id=user, limit=100)
        if memory_id not in {r["id"] for r in found["results"]}:
            lost.append(f"{memory_id} not found by searching its own text")
    tally.add("lost", f"{kind}/{test}", len(lost))
    assert not lost, "\n".join(lost[:10])


async def assert_no_duplicate_entities(m: AsyncMemory, users: list[str], names: list[str]) -> None:
    store, _, _ = await m._ready()
    for user in users:
        entities = await store.entities_by_key(Scope(user), names)
        keys = sorted(e.name_key for e in entities)
        assert keys == sorted(names), f"{user}: entities {keys}"
    stats = {s.user_id: s for s in await store.stats(Scope())}
    for user in users:
        assert stats[user].entities == len(names), stats[user]


async def test_gathered_raw_adds_from_five_tenants(memory: AsyncMemory, store_kind: str, tally: Tally) -> None:
    async def one(n: int) -> tuple[int, str, str]:
        user = TENANTS[n % len(TENANTS)]
        text = f"note {n}: yesterday Alice met Bob at Acme in Berlin"
        result = await memory.add(text, user_id=user, infer=False, metadata={"n": n})
        [record] = result["results"]
        return record["id"], user, text

    done = await asyncio.gather(*(one(n) for n in range(ADDS)))
    tally.add("cases", f"{store_kind}/concurrent-add", ADDS)
    added = {i: (user, text) for i, user, text in done}
    assert len(added) == ADDS, "two adds returned the same id"
    await assert_no_duplicate_entities(memory, TENANTS, NAMES)
    await assert_whole(memory, added, store_kind, tally, "concurrent-raw-adds")


async def test_gathered_infer_adds_from_five_tenants(memory_config: dict[str, Any], store_kind: str,
                                                     openai_server: ScriptedOpenAIServer, tally: Tally) -> None:
    people = [{"name": n, "type": "person"} for n in ("Dana", "Eli", "Fay")]
    script = ScriptedLLM({
        f"note {n} ": {"facts": [f"Dana met Eli and Fay on day {n}"], "entities": people,
                       "relations": [{"source": "Dana", "relationship": "MET", "destination": "Eli"},
                                     {"source": "Eli", "relationship": "KNOWS", "destination": "Fay"}]}
        for n in range(ADDS)
    })
    openai_server.respond_with(script)
    async with AsyncMemory({**memory_config, "llm": llm_section(openai_server)}) as m:
        await m.reset()

        async def one(n: int) -> tuple[int, str, str]:
            user = TENANTS[n % len(TENANTS)]
            result = await m.add(f"note {n} of the diary", user_id=user)
            [record] = result["results"]
            assert record["event"] == "ADD"
            return record["id"], user, record["memory"]

        done = await asyncio.gather(*(one(n) for n in range(ADDS)))
        tally.add("cases", f"{store_kind}/concurrent-infer-add", ADDS)
        added = {i: (user, text) for i, user, text in done}
        assert len(added) == ADDS
        assert sorted(t for _, t in added.values()) == sorted(f"Dana met Eli and Fay on day {n}" for n in range(ADDS))
        await assert_no_duplicate_entities(m, TENANTS, ["dana", "eli", "fay"])
        for user in TENANTS:
            relations = (await m.get_all(user_id=user))["relations"]
            # The same fact is never stored twice as a valid relation.
            assert sorted((r["source"], r["relationship"], r["destination"]) for r in relations) == [
                ("Dana", "MET", "Eli"), ("Eli", "KNOWS", "Fay")]
        await assert_whole(m, added, store_kind, tally, "concurrent-infer-adds")


def test_sync_memory_from_eight_threads(memory_config: dict[str, Any], store_kind: str, tally: Tally) -> None:
    errors: list[BaseException] = []
    added: dict[int, tuple[str, str]] = {}
    lock = threading.Lock()
    with Memory(memory_config) as m:
        m.reset()

        def worker(t: int) -> None:
            try:
                for i in range(ADDS // 8):
                    user = TENANTS[(t + i) % len(TENANTS)]
                    text = f"thread {t} item {i}: yesterday Alice paid Bob at Acme"
                    [record] = m.add(text, user_id=user, infer=False)["results"]
                    with lock:
                        added[record["id"]] = (user, text)
                    if i % 5 == 0:  # interleave reads with the writes of the other threads
                        assert m.get(record["id"], user_id=user)["memory"] == text
                        m.search("Alice paid Bob", user_id=user, limit=5)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors[:3]
        assert len(added) == ADDS
        tally.add("cases", f"{store_kind}/threaded-add", ADDS)
        m._loop.run(assert_no_duplicate_entities(m._async, TENANTS, ["alice", "bob", "acme"]))
        m._loop.run(assert_whole(m._async, added, store_kind, tally, "threaded-adds"))


@pytest.mark.parametrize("rounds", [12])
async def test_concurrent_updates_and_deletes_of_one_memory(memory: AsyncMemory, store_kind: str, tally: Tally,
                                                           rounds: int) -> None:
    for r in range(rounds):
        [record] = (await memory.add(f"round {r}: Alice owns a boat", user_id="racer", infer=False))["results"]
        memory_id = record["id"]
        calls = [
            memory.update(memory_id, content=f"round {r}: Alice owns a red boat", user_id="racer"),
            memory.update(memory_id, metadata={"colour": "red", "r": r}, user_id="racer"),
            memory.delete(memory_id, user_id="racer"),
            memory.update(memory_id, content=f"round {r}: Alice sold her boat"),
            memory.delete(memory_id),
            memory.update(memory_id, metadata={"sold": True}),
        ]
        order = list(range(len(calls)))
        rotated = order[r % len(order):] + order[: r % len(order)]
        outcomes = dict(zip(rotated, await asyncio.gather(*(calls[i] for i in rotated)), strict=True))
        tally.add("cases", f"{store_kind}/concurrent-update-delete", len(calls))
        deletes = [outcomes[i] for i in (2, 4)]
        assert sorted(deletes) == [False, True], "exactly one delete wins"
        history = await memory.history(memory_id)
        events = [h["event"] for h in history]
        assert events[0] == "ADD" and events[-1] == "DELETE" and events.count("DELETE") == 1, events
        assert "UPDATE" not in events[events.index("DELETE"):], events
        succeeded = sum(1 for i in (0, 1, 3, 5) if outcomes[i] is not None)
        assert events.count("UPDATE") == succeeded, (events, outcomes)
        # Each UPDATE's old text is the text the previous event left.
        text = history[0]["new_memory"]
        for event in history[1:]:
            assert event["old_memory"] == text
            text = event["new_memory"]
        assert await memory.get(memory_id) is None
        assert memory_id not in {r["id"] for r in (await memory.search("Alice boat", user_id="racer"))["results"]}
    assert (await memory.get_all(user_id="racer"))["total"] == 0


async def test_concurrent_updates_keep_the_last_written_text(memory: AsyncMemory, store_kind: str,
                                                            tally: Tally) -> None:
    [record] = (await memory.add("Alice counts sheep", user_id="counter", infer=False))["results"]
    memory_id = record["id"]
    texts = [f"Alice counted {n} sheep" for n in range(20)]
    results = await asyncio.gather(*(memory.update(memory_id, content=t, user_id="counter") for t in texts))
    tally.add("cases", f"{store_kind}/concurrent-update", len(texts))
    assert all(r is not None for r in results)
    history = await memory.history(memory_id)
    assert [h["event"] for h in history] == ["ADD"] + ["UPDATE"] * len(texts)
    chain = [history[0]["new_memory"]]
    for event in history[1:]:
        assert event["old_memory"] == chain[-1], "an update was based on a stale read"
        chain.append(event["new_memory"])
    assert sorted(chain[1:]) == sorted(texts)
    final = await memory.get(memory_id)
    assert final is not None and final["memory"] == chain[-1] and final["hash"] == md5(chain[-1])
