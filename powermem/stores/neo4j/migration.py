"""Bring a database written before graph tenancy (graph schema version 2) up to date.

Earlier versions kept one ``memory_id`` (often null) per relation and gave every scope with
neither user nor agent one shared graph tenant (``"\\x1f"``). ``migrate`` runs once, in one
transaction that first takes the lock of the ``PowermemMeta`` version node (a second process
waits, then finds the work done):

- a relation of a user/agent tenant gets its provenance: its legacy memory if that still
  exists in the tenant, else the tenant's memories mentioning both of its ends, else either;
  a relation left with none is deleted;
- the shared run-only tenant is split per run: each run whose memories mention its entities
  or support its relations gets copies (fresh ids) in its own graph tenant, with the mentions
  and provenance of that run only; then the shared tenant goes;
- entities with neither mentions nor relations are deleted.

The schema side (the entity vector index filtered on the graph tenant) is the store's.

Schema versions (a ``PowermemMeta`` node with key ``schema_version``): 1 before graph tenancy,
2 graph tenancy (recorded only as ``graph_version`` 2, as 0.1.0 up to commit e330da7 wrote it),
3 the schema version recorded; no data change. A store of a newer version is refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from neo4j import AsyncManagedTransaction

from powermem.errors import ConfigError
from powermem.ids import SnowflakeGenerator
from powermem.stores.base import Scope
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.queries import Read, as_query, fetch_rows

__all__ = ["GRAPH_VERSION", "LEGACY_RUN_TENANT", "SCHEMA_VERSION", "migrate"]

GRAPH_VERSION = 2
SCHEMA_VERSION = 3
# The graph tenant of every scope with neither user nor agent before version 2.
LEGACY_RUN_TENANT = "\x1f"

Work = Callable[[AsyncManagedTransaction], Awaitable[bool]]
InWrite = Callable[[Work], Awaitable[bool]]
Row = dict[str, Any]


async def migrate(read: Read, in_write: InWrite, ids: SnowflakeGenerator, target: str = "") -> bool:
    """Migrate the store to SCHEMA_VERSION; whether the graph had to be migrated."""
    rows = await read(Q.SCHEMA_VERSION.query, {})
    recorded = int(rows[0]["version"]) if rows and rows[0]["version"] is not None else 0
    if recorded > SCHEMA_VERSION:
        raise ConfigError(
            f"the Neo4j store {target} has schema version {recorded}, newer than this powermem knows "
            f"({SCHEMA_VERSION}); upgrade powermem, or restore a backup made by this version"
        )
    migrated = await _migrate_graph(read, in_write, ids)
    if recorded < SCHEMA_VERSION:

        async def record(tx: AsyncManagedTransaction) -> bool:
            await tx.run(as_query(Q.SET_SCHEMA_VERSION.query), {"version": SCHEMA_VERSION})
            return True

        await in_write(record)
    return migrated


async def _migrate_graph(read: Read, in_write: InWrite, ids: SnowflakeGenerator) -> bool:
    """Migrate the graph if it is older than GRAPH_VERSION; whether anything had to be done."""
    if _current(await read(Q.MIGRATE_VERSION.query, {})):
        return False

    async def work(tx: AsyncManagedTransaction) -> bool:
        await tx.run(as_query(Q.MIGRATE_LOCK.query))
        if _current(await _run(tx, Q.MIGRATE_VERSION.query, {})):
            return False
        relations = await _run(tx, Q.MIGRATE_LEGACY_RELATIONS.query, {})
        await _fill_provenance(tx, [r for r in relations if r["tenant"] != LEGACY_RUN_TENANT])
        await _split_shared_tenant(tx, [r for r in relations if r["tenant"] == LEGACY_RUN_TENANT], ids)
        await tx.run(as_query(Q.MIGRATE_DROP_ORPHANS.query))
        await tx.run(as_query(Q.MIGRATE_SET_VERSION.query), {"version": GRAPH_VERSION})
        return True

    return await in_write(work)


def _current(rows: list[Row]) -> bool:
    return bool(rows) and rows[0]["version"] is not None and int(rows[0]["version"]) >= GRAPH_VERSION


async def _run(tx: AsyncManagedTransaction, query: str, params: dict[str, Any]) -> list[Row]:
    return await fetch_rows(await tx.run(as_query(query), params))


def _graph_tenant(memory: Row) -> str:
    return Scope(memory["user_id"], memory["agent_id"], memory["run_id"]).graph_tenant


async def _evidence(
    tx: AsyncManagedTransaction, relations: list[Row], entity_ids: set[int]
) -> tuple[dict[int, Row], dict[int, list[Row]]]:
    """The legacy memories of ``relations`` that still exist, and the memories mentioning
    their ends and ``entity_ids``."""
    cited = sorted({int(r["props"]["memory_id"]) for r in relations if r["props"].get("memory_id") is not None})
    memories = {int(m["id"]): m for m in await _run(tx, Q.MIGRATE_MEMORIES.query, {"ids": cited})}
    ends = {int(r[key]) for r in relations for key in ("source_id", "destination_id")}
    mentions: dict[int, list[Row]] = defaultdict(list)
    for row in await _run(tx, Q.MIGRATE_MENTIONS.query, {"entity_ids": sorted(ends | entity_ids)}):
        mentions[int(row["entity_id"])].append({**row, "id": int(row["memory_id"])})
    return memories, mentions


def _supporters(
    relation: Row, memories: dict[int, Row], mentions: dict[int, list[Row]], accept: Callable[[Row], bool]
) -> list[Row]:
    """The memories that assert ``relation``: its legacy memory, else those mentioning both
    ends, else either end; only those ``accept`` takes."""
    legacy = relation["props"].get("memory_id")
    if legacy is not None and int(legacy) in memories and accept(memories[int(legacy)]):
        return [memories[int(legacy)]]
    source = {m["id"]: m for m in mentions[int(relation["source_id"])] if accept(m)}
    destination = {m["id"]: m for m in mentions[int(relation["destination_id"])] if accept(m)}
    both = source.keys() & destination.keys()
    found = {i: source[i] for i in both} if both else {**source, **destination}
    return [found[i] for i in sorted(found)]


async def _fill_provenance(tx: AsyncManagedTransaction, relations: list[Row]) -> None:
    """Relations of user/agent tenants: memory_id becomes memory_ids; unsupported ones go."""
    if not relations:
        return
    memories, mentions = await _evidence(tx, relations, set())
    rows = []
    for relation in relations:
        supporters = _supporters(relation, memories, mentions, _in_tenant(relation["tenant"]))
        rows.append({"element_id": relation["element_id"], "memory_ids": [int(m["id"]) for m in supporters]})
    await tx.run(as_query(Q.MIGRATE_SET_PROVENANCE.query), {"rows": rows})


def _in_tenant(tenant: str) -> Callable[[Row], bool]:
    def accept(memory: Row) -> bool:
        return _graph_tenant(memory) == tenant

    return accept


def _run_only(memory: Row) -> bool:
    return memory["user_id"] is None and memory["agent_id"] is None and memory["run_id"] is not None


async def _split_shared_tenant(tx: AsyncManagedTransaction, relations: list[Row], ids: SnowflakeGenerator) -> None:
    """Copy the shared run-only tenant into one graph tenant per run, then delete it."""
    entities = {int(e["id"]): e for e in await _run(tx, Q.MIGRATE_LEGACY_ENTITIES.query, {"tenant": LEGACY_RUN_TENANT})}
    if not entities:
        return
    memories, mentions = await _evidence(tx, relations, set(entities))
    needed: set[tuple[str, int]] = set()  # (run, legacy entity id)
    mention_rows = []
    for entity_id in entities:
        for memory in filter(_run_only, mentions[entity_id]):
            needed.add((memory["run_id"], entity_id))
            mention_rows.append(_at(memory["run_id"], {"name_key": entities[entity_id]["name_key"]},
                                    memory_id=int(memory["id"])))
    relation_rows = []
    for relation in relations:
        by_run: dict[str, list[int]] = defaultdict(list)
        for memory in _supporters(relation, memories, mentions, _run_only):
            by_run[memory["run_id"]].append(int(memory["id"]))
        for run, memory_ids in sorted(by_run.items()):
            needed.update({(run, int(relation["source_id"])), (run, int(relation["destination_id"]))})
            props = {key: value for key, value in relation["props"].items() if key != "memory_id"}
            relation_rows.append(_at(run, {}, relationship=relation["relationship"],
                                     source_key=relation["source_key"], destination_key=relation["destination_key"],
                                     props={**props, "id": ids.next_id(), "memory_ids": memory_ids}))
    copies = [_at(run, entities[eid], id=ids.next_id()) for run, eid in sorted(needed)]
    for query, rows in ((Q.MIGRATE_COPY_ENTITIES, copies), (Q.MIGRATE_COPY_MENTIONS, mention_rows),
                        (Q.MIGRATE_COPY_RELATIONS, relation_rows)):
        if rows:
            await tx.run(as_query(query.query), {"rows": rows})
    await tx.run(as_query(Q.MIGRATE_DROP_TENANT.query), {"tenant": LEGACY_RUN_TENANT})


def _at(run: str, entity: Row, **fields: Any) -> Row:
    """A row for the graph tenant of ``run``: an entity's fields (if given) plus ``fields``."""
    return {**entity, "tenant": Scope(run_id=run).graph_tenant, **fields}
