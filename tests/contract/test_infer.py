"""add(infer=True) through the real openai SDK against the scripted server, on both stores."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from powermem import AsyncMemory, LLMError
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import Rule, ScriptedLLM, fact


def llm_config(memory_config: dict[str, Any], server: ScriptedOpenAIServer, **llm: Any) -> dict[str, Any]:
    section = {"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
               "timeout": 2.0, "max_attempts": 3, "retry_initial_wait": 0.01, **llm}
    return {**memory_config, "llm": section}


CONVERSATION = ScriptedLLM(
    extractions={
        "I live in Berlin": fact(
            ["alice lives in Berlin", "alice works at Acme", "alice loves jazz"],
            [("alice", "person"), ("Berlin", "place"), ("Acme", "organization"), ("jazz", "music")],
            [("alice", "LIVES_IN", "Berlin"), ("alice", "WORKS_AT", "Acme"), ("alice", "LIKES", "jazz")],
        ),
        "moved from Berlin to Paris": fact(
            ["alice lives in Paris"], [("alice", "person"), ("Paris", "place")], [("alice", "lives in", "Paris")]
        ),
        "stopped listening to jazz": fact(["alice no longer loves jazz"], [("alice", "person"), ("jazz", "music")], []),
        "still at Acme": fact(["alice works at Acme"], [("alice", "person"), ("Acme", "organization")], []),
    },
    rules=[
        Rule("lives in Paris", "UPDATE", target="lives in Berlin", text="alice lives in Paris", contradicts="LIVES_IN"),
        Rule("no longer loves jazz", "DELETE", target="loves jazz"),
        Rule("works at Acme", "NONE", target="works at Acme"),
    ],
)


@pytest.fixture
async def inferring(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer) -> Any:
    script = ScriptedLLM(CONVERSATION.extractions, CONVERSATION.rules)
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        yield m, script, openai_server


async def test_multi_turn_conversation_updates_deletes_and_invalidates(inferring: Any) -> None:
    m, script, _ = inferring
    first = await m.add("I live in Berlin, work at Acme and I love jazz", user_id="alice")
    assert [r["event"] for r in first["results"]] == ["ADD", "ADD", "ADD"]
    assert script.calls == ["extract"]
    added = {(r["source"], r["relationship"], r["destination"]) for r in first["relations"]["added_entities"]}
    assert added == {("alice", "LIVES_IN", "Berlin"), ("alice", "WORKS_AT", "Acme"), ("alice", "LIKES", "jazz")}
    berlin = next(r for r in first["results"] if "Berlin" in r["memory"])

    moved = await m.add("I moved from Berlin to Paris", user_id="alice")
    assert script.calls[1:] == ["extract", "reconcile"]
    [update] = moved["results"]
    assert (update["event"], update["id"], update["memory"]) == ("UPDATE", berlin["id"], "alice lives in Paris")
    assert update["previous_memory"] == "alice lives in Berlin"
    assert moved["relations"]["deleted_entities"] == [{"source": "alice", "relationship": "LIVES_IN", "destination": "Berlin"}]
    assert moved["relations"]["added_entities"] == [{"source": "alice", "relationship": "LIVES_IN", "destination": "Paris"}]

    dropped = await m.add("I stopped listening to jazz", user_id="alice")
    assert [(r["event"], r["memory"]) for r in dropped["results"]] == [("DELETE", "alice loves jazz")]
    unchanged = await m.add("I'm still at Acme", user_id="alice")
    assert unchanged["results"] == []

    listed = await m.get_all(user_id="alice")
    assert sorted(r["memory"] for r in listed["results"]) == ["alice lives in Paris", "alice works at Acme"]
    relations = {(r["source"], r["relationship"], r["destination"]) for r in listed["relations"]}
    assert relations == {("alice", "LIVES_IN", "Paris"), ("alice", "WORKS_AT", "Acme")}
    found = await m.search("where does alice live", user_id="alice")
    assert ("alice", "LIVES_IN", "Berlin") not in {(r["source"], r["relationship"], r["destination"]) for r in found["relations"]}
    history = await m.history(berlin["id"], user_id="alice")
    assert [(h["event"], h["new_memory"]) for h in history] == [("ADD", "alice lives in Berlin"), ("UPDATE", "alice lives in Paris")]


async def test_one_call_without_similar_memories_two_with(inferring: Any) -> None:
    m, _script, server = inferring
    await m.add("I live in Berlin", user_id="solo")
    assert len(server.chat_requests) == 1
    await m.add("I moved from Berlin to Paris", user_id="solo")
    assert len(server.chat_requests) == 3


async def test_nothing_worth_remembering_writes_nothing(inferring: Any) -> None:
    m, _, _ = inferring
    result = await m.add("hello there", user_id="quiet")
    assert result["usage"]["llm_calls"] == 1
    assert {**result, "usage": None} == {"results": [], "relations": {"added_entities": [], "deleted_entities": []},
                                         "usage": None}
    assert (await m.get_all(user_id="quiet"))["total"] == 0


async def snapshot(m: AsyncMemory, user: str) -> Any:
    listed = await m.get_all(user_id=user, limit=1000)
    return listed["results"], listed["relations"], [await m.history(r["id"]) for r in listed["results"]]


@pytest.mark.parametrize(
    ("faults", "requests", "succeeds"),
    [
        ([("status", 429, {"Retry-After": "0"})], 2, True),
        ([("status", 500), ("status", 503)], 3, True),
        ([("drop",)], 2, True),
        ([("stall", 60)], 2, True),  # held until the client's 2 s timeout hangs up
        ([("raw", "this is not json")], 2, True),
        ([("content", '{"wrong": 1}')], 2, True),
        ([("status", 503)] * 3, 3, False),
        ([("status", 401)], 1, False),
        ([("status", 400, "bad request")], 1, False),
        ([("raw", "nope"), ("raw", "still nope")], 2, False),
    ],
)
async def test_llm_faults_are_retried_and_failures_change_nothing(
    inferring: Any, faults: list[tuple[Any, ...]], requests: int, succeeds: bool
) -> None:
    m, script, server = inferring
    await m.add("I live in Berlin, work at Acme and I love jazz", user_id="alice")
    before = await snapshot(m, "alice")
    server.reset()
    server.respond_with(script)
    server.fail(*faults, path="completions")
    if succeeds:
        await m.add("I moved from Berlin to Paris", user_id="alice")
        assert len(server.chat_requests) == requests + 1  # the retried extraction, then reconciliation
    else:
        with pytest.raises(LLMError):
            await m.add("I moved from Berlin to Paris", user_id="alice")
        assert len(server.chat_requests) == requests
        assert await snapshot(m, "alice") == before


async def test_relation_names_are_sanitised(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer) -> None:
    nasty = ["lives in", "works-for", "it's \"quoted\"", "`]->(x) DETACH DELETE x //", "café à côté", "MATCH (n) RETURN n"]
    script = ScriptedLLM({"nasty": fact(["bob knows carl"], [("bob", "person"), ("carl", "person")],
                                        [("bob", r, "carl") for r in nasty])})
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        result = await m.add("nasty relations", user_id="bob")
        types = {r["relationship"] for r in result["relations"]["added_entities"]}
        assert types == {"LIVES_IN", "WORKS_FOR", "IT_S_QUOTED", "X_DETACH_DELETE_X", "CAFE_A_COTE", "MATCH_N_RETURN_N"}
        stored = {r["relationship"] for r in (await m.get_all(user_id="bob"))["relations"]}
        assert stored == types
        assert (await m.get_all(user_id="bob"))["total"] == 1


async def test_concurrent_infer_adds_do_not_duplicate_entities(
    memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer
) -> None:
    people = [("Dana", "person"), ("Eli", "person"), ("Fay", "person")]
    script = ScriptedLLM({f"note {i}": fact([f"Dana met Eli and Fay on day {i}"], people, [("Dana", "MET", "Eli")])
                          for i in range(20)})
    openai_server.respond_with(script)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        await asyncio.gather(*(m.add(f"note {i}", user_id="crowd") for i in range(20)))
        store, _, _ = await m._ready()
        from powermem.stores.base import Scope

        entities = await store.entities_by_key(Scope("crowd"), ["dana", "eli", "fay"])
        assert sorted(e.name_key for e in entities) == ["dana", "eli", "fay"]
        assert (await m.get_all(user_id="crowd"))["total"] >= 1
