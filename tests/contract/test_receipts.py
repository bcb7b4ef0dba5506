"""Every add carries a receipt (``usage``), checked against the scripted server's own counts."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from powermem import AsyncMemory, Memory
from tests.contract.test_infer import CONVERSATION, llm_config
from tests.support.openai_server import RecordedRequest, ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

USAGE_KEYS = {"llm_calls", "prompt_tokens", "completion_tokens", "llm_ms", "embed_ms", "store_ms",
              "invalidation_candidates", "extract_ms"}


class Answers:
    """The responder, plus what it answered to each request (the server counts those words)."""

    def __init__(self, script: ScriptedLLM) -> None:
        self.script = script
        self.texts: list[str] = []
        self.prompts: list[str] = []  # the messages each answer was for, joined

    def __call__(self, body: dict[str, Any]) -> str:
        answer = self.script(body)
        self.prompts.append("\n".join(str(m.get("content", "")) for m in body["messages"]))
        self.texts.append(answer if isinstance(answer, str) else json.dumps(answer))
        return self.texts[-1]


def words(content: Any) -> int:
    return len(str(content).split()) if content else 0


def prompt_tokens(request: RecordedRequest) -> int:
    return sum(words(m.get("content")) for m in request.messages)


def server_usage(requests: list[RecordedRequest], answers: list[str]) -> dict[str, int]:
    """What the server reported for these requests: calls, and word-count tokens both ways."""
    assert len(requests) == len(answers)
    return {"llm_calls": len(requests), "prompt_tokens": sum(prompt_tokens(r) for r in requests),
            "completion_tokens": sum(words(a) for a in answers)}


def counts(usage: dict[str, Any]) -> dict[str, int]:
    return {k: usage[k] for k in ("llm_calls", "prompt_tokens", "completion_tokens")}


async def test_infer_receipts_equal_the_servers_counts(memory_config: dict[str, Any],
                                                       openai_server: ScriptedOpenAIServer) -> None:
    answers = Answers(ScriptedLLM(CONVERSATION.extractions, CONVERSATION.rules))
    openai_server.respond_with(answers)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        seen = 0
        for text, calls in [("I live in Berlin, work at Acme and I love jazz", 1),
                            ("I moved from Berlin to Paris", 2), ("hello there", 1)]:
            result = await m.add(text, user_id="alice")
            usage = result["usage"]
            assert set(usage) == USAGE_KEYS
            chats = openai_server.chat_requests[seen:]
            assert counts(usage) == server_usage(chats, answers.texts[seen:])
            assert usage["llm_calls"] == calls and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
            assert usage["llm_ms"] > 0
            seen += len(chats)
            if result["results"]:  # facts were embedded and written
                assert usage["embed_ms"] > 0 and usage["store_ms"] > 0
        assert answers.script.calls == ["extract", "extract", "reconcile", "extract"]


async def test_raw_add_has_no_llm_cost(memory_config: dict[str, Any], openai_server: ScriptedOpenAIServer) -> None:
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        result = await m.add([{"role": "user", "content": "Alice lives in Paris"},
                              {"role": "assistant", "content": "Noted"}], user_id="alice", infer=False)
    usage = result["usage"]
    assert counts(usage) == {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    assert usage["llm_ms"] == 0 and usage["embed_ms"] > 0 and usage["store_ms"] > 0
    assert usage["extract_ms"] > 0  # the offline extractor read the messages
    assert openai_server.chat_requests == []


async def test_concurrent_adds_keep_their_own_receipts(memory_config: dict[str, Any],
                                                       openai_server: ScriptedOpenAIServer) -> None:
    # Each add says a different number of words, so each one's tokens differ; the server's
    # requests are matched to adds by their marker.
    markers = [f"marker{i}" for i in range(6)]
    extractions = {k: {"facts": [f"u{i} noted {k} " + "word " * i]} for i, k in enumerate(markers)}
    answers = Answers(ScriptedLLM(extractions))
    openai_server.respond_with(answers)
    async with AsyncMemory(llm_config(memory_config, openai_server)) as m:
        await m.reset()
        results = await asyncio.gather(*(m.add(f"{k} " + "say " * (3 * i), user_id=f"u{i}")
                                         for i, k in enumerate(markers)))
    requests = openai_server.chat_requests
    for marker, result in zip(markers, results, strict=True):
        mine = [r for r in requests if re.search(rf"\b{marker}\b", r.text)]
        answered = [a for a, p in zip(answers.texts, answers.prompts, strict=True) if re.search(rf"\b{marker}\b", p)]
        assert counts(result["usage"]) == server_usage(mine, answered)
        assert result["usage"]["llm_calls"] == 1
    assert len({r["usage"]["prompt_tokens"] for r in results}) == len(markers)


def test_the_sync_facade_returns_the_receipt(memory_config: dict[str, Any]) -> None:
    with Memory(memory_config) as m:
        result = m.add("Bo keeps bees", user_id="bo", infer=False)
        m.reset()
    assert set(result["usage"]) == USAGE_KEYS
    assert result["usage"]["llm_calls"] == 0 and result["usage"]["store_ms"] > 0
