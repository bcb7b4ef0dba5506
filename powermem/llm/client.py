"""The LLM client: structured JSON output from any OpenAI-compatible chat endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageParam,
    ChatCompletionNamedToolChoiceParam,
    ChatCompletionToolParam,
)
from openai.types.chat.completion_create_params import ResponseFormat
from pydantic import BaseModel, ValidationError

from powermem.config import LLMConfig
from powermem.errors import ConfigError, LLMError
from powermem.llm.presets import OPENAI_BASE_URL, Settings, resolve
from powermem.llm.repair import NoJSONObject, parse_json_object
from powermem.llm.retry import RetryPolicy, call_with_retry, retry_policy
from powermem.llm.schemas import response_format, strict_json_schema, tool_choice, tool_definition

__all__ = ["DEFAULT_BASE_URL", "LLMClient", "Mode", "Usage"]

logger = logging.getLogger("powermem.llm")

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]
# Ways to ask for JSON, best first. With structured_output "auto", a server that rejects one
# (a 400 naming it) or ignores it (prose where JSON was forced) gets the next for the rest of
# this client's life: strict schema, JSON mode, a forced tool call, the schema in the prompt.
Mode = Literal["json_schema", "json_object", "tools", "prompt"]
_MODES: tuple[Mode, ...] = ("json_schema", "json_object", "tools", "prompt")
# Words of a 400 that reject the way JSON was asked for rather than the request itself.
_MODE_WORDS = ("response_format", "json_schema", "json_object", "tool_choice", "tools")

# Passed explicitly so the SDK never reads OPENAI_BASE_URL itself: config is the only
# reader of the environment.
DEFAULT_BASE_URL = OPENAI_BASE_URL


@dataclass
class Usage:
    """What LLM calls cost: completed requests and the tokens the provider reported."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def record(self, completion: ChatCompletion) -> None:
        self.calls += 1
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens or 0
            self.completion_tokens += completion.usage.completion_tokens or 0


class _InvalidOutput(Exception):
    """The model answered, but not with JSON that validates against the schema."""

    def __init__(self, problem: str, *, ignored_mode: bool = False) -> None:
        super().__init__(problem)
        self.ignored_mode = ignored_mode  # no JSON at all, although the mode forces JSON


@dataclass(frozen=True)
class _Answer:
    text: str
    mode: Mode
    truncated: bool  # finish_reason "length": cut at the token limit


class LLMClient:
    """Asks an OpenAI-compatible chat model for output that validates against a pydantic model."""

    def __init__(self, config: LLMConfig, *, retry: RetryPolicy | None = None) -> None:
        self._config = config
        self._settings = resolve(config)
        self._client = _sdk_client(self._settings, config.timeout)
        self._policy = retry or retry_policy(config.max_attempts, config.max_retry_seconds, LLMError, initial_wait=config.retry_initial_wait)
        chosen = self._settings.structured_output
        self._modes: tuple[Mode, ...] = _MODES if chosen == "auto" else (chosen,)
        self._mode_index = 0
        self.usage = Usage()  # cumulative over this client's life

    @classmethod
    def from_config(cls, config: LLMConfig, *, retry: RetryPolicy | None = None) -> LLMClient | None:
        """The client for ``config``, or ``None`` when no LLM is configured."""
        if config.provider == "none":
            return None
        return cls(config, retry=retry)

    @property
    def model(self) -> str:
        return self._settings.model

    @property
    def settings(self) -> Settings:
        """The configuration with the provider preset applied."""
        return self._settings

    @property
    def mode(self) -> Mode:
        """How JSON is requested now (with ``auto`` it steps down when the server rejects a mode)."""
        return self._modes[self._mode_index]

    async def structured(self, messages: Sequence[Message], schema: type[T], *,
                         usage: Usage | None = None) -> tuple[T, Usage]:
        """One answer validated as ``schema``: repaired if need be, with at most one re-ask.

        Raises ``LLMError`` when the provider fails after retries or the output is still
        invalid after the re-ask. Usage counts every completed request; pass ``usage`` to
        read it when the call raises too (a failed add still reports what it spent).
        """
        usage = Usage() if usage is None else usage
        try:
            return await self._structured(list(messages), schema, usage), usage
        finally:
            self.usage = self.usage + usage

    async def _structured(self, messages: list[Message], schema: type[T], usage: Usage) -> T:
        answer = await self._complete(messages, schema, usage)
        try:
            return _parse(answer, schema)
        except _InvalidOutput as exc:
            problem = exc
        if problem.ignored_mode:
            self._step_down(answer.mode, "the reply ignored it")
        logger.warning("LLM output for %s was invalid (%s); asking once more", schema.__name__, problem)
        answer = await self._complete(_reask(messages, answer, str(problem)), schema, usage)
        try:
            return _parse(answer, schema)
        except _InvalidOutput as exc:
            raise LLMError(f"LLM output for {schema.__name__} is still invalid after a re-ask: {exc}") from exc

    async def _complete(self, messages: list[Message], schema: type[BaseModel], usage: Usage) -> _Answer:
        while True:
            mode = self.mode
            try:
                completion = await self._request(messages, schema, mode)
                break
            except LLMError as exc:
                if not _rejects_mode(exc) or not self._step_down(mode, f"the server rejected it ({exc.status})"):
                    raise
        usage.record(completion)
        return _answer(completion, mode)

    def _step_down(self, mode: Mode, why: str) -> bool:
        """Move past ``mode``; False when there is nothing after it (or the mode is fixed)."""
        if mode != self.mode:
            return True  # a concurrent call already moved on
        if self._mode_index + 1 >= len(self._modes):
            return False
        self._mode_index += 1
        logger.warning("LLM structured output %s: %s; using %s from now on", mode, why, self.mode)
        return True

    async def _request(self, messages: list[Message], schema: type[BaseModel], mode: Mode) -> ChatCompletion:
        sent = messages if mode in ("json_schema", "tools") else _with_schema_hint(messages, schema)
        fmt: ResponseFormat | openai.Omit = openai.omit
        tools: list[ChatCompletionToolParam] | openai.Omit = openai.omit
        choice: ChatCompletionNamedToolChoiceParam | openai.Omit = openai.omit
        if mode == "json_schema":
            fmt = cast(ResponseFormat, response_format(schema))
        elif mode == "json_object":
            fmt = {"type": "json_object"}
        elif mode == "tools":
            tools = [cast(ChatCompletionToolParam, tool_definition(schema))]
            choice = cast(ChatCompletionNamedToolChoiceParam, tool_choice(schema))

        async def create() -> ChatCompletion:
            return await self._client.chat.completions.create(
                model=self._settings.model,
                messages=cast(list[ChatCompletionMessageParam], sent),
                temperature=self._config.temperature,
                response_format=fmt,
                tools=tools,
                tool_choice=choice,
            )

        return await call_with_retry(create, policy=self._policy)

    async def aclose(self) -> None:
        await self._client.close()


def _sdk_client(settings: Settings, timeout: float) -> openai.AsyncOpenAI:
    # max_retries=0: our retry policy is the only one, so attempts are counted once.
    if settings.provider == "azure":
        return openai.AsyncAzureOpenAI(
            api_key=settings.api_key,
            api_version=settings.api_version,
            azure_endpoint=settings.base_url,
            azure_deployment=settings.deployment,
            timeout=timeout,
            max_retries=0,
        )
    # base_url passed explicitly so the SDK never reads OPENAI_BASE_URL itself: config is
    # the only reader of the environment.
    return openai.AsyncOpenAI(api_key=settings.api_key, base_url=settings.base_url, timeout=timeout, max_retries=0)


def resolve_api_key(api_key: str | None, base_url: str | None, key_variable: str, url_variable: str,
                    what: str) -> str:
    """The key to send; local OpenAI-compatible servers (a base_url) accept any key."""
    if api_key:
        return api_key
    if base_url:
        return "not-needed"
    raise ConfigError(
        f"{key_variable} is required for the openai {what} provider; "
        f"set it, or set {url_variable} to a server that needs no key"
    )


def _rejects_mode(exc: LLMError) -> bool:
    # Servers without structured outputs or tools answer 400 (or 422 from request
    # validation) naming the parameter; any other client error is a real failure.
    if exc.status not in (400, 422):
        return False
    text = f"{exc} {exc.__cause__}".lower()
    return any(word in text for word in _MODE_WORDS)


def _with_schema_hint(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    compact = json.dumps(strict_json_schema(schema), separators=(",", ":"))
    hint = f"\n\nRespond with a single JSON object and nothing else. It must follow this JSON schema:\n{compact}"
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": messages[0].get("content", "") + hint}
        return [first, *messages[1:]]
    return [{"role": "system", "content": hint.strip()}, *messages]


def _answer(completion: ChatCompletion, mode: Mode) -> _Answer:
    """The answer's text: the message content, or the first tool call's arguments.

    Some servers answer with a tool call although none was asked for; in tools mode the
    call is the answer even when the model also wrote some content.
    """
    if not completion.choices:
        return _Answer("", mode, truncated=False)
    choice = completion.choices[0]
    content = choice.message.content or ""
    arguments = next(
        (f.arguments for call in choice.message.tool_calls or () if (f := getattr(call, "function", None)) is not None),
        None,
    )
    if arguments is not None and (mode == "tools" or not content.strip()):
        content = arguments
    return _Answer(content, mode, truncated=choice.finish_reason == "length")


def _unfenced(text: str) -> str:
    """The body of a ```/```json fence around the whole (stripped) answer, else the answer.

    String operations, not a regex: the lazy body between two blank runs that this replaces
    took cubic time on a run of blanks (2,000 spaces: 7 s), and the answer may echo user text.
    """
    if len(text) < 6 or not text.startswith("```") or not text.endswith("```"):
        return text
    body = text[3:-3]
    if body[:4].casefold() == "json":
        body = body[4:]
    return body.strip()


def _parse(answer: _Answer, schema: type[T]) -> T:
    try:
        return _validated(answer, schema)
    except _InvalidOutput as exc:
        if answer.truncated:  # whatever else is wrong, the cut is the cause
            raise _InvalidOutput(f"the answer was cut off at the token limit ({exc})") from exc
        raise


def _validated(answer: _Answer, schema: type[T]) -> T:
    text = answer.text.strip()
    if "</think>" in text:  # reasoning models may prefix their answer with a thought block
        text = text.rsplit("</think>", 1)[1].strip()
    text = _unfenced(text)
    if not text:
        raise _InvalidOutput("the answer was empty")
    try:
        value = parse_json_object(text)
        if isinstance(value, str) and value.lstrip().startswith("{"):  # JSON encoded twice (seen in tool calls)
            value = parse_json_object(value)
    except NoJSONObject as exc:
        raise _InvalidOutput(str(exc), ignored_mode=answer.mode != "prompt") from exc
    except ValueError as exc:
        raise _InvalidOutput(str(exc)) from exc
    try:
        # json.loads takes "\ud800" escapes that no Unicode text holds; strict JSON parsers refuse them.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _InvalidOutput("the answer holds a lone UTF-16 surrogate, which is not text") from exc
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        raise _InvalidOutput(_describe_validation(exc)) from exc


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def _reask(messages: list[Message], answer: _Answer, problem: str) -> list[Message]:
    """The conversation again, with the bad answer (unless empty or cut off) and what was wrong."""
    if answer.truncated:
        ask = (f"Your previous answer could not be used: {problem}. Reply again with only the JSON object, "
               "shorter: fewer and shorter entries.")
    else:
        ask = (f"Your previous answer could not be used: {problem}. "
               "Reply again with only a JSON object that follows the required schema.")
    echo: list[Message] = [] if answer.truncated or not answer.text.strip() else [
        {"role": "assistant", "content": answer.text}
    ]
    return [*messages, *echo, {"role": "user", "content": ask}]
