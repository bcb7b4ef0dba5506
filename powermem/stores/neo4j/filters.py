"""Compile the filter AST (and scopes) to Cypher predicates with every value as a parameter.

The text produced here is assembled only from constant strings and generated parameter
names (``$f0``, ``$f1``...). Metadata keys never reach the query text: a key ``k`` is read
with dynamic property access ``m[$fN]`` where the parameter holds ``'md_' + k``. Built-in
fields map to fixed property names.

Semantics follow :mod:`powermem.filters`: a comparison matches only a value of the same kind
(type predicates with ``NOT NULL``, because ``null IS :: STRING`` is true), ``ne``/``nin`` match
when the key is missing, and every condition is wrapped in ``coalesce(..., false)`` so that
``NOT`` is two-valued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from powermem.filters import INT64, And, Condition, FilterNode, Not, Or, Scalar
from powermem.stores.base import Scope

__all__ = ["Cypher", "Params", "compile_filter", "memory_scope", "stats_entity_scope", "where"]

METADATA_PREFIX = "md_"

# The node variables a fragment may refer to; statements bind these names.
_VARIABLES = frozenset({"m", "e", "a"})
_BUILTIN_PROPERTIES = {"memory": ".memory", "created_at": ".created_at", "updated_at": ".updated_at"}
_KIND_TESTS = {
    "str": " IS :: STRING NOT NULL",
    "num": " IS :: INTEGER NOT NULL | FLOAT NOT NULL",
    "bool": " IS :: BOOLEAN NOT NULL",
}
_COMPARATORS = {"eq": " = ", "gt": " > ", "gte": " >= ", "lt": " < ", "lte": " <= "}


@dataclass(frozen=True)
class Cypher:
    """A Cypher fragment built from constants and parameter names only, never from data."""

    text: str


@dataclass
class Params:
    """Collects parameter values and hands out fresh, unique parameter names."""

    prefix: str = "f"
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        name = self.prefix + str(len(self.values))
        self.values[name] = value
        return "$" + name


def compile_filter(node: FilterNode | None, params: Params, var: str = "m") -> Cypher:
    """A boolean Cypher expression for ``node`` over node variable ``var`` (``true`` if None)."""
    _check_var(var)
    if node is None:
        return Cypher("true")
    return Cypher(_compile(node, params, var))


def memory_scope(scope: Scope, params: Params, var: str = "m") -> Cypher:
    """Equality on each given scope field, so the planner can seek the range indexes."""
    return _scope(var, params, (("user_id", scope.user_id), ("agent_id", scope.agent_id), ("run_id", scope.run_id)))


def stats_entity_scope(scope: Scope, params: Params, var: str = "e") -> Cypher:
    """The entities ``stats`` counts: those of every graph tenant of the (user_id, agent_id)
    pairs the scope's memories belong to; a run-only scope has one graph tenant of its own.

    Graph reads and writes match ``Scope.graph_tenant`` exactly; only this per-pair overview
    matches pairs as memories do.
    """
    if scope.user_id is None and scope.agent_id is None and scope.run_id is not None:
        return _scope(var, params, (("tenant", scope.graph_tenant),))
    return _scope(var, params, (("user_id", scope.user_id), ("agent_id", scope.agent_id)))


def where(*parts: Cypher) -> Cypher:
    """Conjunction of fragments, dropping the trivial ``true`` ones."""
    texts = [p.text for p in parts if p.text != "true"]
    if not texts:
        return Cypher("true")
    return Cypher(" AND ".join("(" + t + ")" for t in texts))


def _scope(var: str, params: Params, fields: tuple[tuple[str, str | None], ...]) -> Cypher:
    _check_var(var)
    terms = [var + "." + name + " = " + params.add(value) for name, value in fields if value is not None]
    return Cypher(" AND ".join(terms) if terms else "true")


def _check_var(var: str) -> None:
    if var not in _VARIABLES:
        raise ValueError(f"unsupported node variable {var!r}")


def _compile(node: FilterNode, params: Params, var: str) -> str:
    if isinstance(node, Condition):
        return "coalesce(" + _condition(node, params, var) + ", false)"
    if isinstance(node, Not):
        return "(NOT " + _compile(node.item, params, var) + ")"
    if isinstance(node, (And, Or)):
        if not node.items:
            return "true" if isinstance(node, And) else "false"
        joiner = " AND " if isinstance(node, And) else " OR "
        return _balanced([_compile(item, params, var) for item in node.items], joiner)
    raise TypeError(f"not a filter node: {node!r}")


def _balanced(terms: list[str], joiner: str) -> str:
    """``a AND b AND c AND d`` as ``((a AND b) AND (c AND d))``: Cypher parses a flat chain
    into a left-deep tree, which Neo4j's query front end handles in time superlinear in its
    length (400 conditions: 25 s flat, 2 s balanced). Recursion depth is log2(len(terms))."""
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return "(" + _balanced(terms[:middle], joiner) + joiner + _balanced(terms[middle:], joiner) + ")"


def _condition(cond: Condition, params: Params, var: str) -> str:
    x = _accessor(cond, params, var)
    if cond.op == "exists":
        return x + (" IS NOT NULL" if cond.value else " IS NULL")
    if cond.op in ("in", "nin"):
        member = _membership(x, cond.value, params)
        return member if cond.op == "in" else "NOT coalesce(" + member + ", false)"
    if cond.op == "contains":
        return "(" + x + _KIND_TESTS["str"] + " AND " + x + " CONTAINS " + params.add(cond.value) + ")"
    if cond.op == "icontains":
        value = params.add(cond.value)
        return "(" + x + _KIND_TESTS["str"] + " AND toLower(" + x + ") CONTAINS toLower(" + value + "))"
    if cond.op == "ne":
        return "NOT coalesce(" + _compare(x, "eq", cond.value, params) + ", false)"
    if cond.op in _COMPARATORS:
        return _compare(x, cond.op, cond.value, params)
    raise ValueError(f"unknown filter operator {cond.op!r}")


def _accessor(cond: Condition, params: Params, var: str) -> str:
    if cond.builtin:
        return var + _BUILTIN_PROPERTIES[cond.key]
    return var + "[" + params.add(METADATA_PREFIX + cond.key) + "]"


def _compare(x: str, op: str, value: Scalar, params: Params) -> str:
    kind = _kind(value)
    return "(" + x + _KIND_TESTS[kind] + " AND " + x + _COMPARATORS[op] + params.add(_param_value(value)) + ")"


def _membership(x: str, values: tuple[Scalar, ...], params: Params) -> str:
    by_kind: dict[str, list[Scalar]] = {}
    for value in values:
        by_kind.setdefault(_kind(value), []).append(_param_value(value))
    terms = [
        "(" + x + _KIND_TESTS[kind] + " AND " + x + " IN " + params.add(members) + ")"
        for kind, members in sorted(by_kind.items())
    ]
    return "(" + " OR ".join(terms) + ")" if terms else "false"


def _kind(value: Scalar) -> str:
    # bool first: in Python a bool is also an int, but it never equals a number here.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "num"
    return "str"


def _param_value(value: Scalar) -> Scalar:
    """Integers beyond 64 bits cannot be sent to Neo4j; as floats they still order correctly."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return float(value)
    return value
