"""WHERE fragments restricting rows to a scope. Column names are fixed; values are bound."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from powermem.stores.base import Scope

MEMORY_FIELDS = ("user_id", "agent_id", "run_id")
ENTITY_FIELDS = ("user_id", "agent_id")


def scope_sql(scope: Scope, params: list[Any], prefix: str = "", fields: Sequence[str] = MEMORY_FIELDS) -> str:
    values = {"user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id}
    parts = []
    for field in fields:
        if values[field] is not None:
            parts.append(f"{prefix}{field} = ?")
            params.append(values[field])
    return " AND ".join(parts) or "1"


def entity_scope_sql(scope: Scope, params: list[Any], prefix: str = "") -> str:
    return scope_sql(scope, params, prefix, ENTITY_FIELDS)
