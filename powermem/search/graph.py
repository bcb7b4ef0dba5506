"""Graph context: how strongly the query's evidence reaches each memory through the graph.

The graph a search fetched holds memories and entities; its edges are MENTIONS, valid
relations between entities, and conversation adjacency between memories. Evidence starts at
the *sources* — the top fused hits (with their fused score) and the entities the query names
(with their link confidence) — and flows along edges, scaled by a factor per step:

- memory -> entity it mentions: 1 (a memory is about the names it mentions);
- entity -> memory mentioning it: 1 / degree (an entity's evidence is shared by all the
  memories that mention it, so a name every memory mentions carries almost nothing);
- entity -> entity over a valid relation: 1/2;
- memory -> conversation neighbour ``d`` turns away: (1/2) ** d.

A memory's context score is its best path from any *other* source: the largest product of
the source's strength and the factors along a path (a widest-path search, bounded by the
subgraph and by ``rounds`` steps). It lies in [0, 1] and never includes the memory's own
retrieval score, so ``fused + context`` counts each piece of evidence once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from powermem.stores.base import RelationRow, Subgraph

STEP = 0.5  # one relation or one conversation turn halves the evidence

_Node = tuple[str, int]  # ("m", memory id) or ("e", entity id)
_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Edge:
    source: int
    target: int
    factor: float
    relation: RelationRow | None = None


class GraphRanking:
    """Context score per memory reached, and the relations of the fetched subgraph."""

    def __init__(
        self, memory_scores: dict[int, float], relations: list[RelationRow], trace: _Trace | None = None
    ) -> None:
        self.memory_scores = memory_scores
        self.relations = relations
        self._trace = trace

    def relations_to(self, memory_id: int) -> list[RelationRow]:
        """The relations on the best path that brought this memory its context (none if unreached)."""
        if self._trace is None or memory_id not in self.memory_scores:
            return []
        return self._trace.relations_to(memory_id)


class _Graph:
    def __init__(self) -> None:
        self.index: dict[_Node, int] = {}
        self.edges: list[_Edge] = []

    def node(self, node: _Node) -> int:
        found = self.index.get(node)
        if found is None:
            found = self.index[node] = len(self.index)
        return found

    def link(self, a: _Node, b: _Node, forward: float, backward: float, relation: RelationRow | None = None) -> None:
        i, j = self.node(a), self.node(b)
        self.edges.append(_Edge(i, j, forward, relation))
        self.edges.append(_Edge(j, i, backward, relation))


def build_graph(subgraph: Subgraph, adjacent: Sequence[tuple[int, int]]) -> _Graph:
    graph = _Graph()
    fetched: dict[int, int] = {}
    for _, entity_id in subgraph.mentions:
        fetched[entity_id] = fetched.get(entity_id, 0) + 1
    for memory_id, entity_id in subgraph.mentions:
        degree = max(subgraph.degrees.get(entity_id, 0), fetched[entity_id], 1)
        graph.link(("m", memory_id), ("e", entity_id), 1.0, 1.0 / degree)
    for rel in subgraph.relations:
        graph.link(("e", rel.source_id), ("e", rel.destination_id), STEP, STEP, rel)
    for memory_id, neighbours in _sides(adjacent).items():
        for side in neighbours:
            for distance, neighbour in enumerate(side, start=1):
                factor = STEP**distance
                graph.link(("m", memory_id), ("m", neighbour), factor, factor)
    return graph


def _sides(adjacent: Sequence[tuple[int, int]]) -> dict[int, tuple[list[int], list[int]]]:
    """Each memory's neighbours before and after it, nearest first (memories are in id order)."""
    found: dict[int, set[int]] = {}
    for memory_id, neighbour in adjacent:
        if memory_id != neighbour:
            found.setdefault(memory_id, set()).add(neighbour)
    return {
        m: (sorted((n for n in ns if n < m), reverse=True), sorted(n for n in ns if n > m))
        for m, ns in found.items()
    }


def _widest_paths(graph: _Graph, sources: list[tuple[int, float]], rounds: int) -> _Floats:
    """best[s, v]: the strongest evidence source s gets to node v in at most ``rounds`` steps."""
    best = np.zeros((len(sources), len(graph.index)))
    for row, (node, strength) in enumerate(sources):
        best[row, node] = strength
    if not graph.edges:
        return best
    src = np.fromiter((e.source for e in graph.edges), dtype=np.int64, count=len(graph.edges))
    dst = np.fromiter((e.target for e in graph.edges), dtype=np.int64, count=len(graph.edges))
    factor = np.fromiter((e.factor for e in graph.edges), dtype=np.float64, count=len(graph.edges))
    order = np.argsort(dst, kind="stable")
    src, dst, factor = src[order], dst[order], factor[order]
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
    targets = dst[starts]
    for _ in range(rounds):
        arriving = np.maximum.reduceat(best[:, src] * factor, starts, axis=1)
        improved = np.maximum(best[:, targets], arriving)
        if np.array_equal(improved, best[:, targets]):
            break
        best[:, targets] = improved
    return best


def rank_memories(
    subgraph: Subgraph,
    adjacent: Sequence[tuple[int, int]],
    entity_sources: Mapping[int, float],
    memory_sources: Mapping[int, float],
    rounds: int = 4,
) -> GraphRanking:
    """Context score of every memory the sources reach (see the module docstring)."""
    graph = build_graph(subgraph, adjacent)
    sources = [(graph.node(("e", e)), min(1.0, s)) for e, s in entity_sources.items() if s > 0]
    sources += [(graph.node(("m", m)), min(1.0, s)) for m, s in memory_sources.items() if s > 0]
    relations = [e.relation for e in graph.edges[::2] if e.relation is not None]
    if not sources:
        return GraphRanking({}, relations)
    reach = _widest_paths(graph, sources, rounds)
    others = reach.copy()
    for row, (node, _) in enumerate(sources):
        others[row, node] = 0.0  # a source's own strength is not context for itself
    winner = others.argmax(axis=0)
    score = others.max(axis=0)
    memory_scores = {
        key: float(score[node]) for (kind, key), node in graph.index.items() if kind == "m" and score[node] > 0
    }
    return GraphRanking(memory_scores, relations, _Trace(graph, sources, reach, winner, rounds + 1))


class _Trace:
    """What is needed to walk a memory's best path back to its source, on demand."""

    def __init__(
        self, graph: _Graph, sources: list[tuple[int, float]], reach: _Floats, winner: npt.NDArray[np.intp],
        steps: int,
    ) -> None:
        self._graph = graph
        self._sources = sources
        self._reach = reach
        self._winner = winner
        self._steps = steps
        self._incoming: dict[int, list[_Edge]] | None = None

    def relations_to(self, memory_id: int) -> list[RelationRow]:
        if self._incoming is None:
            self._incoming = {}
            for edge in self._graph.edges:
                self._incoming.setdefault(edge.target, []).append(edge)
        node = self._graph.index[("m", memory_id)]
        row = int(self._winner[node])
        return _path_relations(self._reach[row], self._incoming, node, self._sources[row][0], self._steps)


def _path_relations(
    reach: _Floats, incoming: Mapping[int, list[_Edge]], node: int, source: int, steps: int
) -> list[RelationRow]:
    """Walk back from node to the source along edges that account for its best score."""
    found: list[RelationRow] = []
    seen = {node}
    for _ in range(steps):
        if node == source:
            return found
        target = reach[node]
        step = next(
            (e for e in incoming.get(node, []) if e.source not in seen
             and abs(reach[e.source] * e.factor - target) <= 1e-9 * target),
            None,
        )
        if step is None:
            break
        if step.relation is not None:
            found.append(step.relation)
        node = step.source
        seen.add(node)
    return found if node == source else []
