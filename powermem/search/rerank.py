"""The top of the fused list, reordered by what each memory says about the query.

Fusion ranks by position in each signal's list: it cannot tell a memory that holds the
query's words and names from one that ranked well on a part of the question. Within the
first ``window`` results (``search.rerank_window``), a memory's ranking value gains
``COVERAGE_WEIGHT`` times the share of the query's term stems it contains and loses
``NAME_WEIGHT`` when the query names something and the memory mentions none of it: the
evidence the calibrated score reads (``powermem.search.calibration``); a memory the query's
names lead to over the graph counts as naming them. The names count even
when they are hubs (a speaker, the user's own name): too common to retrieve by, they still
tell two candidates apart. The weights were chosen on the LoCoMo dev conversations
(docs/benchmarks.md, "Reranking the fused top on LoCoMo").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from powermem.search.calibration import QueryEvidence
from powermem.stores.base import MemoryRow

COVERAGE_WEIGHT = 0.3
NAME_WEIGHT = 0.3


def reranked(
    rows: Sequence[MemoryRow], ranking: Mapping[int, float], query: QueryEvidence, window: int,
    reached: Collection[int] = (),
) -> list[MemoryRow]:
    """``rows`` (best first) with the first ``window`` reordered; the rest keep their order.
    ``reached``: the memories the query's names lead to over the graph (its ``reach``); they
    are about what the query names even when they do not mention it ("Giulia bakes bread"
    for "Lena's teacher's wife")."""
    head = list(rows[:window])
    value = {row.id: _value(row, ranking.get(row.id, 0.0), query, row.id in reached) for row in head}
    head.sort(key=lambda row: (-value[row.id], -row.id))
    return [*head, *rows[window:]]


def _value(row: MemoryRow, fused: float, query: QueryEvidence, reached: bool) -> float:
    _, coverage, no_name = query.features(row.memory, 0.0)
    return fused + COVERAGE_WEIGHT * coverage - (0.0 if reached else NAME_WEIGHT * no_name)
