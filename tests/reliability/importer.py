"""An idempotent bulk import used by the fault tests, also runnable as a killable process.

Items are imported in batches: one ``add`` (one transaction) of ``BATCH`` messages per
batch, every memory of the batch tagged with ``metadata.import_key``. A re-run first asks
which import keys are already stored (``get_all`` with an ``in`` filter) and skips those
batches, so it can be repeated after any crash without duplicating anything.

    python -m tests.reliability.importer '<AsyncMemory config as JSON>' <batches> [<user>]

prints ``batch <n>`` after each committed batch (flushed) and then takes a credit from stdin
(tests/support/paced.py), so that a parent can kill it after a given number of batches, while
it writes the next ones; with stdin at end of file (``</dev/null``) it runs free.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from powermem import AsyncMemory
from tests.support.paced import take_credit

BATCH = 5
USER = "importer"


def batch_key(batch: int) -> str:
    return f"batch-{batch:05d}"


def item_text(batch: int, item: int) -> str:
    # Named entities the offline extractor links, so the import writes graph data too.
    return f"item {batch}.{item}: yesterday Alice met Bob{item} at Acme in Berlin, code zq{batch}x{item}"


def expected_items(batches: int) -> dict[str, list[str]]:
    return {batch_key(b): [item_text(b, i) for i in range(BATCH)] for b in range(batches)}


async def stored_keys(m: AsyncMemory, keys: list[str], user: str = USER) -> set[str]:
    listed = await m.get_all(user_id=user, filters={"import_key": {"in": keys}}, limit=10 * BATCH * len(keys))
    return {r["metadata"]["import_key"] for r in listed["results"]}


async def import_batches(m: AsyncMemory, batches: range, user: str = USER,
                         on_commit: Callable[[int], None] | None = None, chunk: int = 20) -> int:
    """Import the batches not stored yet; returns how many were written by this call."""
    written = 0
    numbers = list(batches)
    for start in range(0, len(numbers), chunk):
        part = numbers[start : start + chunk]
        have = await stored_keys(m, [batch_key(b) for b in part], user)
        for b in part:
            if batch_key(b) in have:
                continue
            messages = [{"role": "user", "content": item_text(b, i)} for i in range(BATCH)]
            await m.add(messages, user_id=user, metadata={"import_key": batch_key(b), "batch": b}, infer=False)
            written += 1
            if on_commit is not None:
                on_commit(b)
    return written


async def _main(config: dict[str, Any], batches: int, user: str) -> None:
    async with AsyncMemory(config) as m:
        def report(b: int) -> None:
            print(f"batch {b}", flush=True)
            take_credit()

        await import_batches(m, range(batches), user, report)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(_main(json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else USER))
