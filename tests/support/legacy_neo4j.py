"""A tiny writer of Neo4j graphs as powermem wrote them before graph tenancy (graph_version 2).

The statements in ``legacy_neo4j/`` are the ones the store ran then (copied unchanged from the
commit before the change): entities of a (user, agent) tenant (``"\\x1f"`` for every scope with
neither, shared by all runs), relations with one optional ``memory_id`` and no provenance list,
no graph version node. A migration test writes a graph with them, then runs ``initialize()``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from neo4j import AsyncGraphDatabase

from powermem.config import StoreConfig
from powermem.redact import reveal
from powermem.stores.base import Scope

STATEMENTS = Path(__file__).resolve().parent / "legacy_neo4j"
AT = "2026-01-01T00:00:00.000000+00:00"


def statement(name: str) -> str:
    return (STATEMENTS / f"{name}.cypher").read_text(encoding="utf-8")


def legacy_tenant(scope: Scope) -> str:
    """The entity tenant of earlier versions: the (user, agent) pair, runs ignored."""
    return f"{scope.user_id or ''}\x1f{scope.agent_id or ''}"


def _tokens(scope: Scope) -> str:
    fields = (("u", scope.user_id), ("a", scope.agent_id), ("r", scope.run_id))
    return " ".join(p + hashlib.blake2b(v.encode(), digest_size=10).hexdigest() for p, v in fields if v is not None)


@dataclass
class LegacyPlan:
    """What one legacy ``apply`` wrote: entities (name_key -> (id, vector)), memories
    (id, text, entity keys, vector) and relations (id, source, type, destination, memory_id)."""

    scope: Scope
    entities: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)
    memories: list[tuple[int, str, tuple[str, ...], np.ndarray]] = field(default_factory=list)
    relations: list[tuple[int, str, str, str, int | None]] = field(default_factory=list)


async def write_legacy(config: StoreConfig, plans: list[LegacyPlan]) -> None:
    """Write ``plans`` with the legacy statements, and remove the graph version node."""
    async with AsyncGraphDatabase.driver(config.uri, auth=(config.username, reveal(config.password) or "")) as driver:
        for plan in plans:
            s = plan.scope
            scope: dict[str, Any] = {"user_id": s.user_id, "agent_id": s.agent_id, "run_id": s.run_id,
                                     "entity_tenant": legacy_tenant(s), "actor": None, "at": AT}
            entities = [{"id": eid, "name": key.title(), "name_key": key, "type": "thing",
                         "embedding": [float(x) for x in vector]}
                        for key, (eid, vector) in sorted(plan.entities.items())]
            memories = [{"id": mid, "memory": text, "hash": str(mid), "embedding": [float(x) for x in vector],
                         "user_id": s.user_id, "agent_id": s.agent_id, "run_id": s.run_id,
                         "tenant": s.memory_tenant, "scope_tokens": _tokens(s), "metadata": "{}", "md": {},
                         "created_at": AT, "event_id": mid + 1, "entity_keys": sorted(keys)}
                        for mid, text, keys, vector in plan.memories]
            relations = [{"id": rid, "source_key": a, "destination_key": b, "relationship": rel,
                          "fact": f"{a} {rel} {b}", "memory_id": mid, "valid_at": AT, "created_at": AT}
                         for rid, a, rel, b, mid in plan.relations]
            for name, rows in (("merge_entities", entities), ("create_memories", memories),
                               ("create_relations", relations)):
                if rows:
                    await driver.execute_query(statement(name), {**scope, "rows": rows}, database_=config.database)
        await driver.execute_query(statement("drop_graph_version"), database_=config.database)
