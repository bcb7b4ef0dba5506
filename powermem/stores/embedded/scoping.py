"""WHERE fragments restricting rows to a scope. Column names are fixed; values are bound."""

from __future__ import annotations

from typing import Any

from powermem.stores.base import Scope

MEMORY_FIELDS = ("user_id", "agent_id", "run_id")


def scope_sql(scope: Scope, params: list[Any], prefix: str = "") -> str:
    """Memories (or history events) matching the scope: each given field equal."""
    values = {"user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id}
    parts = []
    for field in MEMORY_FIELDS:
        if values[field] is not None:
            parts.append(f"{prefix}{field} = ?")
            params.append(values[field])
    return " AND ".join(parts) or "1"


def tenants_within_sql(scope: Scope, params: list[Any], prefix: str = "") -> str:
    """Entities of every graph tenant inside the scope, for counts and whole-scope deletes.

    A user or agent selects the (user, agent) graphs it is part of, whatever the run (graphs span
    runs); a run alone selects that run's own graph; an empty scope selects every graph.
    """
    if scope.user_id is None and scope.agent_id is None:
        if scope.run_id is None:
            return "1"
        params.append(scope.graph_tenant)
        return f"{prefix}tenant = ?"
    parts = []
    for field, value in (("user_id", scope.user_id), ("agent_id", scope.agent_id)):
        if value is not None:
            parts.append(f"{prefix}{field} = ?")
            params.append(value)
    return " AND ".join(parts)
