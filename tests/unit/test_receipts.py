"""The receipt context: one per add, kept apart across concurrent tasks, shared with sub-tasks."""

from __future__ import annotations

import asyncio

from powermem import receipts


async def test_concurrent_tasks_fill_their_own_receipts() -> None:
    gate = asyncio.Event()

    async def add(calls: int) -> receipts.Receipt:
        with receipts.opened() as receipt:
            for _ in range(calls):
                await gate.wait()  # every task is inside its receipt before any records
                receipts.record_llm(1, 10, 2)
                with receipts.timed("store"):
                    await asyncio.sleep(0)
        return receipt

    tasks = [asyncio.ensure_future(add(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    gate.set()
    done = await asyncio.gather(*tasks)
    assert [(r.llm_calls, r.prompt_tokens, r.completion_tokens) for r in done] == [(1, 10, 2), (2, 20, 4), (3, 30, 6)]
    assert all(r.store_ms > 0 and r.embed_ms == 0 for r in done)
    assert receipts.current() is None


async def test_tasks_started_inside_an_add_add_to_its_receipt() -> None:
    async def embed() -> None:
        with receipts.timed("embed"):
            await asyncio.sleep(0)

    with receipts.opened() as receipt:
        await asyncio.gather(embed(), embed())
    assert receipt.embed_ms > 0


def test_nothing_is_recorded_without_an_open_receipt_and_nesting_restores() -> None:
    receipts.record_llm(1, 1, 1)
    with receipts.timed("llm"):
        pass
    with receipts.opened() as outer:
        with receipts.opened() as inner:
            receipts.record_llm(1, 5, 1)
        assert receipts.current() is outer
    assert (outer.llm_calls, inner.llm_calls) == (0, 1)
    assert inner.as_dict() == {"llm_calls": 1, "prompt_tokens": 5, "completion_tokens": 1,
                               "llm_ms": 0.0, "embed_ms": 0.0, "store_ms": 0.0, "invalidation_candidates": 0,
                               "extract_ms": 0.0}
