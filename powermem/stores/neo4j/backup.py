"""Rows of the Neo4j store for backups (see ``powermem.stores.dump``): read and written verbatim.

``dump`` reads one page of a section; ``load_work`` writes rows in the caller's transaction.
Loading is an upsert by id, as the embedded store's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from neo4j import AsyncManagedTransaction

from powermem.errors import InvalidInputError
from powermem.filters import INT64
from powermem.stores.base import Scope
from powermem.stores.dump import RELATION_TIMES, Row, Section, graph_scope, relation_times
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.queries import Read, as_query
from powermem.stores.neo4j.writes import embedding_values, metadata_properties, scope_tokens

__all__ = ["dump", "load_work"]

RELATION_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def _vector(values: Any) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    return None if values is None else np.asarray(values, dtype=np.float32)


def _ids(values: Any) -> list[int]:
    return sorted(int(i) for i in values or ())


async def dump(read: Read, section: Section, after: int | None, limit: int) -> tuple[list[Row], int | None]:
    start = INT64[0] if after is None else after
    params = {"after": start, "limit": limit}
    if section == "relations":
        return await _relations(read, start, limit)
    query = {"entities": Q.DUMP_ENTITIES, "memories": Q.DUMP_MEMORIES, "events": Q.DUMP_EVENTS}[section]
    raw = [r["row"] for r in await read(query.query, params)]
    rows = [_converters[section](r) for r in raw]
    return rows, (rows[-1]["id"] if len(rows) == limit else None)


async def _relations(read: Read, after: int, limit: int) -> tuple[list[Row], int | None]:
    page = (await read(Q.DUMP_RELATION_CURSOR.query, {"after": after, "limit": limit}))[0]
    if not page["entities"]:
        return [], None
    upto = int(page["upto"])
    rows = [_relation(r["row"]) for r in await read(Q.DUMP_RELATIONS.query, {"after": after, "upto": upto})]
    return rows, (upto if page["entities"] == limit else None)


def _entity(e: dict[str, Any]) -> Row:
    scope = graph_scope(e["tenant"])
    return {"id": int(e["id"]), "user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id,
            "name": e["name"], "name_key": e["name_key"], "type": e["type"] or "", "embedding": _vector(e["embedding"]),
            "created_at": e["created_at"], "updated_at": e["updated_at"]}


def _memory(m: dict[str, Any]) -> Row:
    return {"id": int(m["id"]), "memory": m["memory"], "hash": m["hash"], "user_id": m["user_id"],
            "agent_id": m["agent_id"], "run_id": m["run_id"],
            "metadata": json.loads(m["metadata"]) if m["metadata"] else {},
            "created_at": m["created_at"], "updated_at": m["updated_at"], "embedding": _vector(m["embedding"]),
            "entity_ids": _ids(m["entity_ids"])}


def _relation(r: dict[str, Any]) -> Row:
    props = r["props"]
    return {"id": int(r["id"]), "source_id": int(r["source_id"]), "destination_id": int(r["destination_id"]),
            "relationship": r["relationship"], "fact": props.get("fact") or "",
            "memory_ids": _ids(props.get("memory_ids")), "times": relation_times(props)}


def _event(ev: dict[str, Any]) -> Row:
    return {**ev, "id": int(ev["id"]), "memory_id": int(ev["memory_id"])}


_converters: dict[Section, Callable[[dict[str, Any]], Row]] = {
    "entities": _entity, "memories": _memory, "relations": _relation, "events": _event,
}


# -- loading -------------------------------------------------------------------------------------


def _stored(vector: Any, dims: int | None, what: str) -> list[float] | None:
    if vector is None:
        return None
    values = embedding_values(vector, dims, what)
    return values if any(values) else None


def _entity_param(row: Row, dims: int | None) -> dict[str, Any]:
    scope = Scope(row["user_id"], row["agent_id"], row["run_id"])
    return {"id": row["id"], "tenant": scope.graph_tenant, "user_id": scope.user_id, "agent_id": scope.agent_id,
            "name": row["name"], "name_key": row["name_key"], "type": row["type"],
            "embedding": _stored(row["embedding"], dims, f"entity {row['id']}"),
            "created_at": row["created_at"], "updated_at": row["updated_at"]}


def _memory_param(row: Row, dims: int | None) -> dict[str, Any]:
    scope = Scope(row["user_id"], row["agent_id"], row["run_id"])
    return {"id": row["id"], "memory": row["memory"], "hash": row["hash"], "user_id": scope.user_id,
            "agent_id": scope.agent_id, "run_id": scope.run_id, "tenant": scope.memory_tenant,
            "scope_tokens": scope_tokens(scope), "metadata": json.dumps(row["metadata"]),
            "md": metadata_properties(row["metadata"]), "created_at": row["created_at"],
            "updated_at": row["updated_at"], "embedding": _stored(row["embedding"], dims, f"memory {row['id']}"),
            "entity_ids": list(row["entity_ids"])}


def _relation_param(row: Row, dims: int | None) -> dict[str, Any]:
    if not RELATION_TYPE.fullmatch(row["relationship"]):
        raise InvalidInputError(f"relationship type {row['relationship']!r} does not match ^[A-Z][A-Z0-9_]{{0,63}}$")
    unknown = sorted(set(row["times"]) - set(RELATION_TIMES))
    if unknown:
        raise InvalidInputError(f"relation {row['id']}: this store keeps no relation time field {unknown[0]!r}")
    props = {"id": row["id"], "name": row["relationship"], "fact": row["fact"], "memory_ids": list(row["memory_ids"])}
    props.update({key: value for key, value in relation_times(row["times"]).items() if value is not None})
    return {"source_id": row["source_id"], "destination_id": row["destination_id"],
            "relationship": row["relationship"], "id": row["id"], "props": props}


def _event_param(row: Row, dims: int | None) -> dict[str, Any]:
    return {key: row.get(key) for key in ("id", "memory_id", "event", "old_memory", "new_memory", "created_at",
                                          "actor", "user_id", "agent_id", "run_id")}


_PARAMS: dict[Section, tuple[Q.Statement, Callable[[Row, int | None], dict[str, Any]]]] = {
    "entities": (Q.RESTORE_ENTITIES, _entity_param),
    "memories": (Q.RESTORE_MEMORIES, _memory_param),
    "relations": (Q.RESTORE_RELATIONS, _relation_param),
    "events": (Q.RESTORE_EVENTS, _event_param),
}


def load_params(section: Section, rows: Sequence[Row], dims: int | None) -> list[dict[str, Any]]:
    """Every row checked and converted before anything is written."""
    convert = _PARAMS[section][1]
    return [convert(row, dims) for row in rows]


async def load_work(tx: AsyncManagedTransaction, section: Section, params: list[dict[str, Any]]) -> None:
    query = _PARAMS[section][0]
    result = await tx.run(as_query(query.query), {"rows": params})
    if section != "relations":
        await result.consume()
        return
    written = {int(record["id"]) async for record in result}
    missing = [p["id"] for p in params if p["id"] not in written]
    if missing:
        raise InvalidInputError(f"relation {missing[0]}: one of its entities does not exist")
