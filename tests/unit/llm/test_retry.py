"""The shared retry policy, driven by fake calls raising real openai exceptions."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time

import httpx2
import openai
import pytest

from powermem.errors import EmbeddingError, LLMError
from powermem.llm.retry import call_with_retry, is_retryable, retry_after_seconds, retry_policy

_REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(code: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx2.Response(code, headers=headers or {}, request=_REQUEST)
    return openai.APIStatusError(f"Error code: {code}", response=response, body=None)


class Flaky:
    """An async callable raising the given exceptions in turn, then returning 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def fast_policy(
    max_attempts: int = 4,
    max_seconds: float = 10.0,
    error_cls: type[LLMError] | type[EmbeddingError] = LLMError,
    **kw: float,
):
    kw.setdefault("initial_wait", 0.01)
    kw.setdefault("max_wait", 0.02)
    return retry_policy(max_attempts, max_seconds, error_cls, **kw)


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses(code: int) -> None:
    assert is_retryable(status_error(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retryable(code: int) -> None:
    assert not is_retryable(status_error(code))


def test_connection_errors_and_timeouts_are_retryable() -> None:
    assert is_retryable(openai.APIConnectionError(request=_REQUEST))
    assert is_retryable(openai.APITimeoutError(request=_REQUEST))
    assert not is_retryable(ValueError("bug"))


def test_retry_after_forms() -> None:
    assert retry_after_seconds(status_error(429, {"Retry-After": "2"})) == 2.0
    assert retry_after_seconds(status_error(429, {"retry-after-ms": "1500"})) == 1.5
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after_seconds(status_error(429, {"Retry-After": future})) or 0) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after_seconds(status_error(503, {"Retry-After": past})) == 0.0
    assert retry_after_seconds(status_error(429, {"Retry-After": "soon"})) is None
    assert retry_after_seconds(status_error(429)) is None


@pytest.mark.asyncio
async def test_transient_failures_are_retried_until_success() -> None:
    fn = Flaky(status_error(500), status_error(503), openai.APITimeoutError(request=_REQUEST))
    assert await call_with_retry(fn, policy=fast_policy()) == "ok"
    assert fn.calls == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
async def test_client_errors_fail_at_once_with_status(code: int) -> None:
    original = status_error(code)
    fn = Flaky(original)
    with pytest.raises(LLMError) as info:
        await call_with_retry(fn, policy=fast_policy())
    assert fn.calls == 1
    assert info.value.status == code
    assert info.value.__cause__ is original


@pytest.mark.asyncio
async def test_exhausted_attempts_raise_the_policy_error_with_last_status() -> None:
    fn = Flaky(*[status_error(503) for _ in range(5)])
    with pytest.raises(EmbeddingError) as info:
        await call_with_retry(fn, policy=fast_policy(3, error_cls=EmbeddingError))
    assert fn.calls == 3
    assert info.value.status == 503
    assert "after 3 attempts" in str(info.value)


@pytest.mark.asyncio
async def test_connection_failure_has_no_status() -> None:
    fn = Flaky(*[openai.APIConnectionError(request=_REQUEST) for _ in range(2)])
    with pytest.raises(LLMError) as info:
        await call_with_retry(fn, policy=fast_policy(2))
    assert info.value.status is None
    assert isinstance(info.value.__cause__, openai.APIConnectionError)


@pytest.mark.asyncio
async def test_retry_after_is_honoured_and_capped() -> None:
    fn = Flaky(status_error(429, {"Retry-After": "0.3"}))
    started = time.monotonic()
    await call_with_retry(fn, policy=fast_policy())
    assert time.monotonic() - started >= 0.28

    fn = Flaky(status_error(429, {"Retry-After": "100"}))
    started = time.monotonic()
    await call_with_retry(fn, policy=fast_policy(retry_after_cap=0.05))
    assert time.monotonic() - started < 10  # not the 100 s asked for; generous for a loaded machine


@pytest.mark.asyncio
async def test_total_time_budget_stops_before_a_long_wait() -> None:
    fn = Flaky(status_error(429, {"Retry-After": "30"}))
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        await call_with_retry(fn, policy=fast_policy(max_seconds=1.0))
    assert time.monotonic() - started < 10  # it did not wait the 30 s; generous for a loaded machine
    assert fn.calls == 1
    assert info.value.status == 429


@pytest.mark.asyncio
async def test_backoff_grows_and_respects_its_ceiling() -> None:
    waits: list[float] = []
    policy = fast_policy(6, initial_wait=0.01, max_wait=0.04)
    original_sleep = policy.retrying.sleep

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await original_sleep(seconds)  # type: ignore[misc]

    policy.retrying.sleep = record
    await call_with_retry(Flaky(*[status_error(500) for _ in range(5)]), policy=policy)
    assert len(waits) == 5
    assert all(0.005 <= w <= 0.04 for w in waits)
    assert waits[0] <= 0.01 and waits[-1] >= 0.02


@pytest.mark.asyncio
async def test_each_wait_logs_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="powermem.retry")
    await call_with_retry(Flaky(status_error(503), status_error(429)), policy=fast_policy(4))
    lines = [r.getMessage() for r in caplog.records if r.name == "powermem.retry"]
    assert len(lines) == 2
    assert "status 503" in lines[0] and "attempt 1/4" in lines[0] and "retrying in" in lines[0]
    assert "status 429" in lines[1] and "attempt 2/4" in lines[1]


@pytest.mark.asyncio
async def test_one_policy_serves_concurrent_calls() -> None:
    policy = fast_policy()
    fns = [Flaky(status_error(500), status_error(502)) for _ in range(10)]
    results = await asyncio.gather(*(call_with_retry(fn, policy=policy) for fn in fns))
    assert results == ["ok"] * 10
    assert [fn.calls for fn in fns] == [3] * 10


@pytest.mark.asyncio
async def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(ValueError):
        await call_with_retry(Flaky(ValueError("bug")), policy=fast_policy())
