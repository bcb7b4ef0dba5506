"""Retrying Neo4j work: reads on the errors the driver calls retryable, writes on lock conflicts.

The driver retries managed transactions itself, but never auto-commit queries (it cannot know
they are safe to repeat). Reads are, so the store retries them here; writes that commit their
own batches (``CALL ... IN TRANSACTIONS``) and managed writes get a longer budget for lock
conflicts, which always clear under contention.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from neo4j import exceptions as neo

__all__ = [
    "FIRST_LOCK_RETRY_DELAY", "FIRST_RETRY_DELAY", "LOCK_RETRY_SECONDS", "MAX_RETRY_SECONDS",
    "lock_conflict", "retryable_read", "retrying",
]

T = TypeVar("T")
_log = logging.getLogger("powermem.stores.neo4j.store")  # the logger these warnings always had

# A managed transaction retries transient errors (deadlocks included) for this long, then
# fails: long enough to ride out lock contention, short enough that a dead server fails fast.
MAX_RETRY_SECONDS = 5.0
FIRST_RETRY_DELAY = 0.1  # the driver's initial_retry_delay too (store.py)
LOCK_RETRY_SECONDS = 60.0
FIRST_LOCK_RETRY_DELAY = 0.05
_LOCK_CODES = frozenset(
    {
        "Neo.TransientError.Transaction.DeadlockDetected",
        "Neo.TransientError.Transaction.LockAcquisitionTimeout",
        "Neo.TransientError.Transaction.LockClientStopped",
    }
)


async def retrying(
    attempt: Callable[[], Awaitable[T]], retryable: Callable[[Exception], bool], seconds: float, first_delay: float,
    *, log: bool,
) -> T:
    """``attempt()``, repeated after a doubling, jittered wait (at most 1 s) while it fails with a
    ``retryable`` error and the next wait still ends within ``seconds`` of the first try."""
    deadline = time.monotonic() + seconds
    delay = first_delay
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not retryable(exc) or time.monotonic() + delay > deadline:
                raise
            if log:
                _log.warning("Neo4j read failed (%s); retrying in %.2f s", exc, delay)
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 1.0)


def retryable_read(exc: Exception) -> bool:
    return isinstance(exc, (neo.Neo4jError, neo.DriverError)) and exc.is_retryable()


def lock_conflict(exc: Exception) -> bool:
    return isinstance(exc, neo.TransientError) and exc.code in _LOCK_CODES
