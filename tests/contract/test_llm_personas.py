"""add(infer=True) against scripted servers that behave like real ones, on both stores.

Each persona (tests/support/openai_server.py) reproduces a server seen in the wild. For each:
what the add does (facts stored, LLMError, or the messages stored raw), how many requests it
made, and that a failure writes nothing (the whole store compared before and after) or, with
``ingest.on_llm_failure = "store_raw"``, exactly the marked messages.
"""

from __future__ import annotations

from typing import Any

import pytest

from powermem import AsyncMemory, LLMError
from powermem.ingest.pipeline import RAW_MARK
from tests.reliability.helpers import store_snapshot
from tests.support.openai_server import PERSONAS, ScriptedOpenAIServer, requested_mode
from tests.support.scripted_llm import ScriptedLLM

FACTS = ["alice lives in Berlin", "alice works at Acme"]
SCRIPT = ScriptedLLM(extractions={"I live in Berlin": {
    "facts": FACTS,
    "entities": [{"name": "alice", "type": "person"}, {"name": "Berlin", "type": "place"},
                 {"name": "Acme", "type": "organization"}],
    "relations": [{"source": "alice", "relationship": "LIVES_IN", "destination": "Berlin"},
                  {"source": "alice", "relationship": "WORKS_AT", "destination": "Acme"}],
}})
CONVERSATION = [{"role": "user", "content": "I live in Berlin and I work at Acme"},
                {"role": "assistant", "content": "Noted!"}]

# persona -> chat requests the add makes
STORED = {
    "rejects-json-schema": 2,  # 400 to json_schema, then json_object
    "json-object-only": 2,  # prose under json_schema (ignored), re-asked under json_object
    "code-fences": 1,
    "prose": 1,
    "trailing-commas": 1,
    "python-dict": 1,
    "tool-calls-instead": 1,
    "rate-limited": 2,  # 429 with Retry-After, then the answer
}
FAILED = {
    "truncates": 2,  # cut at max_tokens, re-asked shorter, cut again
    "empty-choices": 2,
    "wrong-schema-twice": 2,
}


def config(memory_config: dict[str, Any], server: ScriptedOpenAIServer, on_failure: str = "raise") -> dict[str, Any]:
    llm = {"provider": "openai_compatible", "base_url": server.base_url, "model": "scripted", "timeout": 5.0,
           "max_attempts": 3, "retry_initial_wait": 0.01}
    return {**memory_config, "llm": llm, "ingest": {**memory_config["ingest"], "on_llm_failure": on_failure}}


RAW_RECORD_KEYS: set[str] = set()  # the keys of an add(infer=False) record, filled by seeded()


async def seeded(m: AsyncMemory) -> dict[str, Any]:
    await m.reset()
    raw = await m.add("Bob met Carol at Initech", user_id="bob", infer=False)
    RAW_RECORD_KEYS.update(raw["results"][0])
    await m.add("Dana likes jazz", user_id="dana", agent_id="bot", infer=False)
    return await store_snapshot(m)


@pytest.mark.parametrize(("persona", "requests"), STORED.items(), ids=list(STORED))
async def test_servers_whose_answers_can_be_used(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
                                                 persona: str, requests: int) -> None:
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions))
    async with AsyncMemory(config(memory_config, openai_server)) as m:
        before = await seeded(m)
        openai_server.act_as(PERSONAS[persona]())
        added = await m.add(CONVERSATION, user_id="alice", metadata={"source": "chat"})
        assert len(openai_server.chat_requests) == requests
        assert sorted((r["event"], r["memory"]) for r in added["results"]) == [("ADD", f) for f in FACTS]
        assert "llm_failure" not in added
        relations = {(r["source"], r["relationship"], r["destination"]) for r in added["relations"]["added_entities"]}
        assert relations == {("alice", "LIVES_IN", "Berlin"), ("alice", "WORKS_AT", "Acme")}
        after = await store_snapshot(m)
        assert [r for r in after["memories"] if r["user_id"] != "alice"] == before["memories"]
        stored = [r for r in after["memories"] if r["user_id"] == "alice"]
        assert sorted(r["memory"] for r in stored) == FACTS
        assert all(r["metadata"] == {"source": "chat"} for r in stored)
        # The mode a server forced stays chosen: the next add asks the way that worked.
        count = len(openai_server.chat_requests)
        await m.add("I live in Berlin, still", user_id="alice2")
        assert len(openai_server.chat_requests) == count + 1
        expected = "json_object" if persona in ("rejects-json-schema", "json-object-only") else "json_schema"
        assert requested_mode(openai_server.chat_requests[-1].body) == expected


@pytest.mark.parametrize(("persona", "requests"), FAILED.items(), ids=list(FAILED))
async def test_unusable_answers_raise_and_write_nothing(memory_config: dict[str, Any],
                                                        openai_server: ScriptedOpenAIServer,
                                                        persona: str, requests: int) -> None:
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions))
    async with AsyncMemory(config(memory_config, openai_server)) as m:
        before = await seeded(m)
        openai_server.act_as(PERSONAS[persona]())
        with pytest.raises(LLMError, match="still invalid after a re-ask"):
            await m.add(CONVERSATION, user_id="alice")
        assert len(openai_server.chat_requests) == requests
        assert await store_snapshot(m) == before, "a failed add changed the store"


@pytest.mark.parametrize(("persona", "requests", "status"),
                         [(p, n, None) for p, n in FAILED.items()] + [("unauthorized", 1, 401)],
                         ids=[*FAILED, "unauthorized"])
async def test_store_raw_keeps_the_messages_marked(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
                                                   persona: str, requests: int, status: int | None) -> None:
    openai_server.respond_with(ScriptedLLM(SCRIPT.extractions))
    async with AsyncMemory(config(memory_config, openai_server, on_failure="store_raw")) as m:
        before = await seeded(m)
        if persona == "unauthorized":
            openai_server.fail(("status", 401, "Incorrect API key provided"))
        else:
            openai_server.act_as(PERSONAS[persona]())
        added = await m.add(CONVERSATION, user_id="alice", metadata={"source": "chat"})
        assert len(openai_server.chat_requests) == requests
        failure = added["llm_failure"]
        assert failure["type"] == "LLMError" and failure["status"] == status and failure["message"]
        # The answered requests the failed extraction spent are on the receipt; a 401 answered none.
        assert added["usage"]["llm_calls"] == (0 if status else requests)
        assert [set(r) for r in added["results"]] == [RAW_RECORD_KEYS] * 2  # the record shape of infer=False
        assert [(r["event"], r["memory"], r["metadata"]) for r in added["results"]] == [
            ("ADD", "I live in Berlin and I work at Acme", {"source": "chat", "role": "user", RAW_MARK: "llm_failure"}),
            ("ADD", "Noted!", {"source": "chat", "role": "assistant", RAW_MARK: "llm_failure"}),
        ]
        assert added["relations"] == {"added_entities": [], "deleted_entities": []}
        after = await store_snapshot(m)
        assert [r for r in after["memories"] if r["user_id"] != "alice"] == before["memories"]
        marked = await m.get_all(user_id="alice", filters={RAW_MARK: "llm_failure"})
        assert sorted(r["id"] for r in marked["results"]) == sorted(r["id"] for r in added["results"])
        assert marked["total"] == (await m.get_all(user_id="alice"))["total"] == 2

