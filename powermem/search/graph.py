"""Graph evidence: where the query's names lead, and what surrounds its best hits.

The graph a search fetched holds memories and entities; its edges are MENTIONS, valid
relations between entities, and conversation adjacency between memories. Evidence starts at
*sources* and flows along edges, scaled by a factor per step:

- memory -> entity it mentions: 1 (a memory is about the names it mentions);
- entity -> memory mentioning it: 1 / degree (an entity's evidence is shared by every memory
  that mentions it, so a name that every memory mentions carries almost nothing);
- entity -> entity over a valid relation: 1/2;
- memory -> conversation neighbour ``d`` turns away: (1/2) ** d;
- entity <-> memory asserting a relation of that entity that *states* what the query asks
  (``powermem.search.paths.stating``: "Where does Daniel live?" and Daniel's LIVES_IN): 1.

A node receives the strongest evidence over any path of at most ``rounds`` steps (a widest
path: the largest product of the source's strength and the factors along the path). Two
scores come out, both in [0, 1]:

- ``reach``: from the entities linked to the query (strength: link confidence), over MENTIONS
  and relations only: the memories the query's names lead to, directly or through relations.
- ``context``: from the top fused hits (strength: their fused score), over every edge, each
  memory counting only the evidence of the *other* hits: a memory next to a strong hit in the
  conversation, or sharing a specific name or a relation with it, is likely relevant too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from powermem.stores.base import RelationRow, Subgraph

STEP = 0.5  # one relation or one conversation turn halves the evidence

_Node = tuple[str, int]  # ("m", memory id) or ("e", entity id)
# Edge kinds. Reach (from the query's entities) ranks memories, so it only uses edges that say
# something about every memory concerned: not conversation order, and not the mentions of an
# entity whose memories the store capped (the fetched few would be an arbitrary sample).
_MENTIONS, _MENTIONED_BY, _MENTIONED_BY_SOME, _RELATION, _CONVERSATION, _STATES = range(6)
_REACH_KINDS = (_MENTIONS, _MENTIONED_BY, _RELATION, _STATES)
_Floats = npt.NDArray[np.float64]


class _Graph:
    """Nodes and directed edges as parallel lists (an edge per direction)."""

    def __init__(self) -> None:
        self.index: dict[_Node, int] = {}
        self.source: list[int] = []
        self.target: list[int] = []
        self.factor: list[float] = []
        self.kind: list[int] = []
        self.relation: list[int] = []  # index into relations, or -1
        self.relations: list[RelationRow] = []

    def node(self, node: _Node) -> int:
        found = self.index.get(node)
        if found is None:
            found = self.index[node] = len(self.index)
        return found

    def link(
        self, a: _Node, b: _Node, forward: tuple[float, int], backward: tuple[float, int], relation: int = -1
    ) -> None:
        """Two directed edges, each with its (factor, kind)."""
        i, j = self.node(a), self.node(b)
        self.source += (i, j)
        self.target += (j, i)
        self.factor += (forward[0], backward[0])
        self.kind += (forward[1], backward[1])
        self.relation += (relation, relation)


def build_graph(
    subgraph: Subgraph, adjacent: Sequence[tuple[int, int]], stating: Collection[int] = ()
) -> _Graph:
    graph = _Graph()
    fetched: dict[int, int] = {}
    for _, entity_id in subgraph.mentions:
        fetched[entity_id] = fetched.get(entity_id, 0) + 1
    for memory_id, entity_id in subgraph.mentions:
        degree = max(subgraph.degrees.get(entity_id, 0), fetched[entity_id], 1)
        down = _MENTIONED_BY if fetched[entity_id] >= degree else _MENTIONED_BY_SOME
        graph.link(("m", memory_id), ("e", entity_id), (1.0, _MENTIONS), (1.0 / degree, down))
    for rel in subgraph.relations:
        step = (STEP, _RELATION)
        graph.link(("e", rel.source_id), ("e", rel.destination_id), step, step, relation=len(graph.relations))
        if rel.id in stating:
            for memory_id in rel.memory_ids:
                for end in (rel.source_id, rel.destination_id):
                    graph.link(("e", end), ("m", memory_id), (1.0, _STATES), (1.0, _STATES), relation=len(graph.relations))
        graph.relations.append(rel)
    for memory_id, sides in _sides(adjacent).items():
        for side in sides:
            for distance, neighbour in enumerate(side, start=1):
                step = (STEP**distance, _CONVERSATION)
                graph.link(("m", memory_id), ("m", neighbour), step, step)
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


@dataclass(frozen=True)
class _Source:
    node: int
    strength: float
    context: bool  # a top hit (every edge) rather than a query entity (reach edges only)


def _widest_paths(graph: _Graph, sources: Sequence[_Source], rounds: int) -> _Floats:
    """best[s, v]: the strongest evidence source s gets to node v in at most ``rounds`` steps."""
    best = np.zeros((len(sources), len(graph.index)))
    for row, source in enumerate(sources):
        best[row, source.node] = source.strength
    if not graph.source or not sources:
        return best
    src = np.asarray(graph.source, dtype=np.int64)
    dst = np.asarray(graph.target, dtype=np.int64)
    order = np.argsort(dst, kind="stable")
    src, dst = src[order], dst[order]
    factor = np.asarray(graph.factor, dtype=np.float64)[order]
    reaching = np.isin(np.asarray(graph.kind, dtype=np.int64)[order], _REACH_KINDS)
    context = np.array([s.context for s in sources])
    factors = np.where(reaching[None, :] | context[:, None], factor[None, :], 0.0)
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
    targets = dst[starts]
    for _ in range(rounds):
        arriving = np.maximum.reduceat(best[:, src] * factors, starts, axis=1)
        improved = np.maximum(best[:, targets], arriving)
        if np.array_equal(improved, best[:, targets]):
            break
        best[:, targets] = improved
    return best


class GraphRanking:
    """Reach and context scores per memory, and the relations of the fetched subgraph."""

    def __init__(
        self, reach: dict[int, float], context: dict[int, float], relations: list[RelationRow],
        trace: _Trace | None = None,
    ) -> None:
        self.reach = reach
        self.context = context
        self.relations = relations
        self._trace = trace

    @property
    def memory_scores(self) -> dict[int, float]:
        """The larger of reach and context, per memory."""
        merged = dict(self.context)
        for memory_id, value in self.reach.items():
            merged[memory_id] = max(value, merged.get(memory_id, 0.0))
        return merged

    def relations_to(self, memory_id: int) -> list[RelationRow]:
        """The relations on the best path that brought this memory its graph evidence."""
        return [] if self._trace is None else self._trace.relations_to(memory_id)


def rank_memories(
    subgraph: Subgraph,
    adjacent: Sequence[tuple[int, int]],
    entity_sources: Mapping[int, float],
    memory_sources: Mapping[int, float],
    rounds: int = 4,
    stating: Collection[int] = (),
) -> GraphRanking:
    """Reach from ``entity_sources`` and context from ``memory_sources`` (see the module docstring);
    ``stating``: ids of the relations that state what the query asks."""
    graph = build_graph(subgraph, adjacent, stating)
    sources = [_Source(graph.node(("e", e)), min(1.0, s), False) for e, s in entity_sources.items() if s > 0]
    sources += [_Source(graph.node(("m", m)), min(1.0, s), True) for m, s in memory_sources.items() if s > 0]
    relations = list(graph.relations)
    if not sources:
        return GraphRanking({}, {}, relations)
    best = _widest_paths(graph, sources, rounds)
    others = best.copy()
    for row, source in enumerate(sources):
        others[row, source.node] = 0.0  # a source's own strength is no evidence for itself
    memories = [(key, node) for (kind, key), node in graph.index.items() if kind == "m"]
    split = sum(1 for s in sources if not s.context)
    reach = _column_max(others[:split], memories)
    context = _column_max(others[split:], memories)
    return GraphRanking(reach, context, relations, _Trace(graph, sources, best, others, rounds + 1))


def _column_max(rows: _Floats, memories: list[tuple[int, int]]) -> dict[int, float]:
    if rows.shape[0] == 0:
        return {}
    top = rows.max(axis=0)
    return {key: float(top[node]) for key, node in memories if top[node] > 0}


class _Trace:
    """What is needed to walk a memory's best path back to its source, on demand."""

    def __init__(self, graph: _Graph, sources: list[_Source], best: _Floats, others: _Floats, steps: int) -> None:
        self._graph = graph
        self._sources = sources
        self._best = best
        self._others = others
        self._steps = steps
        self._incoming: dict[int, list[int]] | None = None

    def relations_to(self, memory_id: int) -> list[RelationRow]:
        graph = self._graph
        node = graph.index.get(("m", memory_id))
        if not graph.relations or node is None or self._others[:, node].max(initial=0.0) <= 0:
            return []
        if self._incoming is None:
            self._incoming = {}
            for edge, target in enumerate(graph.target):
                self._incoming.setdefault(target, []).append(edge)
        row = int(self._others[:, node].argmax())
        path = self._walk_back(self._best[row], self._sources[row], node, [node], self._steps, set())
        return [graph.relations[graph.relation[e]] for e in path or [] if graph.relation[e] >= 0]

    def _walk_back(
        self, reach: _Floats, source: _Source, node: int, visited: list[int], steps: int,
        dead: set[tuple[int, int]],
    ) -> list[int] | None:
        """Edges of a path from the source to node that accounts for node's best score, if any."""
        if node == source.node:
            return []
        if steps == 0 or self._incoming is None or (node, steps) in dead:
            return None
        graph = self._graph
        for edge in self._incoming.get(node, []):
            origin = graph.source[edge]
            if origin in visited or not (source.context or graph.kind[edge] in _REACH_KINDS):
                continue
            if abs(reach[origin] * graph.factor[edge] - reach[node]) > 1e-9 * reach[node]:
                continue
            rest = self._walk_back(reach, source, origin, [*visited, origin], steps - 1, dead)
            if rest is not None:
                return [edge, *rest]
        dead.add((node, steps))
        return None
