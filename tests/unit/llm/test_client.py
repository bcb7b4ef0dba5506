"""LLMClient over real HTTP, with the real openai SDK, against the scripted server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from powermem.config import LLMConfig, PromptConfig
from powermem.errors import ConfigError, LLMError
from powermem.llm import Extraction, LLMClient, Reconciliation, Usage, retry_policy
from powermem.llm.prompts import (
    EXTRACTION_INSTRUCTION,
    extraction_messages,
    reconciliation_messages,
)
from powermem.llm.schemas import strict_json_schema
from tests.support.openai_server import (
    PERSONAS,
    EmptyChoices,
    Persona,
    ScriptedOpenAIServer,
    Truncates,
    requested_mode,
)

EXTRACTION = {
    "facts": ["alice works at Acme"],
    "entities": [{"name": "alice", "type": "person"}, {"name": "Acme", "type": "organization"}],
    "relations": [{"source": "alice", "relationship": "WORKS_AT", "destination": "Acme"}],
}
MESSAGES = [{"role": "system", "content": "Extract."}, {"role": "user", "content": "I work at Acme."}]


def make_client(server: ScriptedOpenAIServer, *, attempts: int = 4, timeout: float = 3.0,
                structured_output: str | None = None) -> LLMClient:
    config = LLMConfig.model_validate({"provider": "openai", "api_key": "sk-test", "base_url": server.base_url,
                                       "timeout": timeout, "structured_output": structured_output})
    policy = retry_policy(attempts, 10.0, LLMError, initial_wait=0.01, max_wait=0.05)
    client = LLMClient.from_config(config, retry=policy)
    assert client is not None
    return client


@pytest_asyncio.fixture
async def client(openai_server: ScriptedOpenAIServer) -> AsyncIterator[LLMClient]:
    llm = make_client(openai_server)
    yield llm
    await llm.aclose()


# -- happy path and request shape ----------------------------------------------------------


@pytest.mark.asyncio
async def test_structured_output_with_strict_json_schema(
    client: LLMClient, openai_server: ScriptedOpenAIServer
) -> None:
    openai_server.script(EXTRACTION)
    result, usage = await client.structured(MESSAGES, Extraction)
    assert result == Extraction.model_validate(EXTRACTION)
    [request] = openai_server.requests
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["temperature"] == 0.0
    fmt = request.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Extraction" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert request.messages == MESSAGES
    assert usage.calls == 1 and usage.prompt_tokens == 5 and usage.completion_tokens > 0


@pytest.mark.asyncio
async def test_usage_is_per_call_and_cumulative(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    _, first = await client.structured(MESSAGES, Extraction)
    _, second = await client.structured(MESSAGES, Reconciliation)
    assert first.calls == second.calls == 1
    assert client.usage == first + second
    assert client.usage.total_tokens == client.usage.prompt_tokens + client.usage.completion_tokens
    assert Usage(1, 2, 3) + Usage(1, 1, 1) == Usage(2, 3, 4)


# -- transport faults go through the retry policy --------------------------------------------


@pytest.mark.asyncio
async def test_429_honours_retry_after(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("status", 429, {"Retry-After": "1"}))
    started = time.monotonic()
    _, usage = await client.structured(MESSAGES, Extraction)
    assert 0.9 <= time.monotonic() - started < 10  # waited the 1 s asked for; the bound is for a loaded machine
    assert len(openai_server.requests) == 2
    assert usage.calls == 1


@pytest.mark.asyncio
async def test_5xx_then_success(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("status", 500), ("status", 503))
    openai_server.script(EXTRACTION)
    result, _ = await client.structured(MESSAGES, Extraction)
    assert [f.text for f in result.facts] == EXTRACTION["facts"]
    assert len(openai_server.requests) == 3


@pytest.mark.asyncio
async def test_stall_past_timeout_is_retried(openai_server: ScriptedOpenAIServer) -> None:
    client = make_client(openai_server, timeout=0.5)
    openai_server.fail(("stall", 60))  # held until the client hangs up
    started = time.monotonic()
    await client.structured(MESSAGES, Extraction)
    await client.aclose()
    assert time.monotonic() - started < 30  # the client gave up on the stall (after 0.5 s), retried
    assert len(openai_server.requests) == 2


@pytest.mark.asyncio
async def test_dropped_connection_is_retried(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("drop",))
    await client.structured(MESSAGES, Extraction)
    assert len(openai_server.requests) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(code: int, client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("status", code, "nope"))
    with pytest.raises(LLMError) as info:
        await client.structured(MESSAGES, Extraction)
    assert info.value.status == code
    assert len(openai_server.requests) == 1
    assert client.usage.calls == 0


@pytest.mark.asyncio
async def test_exhausted_attempts_raise_llm_error_with_status(openai_server: ScriptedOpenAIServer) -> None:
    client = make_client(openai_server, attempts=3)
    openai_server.fail(*[("status", 503)] * 5)
    with pytest.raises(LLMError) as info:
        await client.structured(MESSAGES, Extraction)
    await client.aclose()
    assert info.value.status == 503
    assert len(openai_server.requests) == 3


# -- invalid output gets exactly one corrective retry ------------------------------------------


@pytest.mark.asyncio
async def test_broken_json_gets_one_corrective_retry(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("raw", '{"facts": [1 2]}'))
    openai_server.script(EXTRACTION)
    result, usage = await client.structured(MESSAGES, Extraction)
    assert [f.text for f in result.facts] == EXTRACTION["facts"]
    _, second = openai_server.requests
    assert second.messages[: len(MESSAGES)] == MESSAGES
    assert second.messages[-2] == {"role": "assistant", "content": '{"facts": [1 2]}'}
    assert second.messages[-1]["role"] == "user" and "invalid JSON" in second.messages[-1]["content"]
    assert usage.calls == 2 and client.mode == "json_schema"


@pytest.mark.asyncio
async def test_prose_under_json_schema_steps_down_once(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("raw", "Sure! Alice works at Acme."))
    openai_server.script(EXTRACTION, EXTRACTION)
    result, usage = await client.structured(MESSAGES, Extraction)
    assert [f.text for f in result.facts] == EXTRACTION["facts"] and usage.calls == 2
    ignored, reasked = openai_server.requests
    assert ignored.body["response_format"]["type"] == "json_schema"
    assert reasked.body["response_format"] == {"type": "json_object"}
    assert "no JSON object" in reasked.messages[-1]["content"]
    assert client.mode == "json_object"
    await client.structured(MESSAGES, Extraction)
    assert openai_server.requests[2].body["response_format"] == {"type": "json_object"}


@pytest.mark.asyncio
async def test_wrong_schema_twice_raises(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("content", '{"wrong": 1}'), ("content", '{"wrong": 2}'))
    with pytest.raises(LLMError) as info:
        await client.structured(MESSAGES, Extraction)
    assert "wrong" in str(info.value)
    assert len(openai_server.requests) == 2
    correction = openai_server.requests[1].messages[-1]["content"]
    assert "wrong: Extra inputs are not permitted" in correction
    assert client.usage.calls == 2


@pytest.mark.asyncio
async def test_model_rules_trigger_the_corrective_retry(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    bad = {"decisions": [{"fact": 0, "event": "UPDATE", "target": None, "text": "x"}], "contradicted_relations": []}
    good = {"decisions": [{"fact": 0, "event": "UPDATE", "target": 3, "text": "x"}], "contradicted_relations": [1]}
    openai_server.script(bad, good)
    result, _ = await client.structured(MESSAGES, Reconciliation)
    assert result.decisions[0].target == 3 and result.contradicted_relations == [1]
    assert "needs 'target'" in openai_server.requests[1].messages[-1]["content"]


@pytest.mark.asyncio
async def test_fenced_and_thinking_answers_are_accepted(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.script("```json\n" + json.dumps(EXTRACTION) + "\n```", "<think>hm</think>" + json.dumps(EXTRACTION))
    for _ in range(2):
        result, _ = await client.structured(MESSAGES, Extraction)
        assert result.relations[0].relationship == "WORKS_AT"
    assert len(openai_server.requests) == 2


# -- servers without structured outputs ------------------------------------------------------


@pytest.mark.asyncio
async def test_json_schema_rejected_falls_back_to_json_object(
    client: LLMClient, openai_server: ScriptedOpenAIServer
) -> None:
    openai_server.fail(("status", 400, "response_format json_schema not supported"))
    openai_server.script(EXTRACTION, EXTRACTION)
    result, usage = await client.structured(MESSAGES, Extraction)
    assert [f.text for f in result.facts] == EXTRACTION["facts"] and usage.calls == 1
    rejected, accepted = openai_server.requests
    assert rejected.body["response_format"]["type"] == "json_schema"
    assert accepted.body["response_format"] == {"type": "json_object"}
    system = accepted.messages[0]["content"]
    assert system.startswith("Extract.") and "JSON schema" in system and '"relations"' in system
    assert client.mode == "json_object"
    await client.structured(MESSAGES, Extraction)  # remembered: no second rejection
    assert len(openai_server.requests) == 3
    assert openai_server.requests[2].body["response_format"] == {"type": "json_object"}


@pytest.mark.asyncio
async def test_each_rejection_steps_down_one_mode(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("status", 400, "json_schema unsupported"), ("status", 400, "response_format unsupported"))
    await client.structured(MESSAGES, Extraction)
    assert client.mode == "tools" and len(openai_server.requests) == 3
    asked = openai_server.requests[-1].body
    assert "response_format" not in asked
    assert asked["tools"][0]["function"]["name"] == "Extraction"
    assert asked["tool_choice"] == {"type": "function", "function": {"name": "Extraction"}}
    openai_server.fail(("status", 400, "tool_choice is not supported"))
    await client.structured(MESSAGES, Extraction)
    last = openai_server.requests[-1]
    assert "response_format" not in last.body and "tools" not in last.body
    assert "JSON schema" in last.messages[0]["content"]
    assert client.mode == "prompt" and len(openai_server.requests) == 5
    openai_server.fail(("status", 400, "response_format again"))
    with pytest.raises(LLMError):  # nothing below prompt
        await client.structured(MESSAGES, Extraction)


@pytest.mark.asyncio
async def test_tools_mode_sends_one_forced_function_and_reads_its_arguments(
    openai_server: ScriptedOpenAIServer,
) -> None:
    client = make_client(openai_server, structured_output="tools")
    openai_server.act_as(Persona())  # answers a tools request with a tool call
    openai_server.script(EXTRACTION)
    result, usage = await client.structured(MESSAGES, Extraction)
    await client.aclose()
    assert result == Extraction.model_validate(EXTRACTION) and usage.calls == 1
    [request] = openai_server.requests
    [tool] = request.body["tools"]
    assert tool["type"] == "function" and tool["function"]["parameters"] == strict_json_schema(Extraction)
    assert request.body["tool_choice"] == {"type": "function", "function": {"name": "Extraction"}}
    assert request.messages == MESSAGES and "response_format" not in request.body


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["json_schema", "json_object", "tools", "prompt"])
async def test_a_fixed_mode_never_steps_down(mode: str, openai_server: ScriptedOpenAIServer) -> None:
    client = make_client(openai_server, structured_output=mode)
    openai_server.fail(("raw", "no json here"), ("raw", "still none"))
    with pytest.raises(LLMError, match="still invalid"):
        await client.structured(MESSAGES, Extraction)
    openai_server.fail(("status", 400, "response_format json_schema tools unsupported"))
    with pytest.raises(LLMError) as info:
        await client.structured(MESSAGES, Extraction)
    await client.aclose()
    assert info.value.status == 400 and client.mode == mode
    assert {requested_mode(r.body) for r in openai_server.requests} == {mode}
    assert client.usage.calls == 2


@pytest.mark.asyncio
async def test_truncated_answer_is_reasked_shorter_then_fails(
    client: LLMClient, openai_server: ScriptedOpenAIServer
) -> None:
    openai_server.act_as(Truncates(keep=25))
    openai_server.script(EXTRACTION, EXTRACTION)
    with pytest.raises(LLMError, match="cut off at the token limit"):
        await client.structured(MESSAGES, Extraction)
    _, second = openai_server.requests
    assert second.messages[: len(MESSAGES)] == MESSAGES and len(second.messages) == len(MESSAGES) + 1
    assert "cut off" in second.messages[-1]["content"] and "shorter" in second.messages[-1]["content"]
    assert client.mode == "json_schema" and client.usage.calls == 2  # a cut is not a rejection


@pytest.mark.asyncio
async def test_truncated_but_complete_json_is_accepted(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.act_as(Truncates(keep=10_000))
    openai_server.script(EXTRACTION)
    result, _ = await client.structured(MESSAGES, Extraction)
    assert [f.text for f in result.facts] == EXTRACTION["facts"]


@pytest.mark.asyncio
async def test_tool_arguments_encoded_twice_are_read(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.act_as(PERSONAS["tool-calls-instead"]())
    openai_server.script(json.dumps(json.dumps(EXTRACTION)))
    result, _ = await client.structured(MESSAGES, Extraction)
    assert result == Extraction.model_validate(EXTRACTION) and len(openai_server.requests) == 1


@pytest.mark.asyncio
async def test_empty_choice_list_is_reasked(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.act_as(EmptyChoices())
    with pytest.raises(LLMError, match="empty"):
        await client.structured(MESSAGES, Extraction)
    assert len(openai_server.requests) == 2 and client.usage.calls == 2
    assert openai_server.requests[1].messages[-1]["role"] == "user"  # no empty assistant turn echoed
    assert client.usage.prompt_tokens == sum(len(r.text.split()) for r in openai_server.requests)


@pytest.mark.asyncio
@pytest.mark.parametrize("persona", ["code-fences", "prose", "trailing-commas", "python-dict", "tool-calls-instead"])
async def test_repairable_answers_cost_one_call(persona: str, client: LLMClient,
                                                openai_server: ScriptedOpenAIServer) -> None:
    openai_server.act_as(PERSONAS[persona]())
    reconciliation = {"decisions": [{"fact": 0, "event": "UPDATE", "target": 1, "text": "it's \"new\""},
                                    {"fact": 1, "event": "NONE", "target": None, "text": None}],
                      "contradicted_relations": [2]}
    openai_server.script(EXTRACTION, reconciliation)
    assert (await client.structured(MESSAGES, Extraction))[0] == Extraction.model_validate(EXTRACTION)
    assert (await client.structured(MESSAGES, Reconciliation))[0] == Reconciliation.model_validate(reconciliation)
    assert len(openai_server.requests) == 2 and client.usage.calls == 2 and client.mode == "json_schema"


@pytest.mark.asyncio
async def test_other_400s_do_not_trigger_the_fallback(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("status", 400, "context length exceeded"))
    with pytest.raises(LLMError):
        await client.structured(MESSAGES, Extraction)
    assert client.mode == "json_schema" and len(openai_server.requests) == 1


@pytest.mark.asyncio
async def test_concurrent_calls_share_the_client(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.fail(("status", 503), ("drop",))
    results = await asyncio.gather(*(client.structured(MESSAGES, Extraction) for _ in range(8)))
    assert len(results) == 8 and client.usage.calls == 8
    assert len(openai_server.requests) == 10


# -- construction ------------------------------------------------------------------------


def test_from_config() -> None:
    assert LLMClient.from_config(LLMConfig(provider="none")) is None
    with pytest.raises(ConfigError, match="LLM_API_KEY"):
        LLMClient.from_config(LLMConfig(provider="openai"))
    local = LLMClient.from_config(LLMConfig(provider="openai", base_url="http://127.0.0.1:1/v1"))
    assert local is not None and local.model == "gpt-4o-mini"


# -- prompts -------------------------------------------------------------------------------


def test_extraction_messages_attribute_the_user_and_carry_the_date() -> None:
    conversation = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "I moved to Berlin."},
        {"role": "assistant", "content": "Nice!"},
        {"role": "user", "content": "  "},
    ]
    system, user = extraction_messages(conversation, "alice", "2026-11-30", None)
    assert system == {"role": "system", "content": EXTRACTION_INSTRUCTION}
    assert "UPPER_SNAKE_CASE" in system["content"]
    assert "2026-11-30" in user["content"] and "alice" in user["content"]
    assert "user (alice): I moved to Berlin." in user["content"]
    assert "assistant: Nice!" in user["content"]
    assert "You are helpful." not in user["content"]


def test_custom_prompts_replace_the_instruction_only() -> None:
    prompts = PromptConfig(extraction="Only food facts.", reconciliation="Be careful.")
    system, user = extraction_messages(
        [{"role": "user", "content": "I like tea"}], "bob", "2026-01-01", prompts.extraction
    )
    assert system["content"] == "Only food facts." and "I like tea" in user["content"]
    system, _ = reconciliation_messages(["x"], [], [], prompts.reconciliation)
    assert system["content"] == "Be careful."


def test_reconciliation_messages_show_small_ids() -> None:
    _, user = reconciliation_messages(
        ["alice lives in Berlin"],
        [(0, "alice lives in Paris"), (1, "alice likes tea")],
        [(0, "alice", "LIVES_IN", "Paris")],
        None,
    )
    text = user["content"]
    assert "0: alice lives in Berlin" in text
    assert "1: alice likes tea" in text
    assert "0: alice -[LIVES_IN]-> Paris" in text
    _, empty = reconciliation_messages(["x"], [], [], None)
    assert "(none)" in empty["content"]


@pytest.mark.asyncio
async def test_a_lone_surrogate_is_not_text(client: LLMClient, openai_server: ScriptedOpenAIServer) -> None:
    # json.loads accepts the escape "\ud800"; no Unicode text holds it, so the answer is re-asked, then refused.
    answer = {"facts": [], "entities": [{"name": "\ud800", "type": "person"}], "relations": []}
    openai_server.script(answer, answer)
    with pytest.raises(LLMError, match="lone UTF-16 surrogate"):
        await client.structured(MESSAGES, Extraction)
    assert len(openai_server.requests) == 2
