"""What one ``add`` cost: LLM calls and tokens, and the time spent in the LLM, the embedder,
the store and the offline extractor (names and relations read from the text without an LLM).

The add entry point opens a receipt in a context variable; the three call sites that reach
outside the process (the LLM call in ingest/infer.py, ``BatchingEmbedder.embed`` and the
instrumented store) add to whichever receipt is open. Each asyncio task has its own context,
so concurrent adds never mix their receipts; tasks an add starts inherit its receipt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Receipt", "current", "opened", "record_candidates", "record_llm", "timed"]

Kind = Literal["llm", "embed", "store", "extract"]


@dataclass
class Receipt:
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0
    embed_ms: float = 0.0
    store_ms: float = 0.0
    # Existing relations shown to the LLM as ones the new facts may contradict (bounded per add).
    invalidation_candidates: int = 0
    extract_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``usage`` of an add result: counts as ints, times in milliseconds to 0.001."""
        return {
            "llm_calls": self.llm_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "llm_ms": round(self.llm_ms, 3),
            "embed_ms": round(self.embed_ms, 3),
            "store_ms": round(self.store_ms, 3),
            "invalidation_candidates": self.invalidation_candidates,
            "extract_ms": round(self.extract_ms, 3),
        }


_current: ContextVar[Receipt | None] = ContextVar("powermem_receipt", default=None)


def current() -> Receipt | None:
    return _current.get()


@contextmanager
def opened() -> Iterator[Receipt]:
    """A fresh receipt for the block (an add), whatever was open around it."""
    receipt = Receipt()
    token = _current.set(receipt)
    try:
        yield receipt
    finally:
        _current.reset(token)


@contextmanager
def timed(kind: Kind) -> Iterator[None]:
    """Add the block's wall time to the open receipt's ``<kind>_ms`` (failed calls count too)."""
    receipt = _current.get()
    if receipt is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = (time.perf_counter() - start) * 1000.0
        setattr(receipt, f"{kind}_ms", getattr(receipt, f"{kind}_ms") + elapsed)


def record_llm(calls: int, prompt_tokens: int, completion_tokens: int) -> None:
    receipt = _current.get()
    if receipt is not None:
        receipt.llm_calls += calls
        receipt.prompt_tokens += prompt_tokens
        receipt.completion_tokens += completion_tokens


def record_candidates(count: int) -> None:
    receipt = _current.get()
    if receipt is not None:
        receipt.invalidation_candidates += count
