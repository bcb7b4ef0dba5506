"""Snowflake ids: 64-bit, time-ordered, unique across processes through a worker id."""

from __future__ import annotations

import os
import random
import threading
import time

from powermem.errors import InvalidInputError
from powermem.limits import INT64_MAX

# 2026-01-01T00:00:00Z: a recent epoch leaves room for ~69 years of 41-bit milliseconds.
_EPOCH_MS = 1_767_225_600_000
_WORKER_BITS = 10
_SEQUENCE_BITS = 12
_MAX_SEQUENCE = (1 << _SEQUENCE_BITS) - 1
_MAX_ID = INT64_MAX
_MAX_ID_DIGITS = len(str(_MAX_ID))


class SnowflakeGenerator:
    """Thread-safe generator of positive 63-bit ids that increase over time."""

    def __init__(self, worker_id: int | None = None) -> None:
        if worker_id is None:
            # pid mixed with randomness: two processes on one host rarely share a worker id.
            worker_id = (os.getpid() ^ random.getrandbits(_WORKER_BITS)) & ((1 << _WORKER_BITS) - 1)
        if not 0 <= worker_id < (1 << _WORKER_BITS):
            raise ValueError(f"worker_id must be in [0, {1 << _WORKER_BITS}), got {worker_id}")
        self._worker = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = max(int(time.time() * 1000) - _EPOCH_MS, self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _MAX_SEQUENCE
                if self._sequence == 0:
                    now += 1  # sequence exhausted: borrow the next millisecond instead of sleeping
            else:
                self._sequence = 0
            self._last_ms = now
            return (now << (_WORKER_BITS + _SEQUENCE_BITS)) | (self._worker << _SEQUENCE_BITS) | self._sequence


def parse_id(value: object) -> int:
    """Accept an int or a decimal string within 1..2**63-1; anything else is an InvalidInputError."""
    if isinstance(value, bool):
        raise InvalidInputError("memory_id must be an integer or a decimal string, not bool")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        digits = value.strip().lstrip("0")
        # Checked before int(): Python refuses to convert strings of over 4,300 digits.
        result = int(digits or "0") if len(digits) <= _MAX_ID_DIGITS else _MAX_ID + 1
    else:
        raise InvalidInputError(f"memory_id must be an integer or a decimal string, got {value!r:.100}")
    if not 0 < result <= _MAX_ID:
        raise InvalidInputError("memory_id must be within 1..2**63-1 (the limit: positive, signed 64 bits)")
    return result
