"""The five graph tenancy failures of issue 12, each a named regression test on both stores.

Through AsyncMemory and the scripted OpenAI server; what the store holds below the API is
read with tests/support/graph_scan.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.stores.base import Scope
from tests.support import graph_scan
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import Rule, ScriptedLLM

Triple = tuple[str, str, str]


def inferring_config(memory_config: dict[str, Any], server: ScriptedOpenAIServer) -> dict[str, Any]:
    llm = {"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
           "timeout": 5.0, "max_attempts": 2, "retry_initial_wait": 0.01}
    # Every memory of the scope is shown to the reconciliation call: what it must not see is
    # then up to the tenancy, not to the embedder's cosines.
    return {**memory_config, "llm": llm, "ingest": {"reconcile_min_similarity": -1.0}}


def said(facts: list[str], entities: list[str], relations: list[Triple]) -> dict[str, Any]:
    return {"facts": facts, "entities": [{"name": n, "type": "thing"} for n in entities],
            "relations": [{"source": s, "relationship": r, "destination": d} for s, r, d in relations]}


def triples(relations: list[dict[str, Any]]) -> list[Triple]:
    return sorted((r["source"], r["relationship"], r["destination"]) for r in relations)


@pytest.fixture
def script() -> ScriptedLLM:
    return ScriptedLLM()


@pytest.fixture
async def m(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
            script: ScriptedLLM) -> AsyncIterator[AsyncMemory]:
    openai_server.respond_with(script)
    async with AsyncMemory(inferring_config(memory_config, openai_server)) as memory:
        await memory.reset()
        yield memory


def store_problems(memory_config: dict[str, Any]) -> list[str]:
    return graph_scan.integrity(graph_scan.dump(memory_config))


async def test_a_run_of_alice_never_shows_bobs_relations(m: AsyncMemory, script: ScriptedLLM,
                                                         memory_config: dict[str, Any]) -> None:
    """Issue 12 (1): get_all(run_id="r-alice") returned Bob's SECRETLY_DATES relation."""
    script.extractions.update({
        "Bob is secretly dating Carol": said(["Bob secretly dates Carol"], ["Bob", "Carol"],
                                             [("Bob", "SECRETLY_DATES", "Carol")]),
        "I love Paris": said(["Alice loves Paris"], ["Alice", "Paris"], [("Alice", "LOVES", "Paris")]),
    })
    await m.add("Bob is secretly dating Carol", user_id="bob")
    await m.add("I love Paris", user_id="alice", run_id="r-alice")

    secret = ("Bob", "SECRETLY_DATES", "Carol")
    for scope in ({"run_id": "r-alice"}, {"user_id": "alice", "run_id": "r-alice"}, {"user_id": "alice"}):
        listed = await m.get_all(**scope)
        assert secret not in triples(listed["relations"]), scope
        found = await m.search("who is Bob secretly dating, Carol?", **scope)
        assert secret not in triples(found["relations"]), scope
        assert all(r["user_id"] == "alice" for r in listed["results"] + found["results"]), scope
    # A run-only scope reads the run's own graph, which no run-only add wrote.
    assert (await m.get_all(run_id="r-alice"))["relations"] == []
    assert triples((await m.get_all(user_id="alice", run_id="r-alice"))["relations"]) == [("Alice", "LOVES", "Paris")]
    assert triples((await m.get_all(user_id="bob"))["relations"]) == [secret]
    assert store_problems(memory_config) == []


async def test_run_only_conversations_keep_their_own_graphs(m: AsyncMemory, script: ScriptedLLM,
                                                            openai_server: ScriptedOpenAIServer,
                                                            memory_config: dict[str, Any]) -> None:
    """Issue 12 (2): conversation B saw and invalidated conversation A's relations."""
    script.extractions.update({
        "[a] Dana lives in Rome": said(["Dana lives in Rome"], ["Dana", "Rome"], [("Dana", "LIVES_IN", "Rome")]),
        "[b] Dana lives in Bergen": said(["Dana lives in Bergen"], ["Dana", "Bergen"],
                                         [("Dana", "LIVES_IN", "Bergen")]),
        "[b] Dana moved to Oslo": said(["Dana lives in Oslo"], ["Dana", "Oslo"], [("Dana", "LIVES_IN", "Oslo")]),
    })
    script.rules.append(Rule("lives in Oslo", "UPDATE", target="lives in Bergen", text="Dana lives in Oslo",
                             contradicts="LIVES_IN"))
    await m.add("[a] Dana lives in Rome", run_id="conv-a")
    await m.add("[b] Dana lives in Bergen", run_id="conv-b")
    moved = await m.add("[b] Dana moved to Oslo", run_id="conv-b")

    prompts = [r.text for r in openai_server.chat_requests if "New facts:" in r.text]
    assert len(prompts) == 1, "conversation B's second add reconciles against B's first"
    assert "Rome" not in prompts[0], "B's reconciliation prompt shows A's memory or relation"
    assert "Dana -[LIVES_IN]-> Bergen" in prompts[0]
    assert triples(moved["relations"]["deleted_entities"]) == [("Dana", "LIVES_IN", "Bergen")]
    assert triples(moved["relations"]["added_entities"]) == [("Dana", "LIVES_IN", "Oslo")]
    assert triples((await m.get_all(run_id="conv-a"))["relations"]) == [("Dana", "LIVES_IN", "Rome")]
    assert triples((await m.get_all(run_id="conv-b"))["relations"]) == [("Dana", "LIVES_IN", "Oslo")]
    found = await m.search("where does Dana live", run_id="conv-b")
    assert ("Dana", "LIVES_IN", "Rome") not in triples(found["relations"])

    snapshot = graph_scan.dump(memory_config)
    assert graph_scan.integrity(snapshot) == []
    dana = sorted(e.tenant for e in snapshot.entities if e.name_key == "dana")
    assert dana == ["\x1f\x1fconv-a", "\x1f\x1fconv-b"], "each conversation has its own entity"
    rome = [r for r in snapshot.relations if r.destination == "Rome"]
    assert [(r.tenant, r.valid) for r in rome] == [("\x1f\x1fconv-a", True)]


async def test_a_users_own_relation_is_written_beside_an_agents(m: AsyncMemory, script: ScriptedLLM,
                                                                memory_config: dict[str, Any]) -> None:
    """Issue 12 (3): (alice) adding "lives in Paris" after (alice, travel-bot) "flew to Paris"
    reported LIVES_IN but never wrote it (the lookup found travel-bot's Paris)."""
    script.extractions.update({
        "Alice flew to Paris": said(["Alice flew to Paris"], ["Alice", "Paris"], [("Alice", "FLEW_TO", "Paris")]),
        "Alice lives in Paris": said(["Alice lives in Paris"], ["Alice", "Paris"], [("Alice", "LIVES_IN", "Paris")]),
    })
    await m.add("Alice flew to Paris", user_id="alice", agent_id="travel-bot")
    lives = await m.add("Alice lives in Paris", user_id="alice")

    assert triples(lives["relations"]["added_entities"]) == [("Alice", "LIVES_IN", "Paris")]
    assert triples((await m.get_all(user_id="alice"))["relations"]) == [("Alice", "LIVES_IN", "Paris")]
    assert triples((await m.get_all(user_id="alice", agent_id="travel-bot"))["relations"]) == [
        ("Alice", "FLEW_TO", "Paris")]
    [memory] = lives["results"]
    snapshot = graph_scan.dump(memory_config)
    assert graph_scan.integrity(snapshot) == []  # mentions stay inside the memory's own graph tenant
    [stored] = [r for r in snapshot.relations if r.relationship == "LIVES_IN"]
    assert (stored.tenant, stored.valid, stored.memory_ids) == ("alice\x1f", True, (memory["id"],))
    paris = sorted(e.tenant for e in snapshot.entities if e.name_key == "paris")
    assert paris == ["alice\x1f", "alice\x1ftravel-bot"]


async def test_delete_all_removes_relations_whose_fact_names_no_endpoint(m: AsyncMemory, script: ScriptedLLM,
                                                                        memory_config: dict[str, Any]) -> None:
    """Issue 12 (4): a relation whose fact did not name its endpoints stayed for ever."""
    script.extractions.update({
        "a sunny day": said(["the weather was sunny"], ["Erin", "Finn"], [("Erin", "MET", "Finn")]),
    })
    added = await m.add("a sunny day", user_id="u-gone")
    await m.add("a sunny day", user_id="u-kept")
    [memory] = added["results"]
    assert triples(added["relations"]["added_entities"]) == [("Erin", "MET", "Finn")]
    assert triples((await m.get_all(user_id="u-gone"))["relations"]) == [("Erin", "MET", "Finn")]
    before = graph_scan.dump(memory_config)
    [stored] = [r for r in before.relations if r.tenant == "u-gone\x1f"]
    assert stored.memory_ids == (memory["id"],), "the add's only memory asserts the relation"

    assert await m.delete_all(user_id="u-gone") == {"deleted": 1}
    after = graph_scan.dump(memory_config)
    assert graph_scan.leftovers(after, Scope("u-gone")) == []
    assert graph_scan.integrity(after) == []
    assert await m.history(memory["id"]) == []
    assert (await m.get_all(user_id="u-gone")) == {"results": [], "relations": [], "total": 0}
    assert triples((await m.get_all(user_id="u-kept"))["relations"]) == [("Erin", "MET", "Finn")]


async def test_gathered_metadata_updates_keep_every_key(memory: AsyncMemory) -> None:
    """Issue 12 (5): 20 gathered update(id, metadata={f"k{i}": i}) kept one key."""
    [record] = (await memory.add("Alice keeps a diary", user_id="keys", infer=False))["results"]
    results = await asyncio.gather(*(memory.update(record["id"], metadata={f"k{i}": i}) for i in range(20)))
    assert all(r is not None for r in results)
    stored = await memory.get(record["id"])
    assert stored is not None
    assert stored["metadata"] == {"role": "user", **{f"k{i}": i for i in range(20)}}
    assert [h["event"] for h in await memory.history(record["id"])] == ["ADD"] + ["UPDATE"] * 20
    removed = await asyncio.gather(*(memory.update(record["id"], metadata={f"k{i}": None}) for i in range(0, 20, 2)))
    assert all(r is not None for r in removed)
    stored = await memory.get(record["id"])
    assert stored is not None and stored["metadata"] == {"role": "user", **{f"k{i}": i for i in range(1, 20, 2)}}


async def test_an_inferred_update_keeps_metadata_written_during_its_llm_call(
    m: AsyncMemory, script: ScriptedLLM, openai_server: ScriptedOpenAIServer
) -> None:
    """Issue 12 (5), the infer UPDATE path: metadata patched while the reconciliation call runs
    (after the add read the memory) survives the add's UPDATE."""
    script.extractions["moved to Oslo"] = said(["Dana lives in Oslo"], ["Dana", "Oslo"], [])
    script.rules.append(Rule("lives in Oslo", "UPDATE", target="lives in Bergen", text="Dana lives in Oslo"))
    reconciling, patched = threading.Event(), threading.Event()

    def held(body: dict[str, Any]) -> str:
        if any("New facts:" in str(message.get("content")) for message in body["messages"]):
            reconciling.set()
            patched.wait(30)  # answered once the updates below have committed
        return script(body)

    openai_server.respond_with(held)
    [record] = (await m.add("Dana lives in Bergen", user_id="dana", infer=False))["results"]
    inferring = asyncio.ensure_future(m.add("I moved to Oslo", user_id="dana", metadata={"via": "llm"}))
    assert await asyncio.get_running_loop().run_in_executor(None, reconciling.wait, 30)
    patches = await asyncio.gather(*(m.update(record["id"], metadata={f"k{i}": i}) for i in range(10)))
    patched.set()
    inferred = await inferring
    assert all(p is not None for p in patches)
    assert [(r["event"], r["id"]) for r in inferred["results"]] == [("UPDATE", record["id"])]
    stored = await m.get(record["id"])
    assert stored is not None and stored["memory"] == "Dana lives in Oslo"
    assert stored["metadata"] == {"role": "user", "via": "llm", **{f"k{i}": i for i in range(10)}}
