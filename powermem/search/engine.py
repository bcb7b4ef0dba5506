"""Hybrid search: vector, full-text and entity-linked graph expansion fused into one ranking.

No LLM call happens here. Every candidate, whichever signal found it, passes the scope and
filters in the store before it can be returned.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from powermem.config import SearchConfig
from powermem.embeddings.base import CachedQueryEmbedder, Vectors
from powermem.filters import FilterNode
from powermem.ingest.names import normalize_name
from powermem.ingest.offline import extract_entities
from powermem.records import memory_record, relation_record
from powermem.search.fusion import reciprocal_rank_fusion
from powermem.search.graph import GraphRanking, rank_memories
from powermem.search.text import STOPWORDS, search_terms
from powermem.stores.base import GraphStore, Hit, MemoryRow, Scope

_MAX_NGRAM = 3
_ENTITY_LINKS = 8


@dataclass
class _Signals:
    vector: list[Hit] = field(default_factory=list)
    fulltext: list[Hit] = field(default_factory=list)
    entities: dict[int, float] = field(default_factory=dict)
    graph: GraphRanking | None = None


def query_name_keys(query: str) -> list[str]:
    """Names the query may contain: its extracted names plus every 1-3 word n-gram."""
    keys = dict.fromkeys(normalize_name(n) for m in [extract_entities(query)] for n in m.strong + m.weak)
    words = normalize_name(query).split()
    for size in range(1, _MAX_NGRAM + 1):
        for start in range(len(words) - size + 1):
            gram = words[start : start + size]
            if not all(w in STOPWORDS for w in gram):
                keys[" ".join(gram)] = None
    return [k for k in keys if k][:64]


class SearchEngine:
    def __init__(self, store: GraphStore, embedder: CachedQueryEmbedder, config: SearchConfig) -> None:
        self._store = store
        self._embedder = embedder
        self.config = config

    async def search(
        self, query: str, scope: Scope, filters: FilterNode | None, limit: int, threshold: float | None,
        config: SearchConfig | None = None,
    ) -> dict[str, Any]:
        cfg = config or self.config
        vector = await self._embedder.embed_query(query) if (cfg.vector or cfg.graph) else None
        signals = await self._candidates(cfg, query, scope, filters, vector, max(cfg.candidate_pool, limit))
        if cfg.graph:
            signals.graph = await self._expand(cfg, scope, signals)
        rankings, rows = await self._rankings(cfg, scope, filters, signals)
        weights = {"vector": cfg.vector_weight, "fulltext": cfg.fulltext_weight, "graph": cfg.graph_weight}
        fused = reciprocal_rank_fusion(rankings, weights, cfg.rrf_k)
        ordered = sorted(fused, key=lambda i: (-fused[i], -i))
        results = []
        for memory_id in ordered:
            if threshold is not None and fused[memory_id] < threshold:
                continue
            record = memory_record(rows[memory_id])
            record["score"] = round(fused[memory_id], 6)
            record["scores"] = _signal_scores(memory_id, signals)
            results.append(record)
            if len(results) == limit:
                break
        return {"results": results, "relations": _connecting_relations(signals.graph, results)}

    async def _candidates(
        self, cfg: SearchConfig, query: str, scope: Scope, filters: FilterNode | None, vector: Vectors | None,
        pool: int,
    ) -> _Signals:
        signals = _Signals()
        jobs: list[Any] = []
        if cfg.vector and vector is not None:
            jobs.append(self._store.vector_search(scope, filters, vector, pool))
        if cfg.fulltext:
            jobs.append(self._store.fulltext_search(scope, filters, search_terms(query), pool))
        if cfg.graph and vector is not None:
            jobs.append(self._link_entities(cfg, query, scope, vector))
        done = iter(await asyncio.gather(*jobs))
        if cfg.vector and vector is not None:
            signals.vector = next(done)
        if cfg.fulltext:
            signals.fulltext = next(done)
        if cfg.graph and vector is not None:
            signals.entities = next(done)
        return signals

    async def _link_entities(self, cfg: SearchConfig, query: str, scope: Scope, vector: Vectors) -> dict[int, float]:
        named, similar = await asyncio.gather(
            self._store.entities_by_key(scope, query_name_keys(query)),
            self._store.similar_entities(scope, vector, _ENTITY_LINKS, cfg.entity_link_similarity),
        )
        links = {entity.id: score for entity, score in similar}
        links.update({entity.id: 1.0 for entity in named})
        return links

    async def _expand(self, cfg: SearchConfig, scope: Scope, signals: _Signals) -> GraphRanking:
        seeds: dict[int, float] = {}
        for hits in (signals.vector, signals.fulltext):
            for rank, hit in enumerate(hits[: cfg.seed_hits], start=1):
                seeds[hit.id] = seeds.get(hit.id, 0.0) + 1.0 / rank
        subgraph, adjacent = await asyncio.gather(
            self._store.expand(scope, list(signals.entities), list(seeds), cfg.hops, cfg.max_subgraph_nodes),
            self._store.adjacent(scope, list(seeds), cfg.adjacent_window),
        )
        return rank_memories(subgraph, adjacent, signals.entities, seeds)

    async def _rankings(
        self, cfg: SearchConfig, scope: Scope, filters: FilterNode | None, signals: _Signals
    ) -> tuple[dict[str, list[int]], dict[int, MemoryRow]]:
        graph_ids: list[int] = []
        if signals.graph is not None:
            scores = signals.graph.memory_scores
            graph_ids = sorted(scores, key=lambda i: (-scores[i], -i))[: cfg.candidate_pool]
        wanted = {h.id for h in signals.vector} | {h.id for h in signals.fulltext} | set(graph_ids)
        rows = {row.id: row for row in await self._store.get_many(sorted(wanted), scope, filters)}
        rankings: dict[str, list[int]] = {}
        if cfg.vector:
            rankings["vector"] = [h.id for h in signals.vector if h.id in rows]
        if cfg.fulltext:
            rankings["fulltext"] = [h.id for h in signals.fulltext if h.id in rows]
        if cfg.graph:
            rankings["graph"] = [i for i in graph_ids if i in rows]
        return rankings, rows


def _signal_scores(memory_id: int, signals: _Signals) -> dict[str, float]:
    scores: dict[str, float] = {}
    for hit in signals.vector:
        if hit.id == memory_id:
            scores["vector"] = round(max(0.0, min(1.0, hit.score)), 6)
    if signals.fulltext:
        best = signals.fulltext[0].score or 1.0
        for hit in signals.fulltext:
            if hit.id == memory_id:
                scores["fulltext"] = round(max(0.0, hit.score / best), 6)
    if signals.graph is not None and memory_id in signals.graph.memory_scores:
        best = max(signals.graph.memory_scores.values())
        scores["graph"] = round(signals.graph.memory_scores[memory_id] / best, 6)
    return scores


def _connecting_relations(graph: GraphRanking | None, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if graph is None:
        return []
    score_of = {r["id"]: r["score"] for r in results}
    found: dict[tuple[str, str, str], float] = {}
    for rel in graph.relations:
        score = score_of.get(rel.memory_id) if rel.memory_id is not None else None
        if score is None:
            continue
        key = (rel.source, rel.relationship, rel.destination)
        found[key] = max(found.get(key, 0.0), score)
    ordered = sorted(found.items(), key=lambda kv: -kv[1])
    return [{"source": s, "relationship": r, "destination": d, "score": sc} for (s, r, d), sc in ordered]
