"""Bounded graph reads of the embedded store: expansion around seeds, and per-tenant counts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from powermem.stores.base import EntityRow, RelationRow, Scope, Subgraph, TenantStats
from powermem.stores.embedded.scoping import scope_sql, tenants_within_sql

_MIN_MENTIONS_PER_ENTITY = 8
_HUB_ROWS_PER_NODE = 4  # relation rows read per allowed node and hop, as the Neo4j store
# Degrees are counted up to this: past it a name passes each memory mentioning it less than
# 1/DEGREE_CAP of its evidence (powermem.search.graph), whatever its true degree.
DEGREE_CAP = 2_000

# A relation with its endpoints' names and its provenance (one primary-key range per relation).
RELATION_SELECT = (
    "SELECT r.id, s.name, r.relationship, d.name, r.fact, "
    "(SELECT json_group_array(memory_id) FROM relation_memories WHERE relation_id = r.id), "
    "r.valid_at, r.invalid_at, r.source_id, r.destination_id, r.created_at, r.expired_at, r.origin, r.family FROM relations r "
    "JOIN entities s ON s.id = r.source_id JOIN entities d ON d.id = r.destination_id"
)


def relation_row(raw: Sequence[Any]) -> RelationRow:
    return RelationRow(
        id=raw[0], source=raw[1], relationship=raw[2], destination=raw[3], fact=raw[4],
        memory_ids=tuple(sorted(json.loads(raw[5]))), valid_at=raw[6], invalid_at=raw[7],
        source_id=raw[8], destination_id=raw[9], created_at=raw[10], expired_at=raw[11], origin=raw[12],
        family=raw[13],
    )


def valid_sql(as_of: str | None, params: list[Any]) -> str:
    """Relations (aliased r) valid now, or, given ``as_of``, valid at that time."""
    if as_of is None:
        return "r.invalid_at IS NULL"
    params.extend((as_of, as_of))
    return "(r.valid_at <= ? AND (r.invalid_at IS NULL OR r.invalid_at > ?))"


def run_narrowing_sql(scope: Scope, params: list[Any]) -> str:
    """With ``scope.run_narrowed``: only relations (aliased r) a memory of the run asserts.

    Read from the run's memories (index on run_id, then provenance by memory): a run is small
    next to the graph of its user, which a test per relation would walk.
    """
    if not scope.run_narrowed:
        return ""
    params.append(scope.run_id)
    return (
        " AND r.id IN (SELECT p.relation_id FROM memories pm JOIN relation_memories p ON p.memory_id = pm.id "
        "WHERE pm.run_id = ?)"
    )


def relations_from(
    conn: sqlite3.Connection, scope: Scope, lanes: Mapping[int, frozenset[str] | None], limit: int
) -> list[RelationRow]:
    """Valid relations leaving each lane's source, of the lane's families (a relation without a
    family is in every lane), newest first: the family test comes before the bound."""
    if limit <= 0:
        return []  # SQLite reads LIMIT -1 as no limit
    found: list[RelationRow] = []
    for source, families in lanes.items():
        params: list[Any] = [source]
        family = ""
        if families is not None:
            family = " AND (r.family IS NULL OR r.family IN (SELECT value FROM json_each(?)))"
            params.append(json.dumps(sorted(families)))
        narrowing = run_narrowing_sql(scope, params)
        sql = (f"{RELATION_SELECT} WHERE r.source_id = ? AND r.invalid_at IS NULL{family}{narrowing} "
               "ORDER BY r.id DESC LIMIT ?")
        found.extend(relation_row(r) for r in conn.execute(sql, [*params, limit]))
    found.sort(key=lambda r: -r.id)
    return found[:limit]


def _json(ids: Sequence[int] | set[int]) -> str:
    return json.dumps(sorted(ids))


def expand(
    conn: sqlite3.Connection, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int], hops: int,
    max_nodes: int, as_of: str | None = None,
) -> Subgraph:
    visited = _seed_entities(conn, scope, entity_ids, memory_ids)
    relations: dict[int, RelationRow] = {}
    frontier = set(visited)
    for _ in range(hops):
        if not frontier or len(visited) >= max_nodes:
            break
        found = _valid_relations_touching(conn, scope, frontier, max_nodes * _HUB_ROWS_PER_NODE, as_of)
        frontier = set()
        for rel in found:
            relations[rel.id] = rel
            for node in (rel.source_id, rel.destination_id):
                if node not in visited and len(visited) < max_nodes:
                    visited.add(node)
                    frontier.add(node)
    kept = [r for r in relations.values() if r.source_id in visited and r.destination_id in visited]
    graph = Subgraph(relations=kept)
    _fill_entities(conn, graph, visited)
    _fill_mentions(conn, scope, graph, visited, max_nodes)
    return graph


def _seed_entities(
    conn: sqlite3.Connection, scope: Scope, entity_ids: Sequence[int], memory_ids: Sequence[int]
) -> set[int]:
    # The unary + keeps the tenant test off the (tenant, name_key) index: the planner would
    # otherwise scan the tenant's every entity instead of looking the seeds up by id.
    sql = (
        "SELECT id FROM entities WHERE (id IN (SELECT value FROM json_each(?)) "
        "OR id IN (SELECT entity_id FROM mentions WHERE memory_id IN (SELECT value FROM json_each(?)))) "
        "AND +tenant = ?"
    )
    return {r[0] for r in conn.execute(sql, (_json(entity_ids), _json(memory_ids), scope.graph_tenant))}


def _valid_relations_touching(
    conn: sqlite3.Connection, scope: Scope, frontier: set[int], max_rows: int, as_of: str | None = None
) -> list[RelationRow]:
    """At most ``max_rows`` valid relations with an end in ``frontier``: a hub cannot flood a hop.

    The frontier holds entities of the scope's graph tenant only, and a relation joins two
    entities of its own tenant, so no tenant test is needed (one would tempt the planner away
    from the endpoint indexes onto a scan of the tenant).
    """
    ids = _json(frontier)
    params: list[Any] = []
    valid = valid_sql(as_of, params)
    params += [ids, ids]
    narrowing = run_narrowing_sql(scope, params)
    sql = (
        f"{RELATION_SELECT} WHERE {valid} AND (r.source_id IN (SELECT value FROM json_each(?)) "
        f"OR r.destination_id IN (SELECT value FROM json_each(?))){narrowing} LIMIT ?"
    )
    return [relation_row(r) for r in conn.execute(sql, [*params, max_rows])]


def _fill_entities(conn: sqlite3.Connection, graph: Subgraph, visited: set[int]) -> None:
    ids = _json(visited)
    for row in conn.execute(
        "SELECT id, name, name_key, type FROM entities WHERE id IN (SELECT value FROM json_each(?))", (ids,)
    ):
        graph.entities[row[0]] = EntityRow(*row)
    # Each count stops at DEGREE_CAP: counting a name that most of a large tenant mentions
    # would read its every mention (10 ms for a few such names at 100,000 memories).
    for entity_id, degree in conn.execute(
        "SELECT value, (SELECT count(*) FROM (SELECT 1 FROM mentions WHERE entity_id = value LIMIT ?)) "
        "FROM json_each(?)",
        (DEGREE_CAP, ids),
    ):
        if degree:
            graph.degrees[entity_id] = degree


def _fill_mentions(conn: sqlite3.Connection, scope: Scope, graph: Subgraph, visited: set[int], max_nodes: int) -> None:
    if not visited or max_nodes <= 0:
        return
    per_entity = max(_MIN_MENTIONS_PER_ENTITY, max_nodes // len(visited))
    # Rarely mentioned entities first: they say the most about which memories matter.
    for entity_id in sorted(visited, key=lambda e: (graph.degrees.get(e, 0), e)):
        params: list[Any] = [entity_id]
        where = scope_sql(scope, params, "m.")
        sql = (
            "SELECT x.memory_id FROM mentions x JOIN memories m ON m.id = x.memory_id "
            f"WHERE x.entity_id = ? AND {where} ORDER BY x.memory_id DESC LIMIT ?"
        )
        graph.mentions.extend((r[0], entity_id) for r in conn.execute(sql, [*params, per_entity]))
        if len(graph.mentions) >= max_nodes:
            break


def stats(conn: sqlite3.Connection, scope: Scope) -> list[TenantStats]:
    params: list[Any] = []
    where = scope_sql(scope, params)
    tenants: dict[tuple[str | None, str | None], list[int]] = {}
    for user, agent, count in conn.execute(
        f"SELECT user_id, agent_id, count(*) FROM memories WHERE {where} GROUP BY user_id, agent_id", params
    ):
        tenants[(user, agent)] = [count, 0, 0]
    # Each graph counts in the row of its (user, agent); run-only graphs in the (None, None) row.
    entity_params: list[Any] = []
    entity_where = tenants_within_sql(scope, entity_params)
    for user, agent, count in conn.execute(
        f"SELECT user_id, agent_id, count(*) FROM entities WHERE {entity_where} GROUP BY user_id, agent_id",
        entity_params,
    ):
        tenants.setdefault((user, agent), [0, 0, 0])[1] = count
    rel_params: list[Any] = []
    rel_where = tenants_within_sql(scope, rel_params, "s.")
    for user, agent, count in conn.execute(
        "SELECT s.user_id, s.agent_id, count(*) FROM relations r JOIN entities s ON s.id = r.source_id "
        f"WHERE r.invalid_at IS NULL AND {rel_where} GROUP BY s.user_id, s.agent_id",
        rel_params,
    ):
        tenants.setdefault((user, agent), [0, 0, 0])[2] = count
    return [TenantStats(u, a, *counts) for (u, a), counts in sorted(tenants.items(), key=lambda t: str(t[0]))]
