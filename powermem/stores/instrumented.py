"""A transparent wrapper that times and traces every GraphStore call.

One wrapper instead of timing code in each pipeline: every protocol coroutine called through
it adds its wall time to the open receipt (``store_ms``) and runs inside a
``powermem.store.<op>`` span. Calls a store makes to itself internally do not pass through
it, so nothing is counted twice. Anything else (attributes, helpers) is the inner store's.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from powermem import receipts, tracing
from powermem.stores.base import GraphStore, WritePlan

__all__ = ["InstrumentedStore", "instrument"]

_OPS = frozenset(name for name, value in vars(GraphStore).items() if inspect.iscoroutinefunction(value))


class InstrumentedStore:
    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    @property
    def inner(self) -> GraphStore:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in _OPS:
            return value
        return _wrap(name, value, type(self._inner).__name__)


def instrument(store: GraphStore) -> GraphStore:
    return cast(GraphStore, InstrumentedStore(store))


def _wrap(op: str, method: Callable[..., Awaitable[Any]], provider: str) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        attributes: dict[str, tracing.AttributeValue] = {"powermem.store.op": op, "powermem.store.type": provider}
        if args and isinstance(args[0], WritePlan):
            attributes.update(_plan_counts(args[0]))
        with tracing.span(f"powermem.store.{op}", attributes) as span, receipts.timed("store"):
            result = await method(*args, **kwargs)
            if isinstance(result, list):
                span.set_attribute("powermem.store.rows", len(result))
            return result

    return call


def _plan_counts(plan: WritePlan) -> dict[str, tracing.AttributeValue]:
    return {
        "powermem.plan.creates": len(plan.creates),
        "powermem.plan.updates": len(plan.updates),
        "powermem.plan.deletes": len(plan.deletes),
        "powermem.plan.entities": len(plan.entities),
        "powermem.plan.relations": len(plan.relations),
    }
