"""The one retry policy every LLM and embedding call goes through.

Retried: HTTP 408, 429 (honouring ``Retry-After``), 5xx, timeouts and connection errors.
Never retried: every other 4xx (400, 401, 403, 404, 422, ...): repeating them cannot help.
When the policy gives up, the openai exception is mapped to ``LLMError`` or
``EmbeddingError`` carrying the provider's HTTP status and chained with ``from``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.stop import stop_after_attempt, stop_before_delay
from tenacity.wait import wait_base

from powermem.errors import EmbeddingError, LLMError

__all__ = ["RetryPolicy", "call_with_retry", "is_retryable", "provider_status", "retry_after_seconds", "retry_policy"]

logger = logging.getLogger("powermem.retry")

T = TypeVar("T")
ProviderErrorCls = type[LLMError] | type[EmbeddingError]

_RETRYABLE_STATUSES = frozenset({408, 429})


def provider_status(exc: BaseException) -> int | None:
    """The HTTP status of an openai error; ``None`` for timeouts and connection errors."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    status = provider_status(exc) if isinstance(exc, openai.APIStatusError) else None
    return status is not None and (status in _RETRYABLE_STATUSES or status >= 500)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's requested wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    return None if value is None else _parse_retry_after(value)


def _parse_retry_after(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _wait_backoff_or_retry_after(wait_base):
    """Exponential backoff with jitter, unless the server said how long to wait."""

    def __init__(self, initial: float, maximum: float, retry_after_cap: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.retry_after_cap = retry_after_cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        requested = retry_after_seconds(exc) if exc is not None else None
        if requested is not None:
            return min(requested, self.retry_after_cap)
        # Equal jitter: never much shorter than the backoff step, yet callers that failed
        # together do not all come back at the same instant.
        step = min(self.maximum, self.initial * 2.0 ** (retry_state.attempt_number - 1))
        return step / 2 + random.uniform(0, step / 2)


@dataclass(frozen=True)
class RetryPolicy:
    """A tenacity controller plus what to raise when it gives up.

    ``retrying`` is a template: every call runs on a copy, because a tenacity controller
    keeps per-run state and concurrent tasks must not share it.
    """

    retrying: AsyncRetrying
    error_cls: ProviderErrorCls
    what: str
    max_attempts: int


def retry_policy(
    max_attempts: int,
    max_seconds: float,
    error_cls: ProviderErrorCls,
    *,
    initial_wait: float = 0.5,
    max_wait: float = 8.0,
    retry_after_cap: float = 60.0,
    what: str | None = None,
) -> RetryPolicy:
    """Build the policy: at most ``max_attempts`` tries, never sleeping past ``max_seconds``."""
    label = what or ("LLM call" if error_cls is LLMError else "embedding call")
    retrying = AsyncRetrying(
        # stop_before_delay: give up rather than start a wait that would end past the budget.
        stop=stop_after_attempt(max_attempts) | stop_before_delay(max_seconds),
        wait=_wait_backoff_or_retry_after(initial_wait, max_wait, retry_after_cap),
        retry=retry_if_exception(is_retryable),
        before_sleep=_log_wait(label, max_attempts),
        reraise=True,
    )
    return RetryPolicy(retrying=retrying, error_cls=error_cls, what=label, max_attempts=max_attempts)


def _log_wait(label: str, max_attempts: int) -> Callable[[RetryCallState], None]:
    def log(retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        logger.warning(
            "%s failed (%s); retrying in %.2f s (attempt %d/%d)",
            label,
            _describe(exc),
            retry_state.upcoming_sleep,
            retry_state.attempt_number,
            max_attempts,
        )

    return log


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    status = provider_status(exc)
    kind = type(exc).__name__
    return f"status {status}, {kind}" if status is not None else kind


async def call_with_retry(fn: Callable[[], Awaitable[T]], *, policy: RetryPolicy) -> T:
    """Await ``fn()`` under ``policy``; openai failures become ``policy.error_cls``."""
    retrying = policy.retrying.copy()
    try:
        return await retrying(fn)
    except openai.OpenAIError as exc:
        attempts = retrying.statistics.get("attempt_number", 1)
        raise _provider_error(policy, exc, attempts) from exc


def _provider_error(policy: RetryPolicy, exc: openai.OpenAIError, attempts: int) -> LLMError | EmbeddingError:
    status = provider_status(exc)
    detail = getattr(exc, "message", None) or str(exc)
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    reason = f"status {status}" if status is not None else type(exc).__name__
    return policy.error_cls(f"{policy.what} failed {tries} ({reason}): {detail}", status=status)
