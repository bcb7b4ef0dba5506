"""Graph proximity: personalised PageRank over the bounded subgraph a search fetched.

Nodes are memories and entities; edges are MENTIONS (damped by the entity's degree, so a name
every memory mentions carries little), valid relations, and conversation adjacency between
memories. The walk restarts at the query's linked entities and its top hits, so memories
reached through short, specific paths score highest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from powermem.stores.base import RelationRow, Subgraph

_RESTART = 0.35
_ITERATIONS = 30
_RELATION_WEIGHT = 1.0
_ADJACENT_WEIGHT = 0.5


@dataclass(frozen=True)
class GraphRanking:
    memory_scores: dict[int, float]
    relations: list[RelationRow]


def build_graph(subgraph: Subgraph, adjacent: Sequence[tuple[int, int]]) -> nx.Graph:
    graph = nx.Graph()
    for memory_id, entity_id in subgraph.mentions:
        degree = subgraph.degrees.get(entity_id, 1)
        graph.add_edge(("m", memory_id), ("e", entity_id), weight=1.0 / math.log2(2 + degree))
    for rel in subgraph.relations:
        graph.add_edge(("e", rel.source_id), ("e", rel.destination_id), weight=_RELATION_WEIGHT, relation=rel)
    for left, right in adjacent:
        graph.add_edge(("m", left), ("m", right), weight=_ADJACENT_WEIGHT)
    return graph


def personalised_pagerank(graph: nx.Graph, restart: Mapping[tuple[str, int], float]) -> dict[tuple[str, int], float]:
    nodes = list(graph.nodes)
    if not nodes:
        return {}
    index = {node: i for i, node in enumerate(nodes)}
    teleport = np.zeros(len(nodes))
    for node, weight in restart.items():
        if node in index:
            teleport[index[node]] += weight
    if teleport.sum() <= 0:
        return {}
    teleport /= teleport.sum()
    sources, targets, weights = _edge_arrays(graph, index)
    out_weight = np.bincount(sources, weights=weights, minlength=len(nodes))
    share = weights / out_weight[sources]
    rank = teleport.copy()
    for _ in range(_ITERATIONS):
        spread = np.bincount(targets, weights=rank[sources] * share, minlength=len(nodes))
        rank = _RESTART * teleport + (1 - _RESTART) * spread
    return {node: float(rank[i]) for node, i in index.items()}


def _edge_arrays(graph: nx.Graph, index: Mapping[tuple[str, int], int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs = [(index[a], index[b], float(d["weight"])) for a, b, d in graph.edges(data=True)]
    forward = np.array(pairs, dtype=float).reshape(-1, 3)
    sources = np.concatenate([forward[:, 0], forward[:, 1]]).astype(np.int64)
    targets = np.concatenate([forward[:, 1], forward[:, 0]]).astype(np.int64)
    weights = np.concatenate([forward[:, 2], forward[:, 2]])
    return sources, targets, weights


def rank_memories(
    subgraph: Subgraph,
    adjacent: Sequence[tuple[int, int]],
    entity_seeds: Mapping[int, float],
    memory_seeds: Mapping[int, float],
) -> GraphRanking:
    graph = build_graph(subgraph, adjacent)
    restart = {("e", e): w for e, w in entity_seeds.items()} | {("m", m): w for m, w in memory_seeds.items()}
    scores = personalised_pagerank(graph, restart)
    memory_scores = {node[1]: s for node, s in scores.items() if node[0] == "m" and s > 0}
    return GraphRanking(memory_scores, [d["relation"] for _, _, d in graph.edges(data=True) if "relation" in d])
