"""Helpers of the reliability suite: the tally, fuzz sizes, snapshots and a filter model.

Set ``POWERMEM_RELIABILITY_REPORT=<file.json>`` and every reliability test adds what it
generated, injected and found (lost or leaked data; the goal is zero) to that file when the
session ends; ``benchmarks/reliability_report.py`` reads it.

Sizes: ``POWERMEM_FUZZ_EXAMPLES`` overrides the number of hypothesis examples of each fuzz
test (default: a few hundred cases per store; ``--run-slow``: at least 10,000 per store).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from powermem import AsyncMemory
from powermem.filters import And, Condition, FilterNode, Not, Or

REPORT_ENV = "POWERMEM_RELIABILITY_REPORT"
EXAMPLES_ENV = "POWERMEM_FUZZ_EXAMPLES"
INT64 = (-(1 << 63), (1 << 63) - 1)


class Tally:
    """Counters tests add to; merged into the JSON report file at the end of the session."""

    NAMES = ("cases", "examples", "faults", "lost", "leaked", "injected", "statements", "rejected", "limits")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, Counter[str]] = {name: Counter() for name in self.NAMES}

    def add(self, counter: str, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[counter][key] += n

    def get(self, counter: str, key: str) -> int:
        with self._lock:
            return self.counters[counter][key]

    def as_dict(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {name: dict(c) for name, c in self.counters.items()}

    def write(self) -> None:
        target = os.environ.get(REPORT_ENV)
        if not target:
            return
        path = Path(target)
        old: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        for name, counts in self.as_dict().items():
            section = old.setdefault(name, {})
            for key, n in counts.items():
                section[key] = section.get(key, 0) + n
        path.write_text(json.dumps(old, indent=2, sort_keys=True), encoding="utf-8")
        for counter in self.counters.values():
            counter.clear()


TALLY = Tally()


def fuzz_examples(default: int) -> int:
    """Examples of one fuzz test: ``POWERMEM_FUZZ_EXAMPLES`` when set, else ``default``."""
    value = os.environ.get(EXAMPLES_ENV)
    return max(1, int(value)) if value else default


# -- snapshots ------------------------------------------------------------------------------------


async def snapshot(m: AsyncMemory, **scope: Any) -> dict[str, Any]:
    """Everything a scope holds, as the API shows it: memories, valid relations, histories."""
    listed = await m.get_all(**scope, limit=10_000, sort_by="id", order="asc")
    histories = {r["id"]: await m.history(r["id"]) for r in listed["results"]}
    relations = sorted((r["source"], r["relationship"], r["destination"]) for r in listed["relations"])
    return {"memories": listed["results"], "total": listed["total"], "relations": relations, "history": histories}


async def store_snapshot(m: AsyncMemory) -> dict[str, Any]:
    """The whole store through the API: every memory, with its history, and the stats rows."""
    store, _, _ = await m._ready()
    listed = await m.get_all(limit=10_000, sort_by="id", order="asc")
    histories = {r["id"]: await m.history(r["id"]) for r in listed["results"]}
    stats = sorted((s.user_id or "", s.agent_id or "", s.memories, s.entities, s.relations)
                   for s in await store.stats(_empty_scope()))
    return {"memories": listed["results"], "history": histories, "stats": stats}


def _empty_scope() -> Any:
    from powermem.stores.base import Scope

    return Scope()


# -- the filter language, evaluated in Python over a memory record -----------------------------------


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "num" if INT64[0] <= value <= INT64[1] else None
    if isinstance(value, float):
        return "num" if math.isfinite(value) else None
    if isinstance(value, str):
        return "str"
    return None


def _field(record: dict[str, Any], key: str) -> tuple[bool, Any]:
    if key in ("memory", "created_at", "updated_at"):
        return True, record[key]
    metadata = record["metadata"]
    if key in metadata and _kind(metadata[key]) is not None:
        return True, metadata[key]
    return False, None


def _compare(op: str, have: Any, want: Any) -> bool:
    if _kind(have) != _kind(want):
        return False
    if op == "eq":
        return bool(have == want)
    if _kind(have) == "bool":
        return False
    return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op]


def matches(node: FilterNode | None, record: dict[str, Any]) -> bool:
    """Whether ``record`` passes ``node`` under the semantics powermem.filters documents."""
    if node is None:
        return True
    if isinstance(node, And):
        return all(matches(child, record) for child in node.items)
    if isinstance(node, Or):
        return any(matches(child, record) for child in node.items)
    if isinstance(node, Not):
        return not matches(node.item, record)
    assert isinstance(node, Condition)
    present, value = _field(record, node.key)
    op = node.op
    if op == "exists":
        return present is node.value
    if op == "ne":
        return not (present and _compare("eq", value, node.value))
    if op == "nin":
        return not (present and any(_compare("eq", value, v) for v in node.value))
    if not present:
        return False
    if op == "in":
        return any(_compare("eq", value, v) for v in node.value)
    if op in ("contains", "icontains"):
        if not isinstance(value, str):
            return False
        return node.value.lower() in value.lower() if op == "icontains" else node.value in value
    return _compare(op, value, node.value)
