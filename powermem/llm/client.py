"""The LLM client: structured JSON output from any OpenAI-compatible chat endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat
from pydantic import BaseModel, ValidationError

from powermem.config import LLMConfig
from powermem.errors import ConfigError, LLMError
from powermem.llm.retry import RetryPolicy, call_with_retry, retry_policy
from powermem.llm.schemas import response_format, strict_json_schema
from powermem.redact import reveal

__all__ = ["DEFAULT_BASE_URL", "LLMClient", "Usage"]

logger = logging.getLogger("powermem.llm")

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]
# Ways to ask for JSON, best first. A server that rejects one gets the next for the rest of
# this client's life: strict schema, then JSON mode, then the schema in the prompt only.
Mode = Literal["json_schema", "json_object", "prompt"]
_MODES: tuple[Mode, ...] = ("json_schema", "json_object", "prompt")

# Passed explicitly so the SDK never reads OPENAI_BASE_URL itself: config is the only
# reader of the environment.
DEFAULT_BASE_URL = "https://api.openai.com/v1"


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


class LLMClient:
    """Asks an OpenAI-compatible chat model for output that validates against a pydantic model."""

    def __init__(self, config: LLMConfig, *, retry: RetryPolicy | None = None) -> None:
        self._config = config
        self._client = openai.AsyncOpenAI(
            api_key=_api_key(config),
            base_url=config.base_url or DEFAULT_BASE_URL,
            timeout=config.timeout,
            max_retries=0,  # our retry policy is the only one, so attempts are counted once
        )
        self._policy = retry or retry_policy(config.max_attempts, config.max_retry_seconds, LLMError, initial_wait=config.retry_initial_wait)
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
        return self._config.model

    @property
    def mode(self) -> Mode:
        """How JSON is requested now (it degrades when the server rejects a mode)."""
        return _MODES[self._mode_index]

    async def structured(self, messages: Sequence[Message], schema: type[T]) -> tuple[T, Usage]:
        """One answer validated as ``schema``, with at most one corrective retry.

        Raises ``LLMError`` when the provider fails after retries or the output is still
        invalid after the corrective retry. Usage counts every completed request.
        """
        usage = Usage()
        try:
            return await self._structured(list(messages), schema, usage), usage
        finally:
            self.usage = self.usage + usage

    async def _structured(self, messages: list[Message], schema: type[T], usage: Usage) -> T:
        content = await self._complete(messages, schema, usage)
        try:
            return _parse(content, schema)
        except _InvalidOutput as exc:
            problem = str(exc)
        logger.warning("LLM output for %s was invalid (%s); asking once more", schema.__name__, problem)
        correction = [*messages, {"role": "assistant", "content": content}, _correction_message(problem)]
        content = await self._complete(correction, schema, usage)
        try:
            return _parse(content, schema)
        except _InvalidOutput as exc:
            raise LLMError(
                f"LLM output for {schema.__name__} is still invalid after a corrective retry: {exc}"
            ) from exc

    async def _complete(self, messages: list[Message], schema: type[BaseModel], usage: Usage) -> str:
        while True:
            mode = self.mode
            try:
                completion = await self._request(messages, schema, mode)
                break
            except LLMError as exc:
                if not _rejects_response_format(exc):
                    raise
                if mode == self.mode:  # else a concurrent call already moved on: just retry
                    if mode == _MODES[-1]:
                        raise
                    self._mode_index += 1
                    logger.warning("LLM server rejected response_format %s; using %s from now on", mode, self.mode)
        usage.record(completion)
        return _content(completion)

    async def _request(self, messages: list[Message], schema: type[BaseModel], mode: Mode) -> ChatCompletion:
        sent = messages if mode == "json_schema" else _with_schema_hint(messages, schema)
        fmt: ResponseFormat | openai.Omit = openai.omit
        if mode == "json_schema":
            fmt = cast(ResponseFormat, response_format(schema))
        elif mode == "json_object":
            fmt = {"type": "json_object"}

        async def create() -> ChatCompletion:
            return await self._client.chat.completions.create(
                model=self._config.model,
                messages=cast(list[ChatCompletionMessageParam], sent),
                temperature=self._config.temperature,
                response_format=fmt,
            )

        return await call_with_retry(create, policy=self._policy)

    async def aclose(self) -> None:
        await self._client.close()


def _api_key(config: LLMConfig) -> str:
    return resolve_api_key(reveal(config.api_key), config.base_url, "LLM_API_KEY (or OPENAI_API_KEY)", "LLM_BASE_URL",
                           "LLM")


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


def _rejects_response_format(exc: LLMError) -> bool:
    # Servers without structured outputs answer 400 (or 422 from request validation)
    # naming the parameter; any other client error is a real failure.
    if exc.status not in (400, 422):
        return False
    text = f"{exc} {exc.__cause__}".lower()
    return "response_format" in text or "json_schema" in text


def _with_schema_hint(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    compact = json.dumps(strict_json_schema(schema), separators=(",", ":"))
    hint = f"\n\nRespond with a single JSON object and nothing else. It must follow this JSON schema:\n{compact}"
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": messages[0].get("content", "") + hint}
        return [first, *messages[1:]]
    return [{"role": "system", "content": hint.strip()}, *messages]


def _content(completion: ChatCompletion) -> str:
    if not completion.choices:
        return ""
    return completion.choices[0].message.content or ""


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


def _parse(content: str, schema: type[T]) -> T:
    text = content.strip()
    if "</think>" in text:  # reasoning models may prefix their answer with a thought block
        text = text.rsplit("</think>", 1)[1].strip()
    text = _unfenced(text)
    if not text:
        raise _InvalidOutput("the answer was empty")
    try:
        return schema.model_validate_json(text)
    except ValidationError as exc:
        raise _InvalidOutput(_describe_validation(exc)) from exc


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def _correction_message(problem: str) -> Message:
    return {
        "role": "user",
        "content": (
            f"Your previous answer could not be used: {problem}. "
            "Reply again with only a JSON object that follows the required schema."
        ),
    }
