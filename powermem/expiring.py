"""A small map whose entries expire: the per-tenant facts search reuses for a while.

Search reuses a few slowly changing counts (a tenant's size, its hub names, how many memories
mention a common name or hold a common word) instead of recounting them on every call. Each
entry is trusted for ``ttl`` seconds; past ``entries`` the least recently written goes first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Expiring(Generic[K, V]):
    def __init__(self, ttl: float, entries: int) -> None:
        self._ttl = ttl
        self._entries = entries
        self._values: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value written for ``key`` within the last ``ttl`` seconds, else None."""
        found = self._values.get(key)
        if found is None or time.monotonic() - found[0] >= self._ttl:
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        self._values[key] = (time.monotonic(), value)
        self._values.move_to_end(key)
        if len(self._values) > self._entries:
            self._values.popitem(last=False)

    def clear(self) -> None:
        self._values.clear()
