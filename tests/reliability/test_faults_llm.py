"""LLM and embedding faults beyond the retry policy leave the store exactly as it was.

The scripted OpenAI server answers with 429s, 5xx, stalls past the client timeout, dropped
connections and garbage, more times than the policy retries, on the extraction call, on the
reconciliation call (after a good extraction) and on the embeddings endpoint (facts,
updates). The failing call raises ``LLMError``/``EmbeddingError``; a snapshot of the whole
store (every tenant's memories with their histories, and per-tenant entity and relation
counts) is unchanged, and the next call succeeds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from powermem import AsyncMemory, EmbeddingError, LLMError
from tests.reliability.helpers import Tally, store_snapshot
from tests.reliability.test_isolation import extraction
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

ATTEMPTS = 2
TIMEOUT = 1.0
LLM = ScriptedLLM(
    extractions={
        "first conversation": extraction(["Alice works at Acme", "Alice lives in Berlin"], ["Alice", "Acme", "Berlin"],
                                         [("Alice", "WORKS_AT", "Acme"), ("Alice", "LIVES_IN", "Berlin")]),
        "second conversation": extraction(["Alice works at Acme as a pilot", "Bob knows Alice"],
                                          ["Alice", "Acme", "Bob"], [("Bob", "KNOWS", "Alice")]),
    }
)
GOOD_EXTRACTION = json.dumps(LLM.extractions["second conversation"])

# name -> faults queued on one path, more than the policy retries.
FAULTS: dict[str, list[tuple[Any, ...]]] = {
    "429": [("status", 429, {"Retry-After": "0"})] * ATTEMPTS,
    "500": [("status", 500)] * ATTEMPTS,
    "502-then-503": [("status", 502), ("status", 503)],
    # The server holds the answer until the client's timeout closes the connection (60 s is
    # only the bound for a client that never does): no race between two clocks.
    "timeout": [("stall", 60)] * ATTEMPTS,
    "dropped-connection": [("drop",)] * ATTEMPTS,
    "mixed": [("status", 429, {"Retry-After": "0"}), ("drop",)],
    "401": [("status", 401)],
    "400": [("status", 400, "bad request")],
}
GARBAGE: dict[str, list[tuple[Any, ...]]] = {
    "not-json": [("raw", "this is not json"), ("raw", "{still not")],
    "wrong-shape": [("content", '{"facts": "Alice"}'), ("content", '{"decisions": 3}')],
    "truncated-json": [("content", GOOD_EXTRACTION[:40])] * 2,
}


def config(memory_config: dict[str, Any], server: ScriptedOpenAIServer, remote_embeddings: bool) -> dict[str, Any]:
    llm = {"provider": "openai", "base_url": server.base_url, "api_key": "test", "model": "scripted",
           "timeout": TIMEOUT, "max_attempts": ATTEMPTS, "retry_initial_wait": 0.01, "max_retry_seconds": 30}
    cfg = {**memory_config, "llm": llm}
    if remote_embeddings:
        cfg["embedding"] = {"provider": "openai", "base_url": server.base_url, "api_key": "test",
                            "model": "scripted", "dims": 64, "timeout": TIMEOUT, "max_attempts": ATTEMPTS,
                            "retry_initial_wait": 0.01}
    return cfg


async def seeded(m: AsyncMemory) -> dict[str, Any]:
    await m.reset()
    await m.add("first conversation", user_id="alice", metadata={"source": "chat"})
    await m.add("Carol met Dave at Initech yesterday", user_id="carol", infer=False)
    await m.add("first conversation", user_id="other", agent_id="bot")
    return await store_snapshot(m)


LLM_CASES = [("extraction", name) for name in [*FAULTS, *GARBAGE]] + [
    ("reconciliation", name) for name in ("500", "timeout", "dropped-connection", "not-json", "wrong-shape")
]


@pytest.mark.parametrize(("where", "fault"), LLM_CASES, ids=[f"{w}-{f}" for w, f in LLM_CASES])
async def test_llm_faults_change_nothing(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
                                         store_kind: str, tally: Tally, fault: str, where: str) -> None:
    openai_server.respond_with(ScriptedLLM(LLM.extractions))
    async with AsyncMemory(config(memory_config, openai_server, remote_embeddings=False)) as m:
        before = await seeded(m)
        faults = FAULTS.get(fault) or GARBAGE[fault]
        if where == "reconciliation":  # a good extraction first, then the faults
            faults = [("content", GOOD_EXTRACTION), *faults]
        openai_server.fail(*faults, path="completions")
        with pytest.raises(LLMError):
            await m.add("second conversation", user_id="alice")
        tally.add("faults", f"{store_kind}/llm-{fault}", 1)
        assert openai_server.pending_faults == 0
        assert await store_snapshot(m) == before, "a failed add changed the store"
        # The fault is over: the same add now goes through.
        added = await m.add("second conversation", user_id="alice")
        assert {r["memory"] for r in added["results"] if r["event"] == "ADD"} >= {"Bob knows Alice"}


EMBEDDING_FAULTS = {name: FAULTS[name] for name in ("500", "timeout", "dropped-connection")}
EMBEDDING_FAULTS["wrong-count"] = [("content", json.dumps({"object": "list", "data": [], "model": "x"}))]


EMBEDDING_CASES = [("infer-add", name) for name in EMBEDDING_FAULTS] + [
    (call, name) for call in ("raw-add", "update") for name in ("500", "dropped-connection", "wrong-count")
]


@pytest.mark.parametrize(("call", "fault"), EMBEDDING_CASES, ids=[f"{c}-{f}" for c, f in EMBEDDING_CASES])
async def test_embedding_faults_change_nothing(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer,
                                               store_kind: str, tally: Tally, fault: str, call: str) -> None:
    openai_server.respond_with(ScriptedLLM(LLM.extractions))
    async with AsyncMemory(config(memory_config, openai_server, remote_embeddings=True)) as m:
        before = await seeded(m)
        target = before["memories"][0]["id"]
        faults = EMBEDDING_FAULTS[fault]
        if fault == "wrong-count":
            faults = faults * ATTEMPTS
        openai_server.fail(*faults, path="embeddings")
        with pytest.raises((EmbeddingError, LLMError)) as caught:
            if call == "infer-add":
                await m.add("second conversation", user_id="alice")
            elif call == "raw-add":
                await m.add("Erin visited Frank in Oslo", user_id="alice", infer=False)
            else:
                await m.update(target, content="Alice now works at Globex")
        assert isinstance(caught.value, EmbeddingError), caught.value
        tally.add("faults", f"{store_kind}/embedding-{fault}", 1)
        assert await store_snapshot(m) == before, "a failed call changed the store"
