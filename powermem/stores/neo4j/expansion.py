"""Graph expansion: breadth-first over valid relations, then the memories mentioning what was reached."""

from __future__ import annotations

from powermem.stores.base import RelationRow, Scope, Subgraph
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.filters import Params, memory_scope
from powermem.stores.neo4j.queries import Read
from powermem.stores.neo4j.rows import entity_row, relation_row

__all__ = ["expand_work", "narrowed_run"]

_HUB_ROWS_PER_NODE = 4  # expansion rows per allowed node, so one hub cannot flood a hop
_MIN_MENTIONS_PER_ENTITY = 8  # as the embedded store: both return the same subgraph


async def expand_work(
    read: Read, scope: Scope, entity_ids: list[int], memory_ids: list[int], hops: int,
    max_nodes: int, as_of: str | None = None,
) -> Subgraph:
    """Breadth-first over valid relations, one query per hop, visiting at most max_nodes entities.

    Seeds are entities of the scope's graph tenant (relations never leave it); a run-narrowed
    scope walks only relations asserted by memories of its run. Each query is a read of its own:
    Neo4j transactions are read-committed, so one around them all would add a round trip
    (BEGIN and COMMIT) to every search without a steadier view.
    """
    values = {"tenant": scope.graph_tenant, "entity_ids": entity_ids, "memory_ids": memory_ids}
    rows = await read(Q.EXPAND_SEEDS.query, values)
    graph = Subgraph(entities={int(r["e"]["id"]): entity_row(r["e"]) for r in rows})
    frontier = sorted(graph.entities)
    relations: dict[int, RelationRow] = {}
    for _ in range(hops):
        if not frontier or len(graph.entities) >= max_nodes:
            break
        frontier = await _expand_hop(read, graph, relations, frontier, max_nodes, narrowed_run(scope), as_of)
    graph.relations = [
        r for r in relations.values() if r.source_id in graph.entities and r.destination_id in graph.entities
    ]
    await _expand_mentions(read, scope, graph, max_nodes)
    return graph


def narrowed_run(scope: Scope) -> str | None:
    """The run whose memories a relation must have among its provenance to be seen, if any."""
    return scope.run_id if scope.run_narrowed else None


async def _expand_hop(
    read: Read, graph: Subgraph, relations: dict[int, RelationRow], frontier: list[int],
    max_nodes: int, run_id: str | None, as_of: str | None,
) -> list[int]:
    params = {"frontier": frontier, "max_rows": max_nodes * _HUB_ROWS_PER_NODE, "run_id": run_id, "as_of": as_of}
    found: list[int] = []
    for row in await read(Q.EXPAND_HOP.query, params):
        relation = relation_row(row)
        relations[relation.id] = relation
        neighbour = entity_row(row["neighbour"])
        if neighbour.id not in graph.entities and len(graph.entities) < max_nodes:
            graph.entities[neighbour.id] = neighbour
            found.append(neighbour.id)
    return found


async def _expand_mentions(read: Read, scope: Scope, graph: Subgraph, max_nodes: int) -> None:
    if not graph.entities:
        return
    per_entity = max(_MIN_MENTIONS_PER_ENTITY, max_nodes // len(graph.entities))
    params = Params("s")
    query = Q.EXPAND_MENTIONS.render(scope=memory_scope(scope, params))
    values = {**params.values, "entity_ids": sorted(graph.entities), "per_entity": per_entity}
    rows = await read(query, values)
    graph.degrees = {int(row["id"]): int(row["degree"]) for row in rows}
    # Rarely mentioned entities first: they say the most about which memories matter.
    for row in sorted(rows, key=lambda r: (int(r["degree"]), int(r["id"]))):
        graph.mentions.extend((int(mid), int(row["id"])) for mid in row["memory_ids"])
        if len(graph.mentions) >= max_nodes:
            break
