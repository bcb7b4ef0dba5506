"""Hybrid search: vector, full-text and graph retrieval fused by rank, plus graph context.

No LLM call happens here. Every candidate, whichever signal found it, passes the scope and
filters in the store before it can be returned.

1. Retrieval. The vector top-k; the entities the query names (or whose embeddings are near
   it); then the full-text top-k. A name that at least half the tenant's memories mention
   (a speaker, the user's own name) has no BM25 weight inside the tenant, but the stores'
   full-text statistics are global across tenants and would count it as rare: such *hub*
   names are left out of the full-text terms and do not seed the graph.
2. Graph (``graph: true``). The store fetches the subgraph around the linked entities and
   the top fused hits (MENTIONS, valid relations up to ``hops``) and the hits' conversation
   neighbours. ``reach`` ranks the memories the query's names lead to, directly or through
   relations: a third ranked signal. ``context`` scores each memory by the evidence of the
   other top hits that reaches it (see ``powermem.search.graph``). A question that names a
   role chain ("Maya's manager") is resolved over the relations first, and the entities it
   reaches are searched too (``powermem.search.paths``): multi-hop recall, offline.
3. Fusion. Reciprocal-rank fusion of the ranked signals, normalised so that a memory ranked
   first by every enabled signal fuses to 1; the ranking value adds ``graph_weight * context``:
   a memory ranks high on its own evidence, on that of what it is connected to, or both.
4. Rerank. The first ``rerank_window`` of that order are reordered by the query's words and
   names they hold (``powermem.search.rerank``).
5. Score. The ``score`` shown, and compared with ``threshold``, is the calibrated relevance of
   ``powermem.search.calibration``, made monotone by rank.

Neither store's full-text index stems words: the full-text search also asks for the terms'
regular inflections (``inflect_terms``, ``powermem.text.terms.with_inflections``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from powermem.config import SearchConfig
from powermem.embeddings.base import CachedQueryEmbedder, Vectors
from powermem.expiring import Expiring
from powermem.filters import FilterNode, format_timestamp
from powermem.records import memory_record
from powermem.search import paths
from powermem.search.calibration import SCORE_WINDOW, QueryEvidence, calibrated_scores
from powermem.search.fusion import reciprocal_rank_fusion
from powermem.search.graph import STEP, GraphRanking, rank_memories
from powermem.search.periods import Period, query_period
from powermem.search.rerank import reranked
from powermem.stores.base import EntityRow, GraphStore, Hit, MemoryRow, Scope
from powermem.text.extract import extract_entities
from powermem.text.names import normalize_name
from powermem.text.relations import RoleChain
from powermem.text.stopwords import TERM_STOPWORDS
from powermem.text.terms import search_terms, with_inflections
from powermem.when import created_between, created_by

_MAX_NGRAM = 3
_ENTITY_LINKS = 8
_TENANT_SIZE_TTL = 60.0  # seconds a tenant's memory count is reused for telling hub names
_TENANT_SIZE_ENTRIES = 1024


@dataclass
class _Signals:
    vector: list[Hit] = field(default_factory=list)
    fulltext: list[Hit] = field(default_factory=list)
    named: list[EntityRow] = field(default_factory=list)
    entities: dict[int, float] = field(default_factory=dict)  # linked entity -> link confidence
    mentions: dict[int, int] = field(default_factory=dict)  # linked entity -> memories mentioning it
    hubs: set[int] = field(default_factory=set)
    fused: dict[int, float] = field(default_factory=dict)
    graph: GraphRanking | None = None
    context: dict[int, float] = field(default_factory=dict)
    evidence: QueryEvidence | None = None
    period: list[Hit] = field(default_factory=list)  # memories of the period the query names
    facts: paths.QueryFacts = field(default_factory=paths.QueryFacts)
    resolved: paths.Resolved | None = None


def query_name_keys(query: str) -> list[str]:
    """Names the query may contain: its extracted names plus every 1-3 word n-gram."""
    keys = dict.fromkeys(normalize_name(n) for m in [extract_entities(query)] for n in m.strong + m.weak)
    words = normalize_name(query).split()
    for size in range(1, _MAX_NGRAM + 1):
        for start in range(len(words) - size + 1):
            gram = words[start : start + size]
            if not all(w in TERM_STOPWORDS for w in gram):
                keys[" ".join(gram)] = None
    return [k for k in keys if k][:64]


def _analyse(query: str, names: bool, terms: bool) -> tuple[list[str], list[str], paths.QueryFacts, QueryEvidence]:
    """The query's name keys, full-text terms and what it asks (``paths``), each only if needed,
    and what the score compares results with. CPU work linear in the query (up to 64 KiB), so
    the engine runs it off the event loop."""
    facts = paths.analyse(query) if names else paths.QueryFacts()
    return (query_name_keys(query) if names else [], search_terms(query) if terms else [], facts,
            QueryEvidence(query))


def is_hub(degree: int, tenant_memories: int, pool: int) -> bool:
    """A name mentioned by at least half the tenant's memories (its BM25 IDF within the tenant
    is not positive) and by more memories than one candidate pool holds."""
    return degree >= pool and 2 * degree >= tenant_memories


def hub_terms(terms: Sequence[str], hub_names: Sequence[str]) -> list[str]:
    """``terms`` without the words of the hub names."""
    dropped = {t for name in hub_names for t in search_terms(name)}
    return [t for t in terms if t not in dropped]


def combined_scores(fused: Mapping[int, float], context: Mapping[int, float], weight: float) -> dict[int, float]:
    """Ranking score: own fused evidence plus weighted graph context (unclipped)."""
    scores = dict(fused)
    if weight > 0:
        for memory_id, value in context.items():
            scores[memory_id] = scores.get(memory_id, 0.0) + weight * value
    return scores


class _TenantSizes:
    """How many memories an entity tenant holds: an indexed count, reused for a minute."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._counts: Expiring[Scope, int] = Expiring(_TENANT_SIZE_TTL, _TENANT_SIZE_ENTRIES)

    async def count(self, scope: Scope) -> int:
        tenant = Scope(user_id=scope.user_id, agent_id=scope.agent_id)
        cached = self._counts.get(tenant)
        if cached is not None:
            return cached
        _, total = await self._store.list_memories(tenant, None, 1, 0, "id", True)
        self._counts.put(tenant, total)
        return total


class _KnownHubs:
    """The hub names last seen per graph tenant, reused for a minute: a hub is mentioned by
    half the tenant, which a few adds do not change, so the full-text search can leave its
    words out before linking has counted its mentions again."""

    def __init__(self) -> None:
        self._names: Expiring[str, frozenset[str]] = Expiring(_TENANT_SIZE_TTL, _TENANT_SIZE_ENTRIES)

    def get(self, scope: Scope) -> frozenset[str]:
        return self._names.get(scope.graph_tenant) or frozenset()

    def update(self, scope: Scope, hubs: Sequence[str], others: Sequence[str]) -> None:
        """What one search found: of the names it linked, which are hubs and which not."""
        self._names.put(scope.graph_tenant, (self.get(scope) - frozenset(others)) | frozenset(hubs))


class SearchEngine:
    def __init__(self, store: GraphStore, embedder: CachedQueryEmbedder, config: SearchConfig) -> None:
        self._store = store
        self._embedder = embedder
        self._sizes = _TenantSizes(store)
        self._hubs_seen = _KnownHubs()
        self.config = config

    async def search(
        self, query: str, scope: Scope, filters: FilterNode | None, limit: int, threshold: float | None,
        config: SearchConfig | None = None, as_of: str | None = None,
    ) -> dict[str, Any]:
        cfg = config or self.config
        # As of a time: the memories created by then, the relations valid then.
        filters = created_by(filters, as_of)
        period = query_period(query, datetime.fromisoformat(as_of) if as_of else datetime.now(UTC))
        vector = await self._embedder.embed_query(query) if (cfg.vector or cfg.graph or period) else None
        if vector is not None and not np.any(vector):
            vector = None  # a query with nothing to embed (only punctuation) has no similarity to anything
        pool = max(cfg.candidate_pool, limit)
        signals = await self._retrieve(cfg, query, scope, filters, vector, pool)
        if period is not None and cfg.time_weight > 0:
            signals.period = await self._in_period(scope, filters, vector, period, pool)
            if not _sets_apart(signals.period, signals.vector):
                period, signals.period = None, []
        rankings = {"vector": [h.id for h in signals.vector], "fulltext": [h.id for h in signals.fulltext], "graph": [],
                    "time": [h.id for h in signals.period]}
        weights = {"vector": cfg.vector_weight if cfg.vector else 0.0,
                   "fulltext": cfg.fulltext_weight if cfg.fulltext else 0.0,
                   "graph": cfg.graph_weight if cfg.graph else 0.0,
                   "time": cfg.time_weight if period is not None else 0.0}
        signals.fused = reciprocal_rank_fusion(rankings, weights, cfg.rrf_k)
        if cfg.graph:
            signals.graph = await self._graph(cfg, scope, signals, as_of)
            reach, retrieved = signals.graph.reach, signals.fused
            rankings["graph"] = sorted(reach, key=lambda i: (-reach[i], -retrieved.get(i, 0.0), -i))[:pool]
            signals.fused = reciprocal_rank_fusion(rankings, weights, cfg.rrf_k)
            signals.context = signals.graph.context
        ranking = combined_scores(signals.fused, signals.context, cfg.graph_weight if cfg.graph else 0.0)
        ordered = sorted(ranking, key=lambda i: (-ranking[i], -i))
        evidence = signals.evidence or QueryEvidence(query)
        shown = max(limit, SCORE_WINDOW)
        rows = await self._fetch(ordered, scope, filters, max(shown, cfg.rerank_window))
        reached = signals.graph.reach if signals.graph is not None else {}
        rows = reranked(rows, ranking, evidence, cfg.rerank_window, reached)[:shown]
        per_signal = [_signal_scores(row.id, signals) for row in rows]
        scores = calibrated_scores(self._embedder.score_model, evidence,
                                   [(row.memory, s.get("vector", 0.0)) for row, s in zip(rows, per_signal, strict=True)])
        results = []
        # Scores never rise down the list: those at or above the threshold are a prefix of it.
        for row, signal_scores, score in zip(rows[:limit], per_signal, scores, strict=False):
            if threshold is not None and score < threshold:
                break
            record = memory_record(row)
            record["score"] = score
            record["scores"] = signal_scores
            results.append(record)
        return {"results": results, "relations": _connecting_relations(signals.graph, results)}

    async def _retrieve(
        self, cfg: SearchConfig, query: str, scope: Scope, filters: FilterNode | None, vector: Vectors | None,
        pool: int,
    ) -> _Signals:
        signals = _Signals()
        # The vector search runs beside the rest. The full-text search starts as soon as the
        # query's terms are known, beside entity linking too: only a hub name (whose words it
        # drops) or a resolved role chain (whose names it adds) changes its terms, and then it
        # runs again; that is rare, and waiting for linking would put it on every search's path.
        jobs: dict[str, asyncio.Future[list[Hit]]] = {}
        if cfg.vector and vector is not None:
            jobs["vector"] = asyncio.ensure_future(self._store.vector_search(scope, filters, vector, pool))
        try:
            linking = cfg.graph and vector is not None
            name_keys, terms, signals.facts, signals.evidence = await asyncio.to_thread(
                _analyse, query, linking, cfg.fulltext)
            searched = _text_terms(cfg, terms, sorted(self._hubs_seen.get(scope)))
            if cfg.fulltext:
                jobs["text"] = asyncio.ensure_future(self._store.fulltext_search(scope, filters, searched, pool))
            if linking and vector is not None:
                await self._link_entities(cfg, name_keys, scope, vector, signals)
                signals.hubs = await self._hubs(scope, signals.mentions, pool)
                if signals.facts.chain is not None:
                    signals.resolved = await paths.resolve(self._store, scope, signals.facts.chain, signals.named)
            if signals.resolved is not None and signals.facts.chain is not None:
                terms = self._follow_chain(cfg, query, scope, filters, pool, terms, signals.resolved,
                                           signals.facts.chain, signals, jobs)
            hub_names = [e.name for e in signals.named if e.id in signals.hubs]
            if linking:
                self._hubs_seen.update(scope, hub_names, [e.name for e in signals.named if e.id not in signals.hubs])
            if cfg.fulltext:
                final = _text_terms(cfg, terms, hub_names)
                if final != searched:
                    jobs.pop("text").cancel()
                    jobs["text"] = asyncio.ensure_future(self._store.fulltext_search(scope, filters, final, pool))
                signals.fulltext = await jobs["text"]
        except BaseException:
            for job in jobs.values():
                job.cancel()
            await asyncio.gather(*jobs.values(), return_exceptions=True)
            raise
        if "vector" in jobs:
            signals.vector = await jobs["vector"]
        if "hop" in jobs:
            signals.vector = _merged_hits(signals.vector, await jobs["hop"], pool)
        return signals

    def _follow_chain(
        self, cfg: SearchConfig, query: str, scope: Scope, filters: FilterNode | None, pool: int, terms: list[str],
        resolved: paths.Resolved, chain: RoleChain, signals: _Signals, jobs: dict[str, asyncio.Future[list[Hit]]],
    ) -> list[str]:
        """Point the search at what a resolved role chain reached; its names join the terms."""
        names = [e.name for e in resolved.entities]
        # The question is about what the chain reached, not about its anchor.
        signals.entities[resolved.anchor.id] = STEP
        signals.entities.update({e.id: 1.0 for e in resolved.entities})
        if cfg.vector:
            hop_query = paths.rewritten(query, chain, names)
            jobs["hop"] = asyncio.ensure_future(self._hop_vector(hop_query, scope, filters, pool))
        return [*terms, *(t for t in search_terms(" ".join(names)) if t not in terms)]

    async def _hop_vector(self, query: str, scope: Scope, filters: FilterNode | None, pool: int) -> list[Hit]:
        vector = await self._embedder.embed_query(query)
        return await self._store.vector_search(scope, filters, vector, pool) if np.any(vector) else []

    async def _link_entities(
        self, cfg: SearchConfig, name_keys: list[str], scope: Scope, vector: Vectors, signals: _Signals
    ) -> None:
        named, similar = await asyncio.gather(
            self._store.entities_by_key(scope, name_keys),
            self._store.similar_entities(scope, vector, _ENTITY_LINKS, cfg.entity_link_similarity),
        )
        signals.named = named
        signals.entities = {entity.id: score for entity, score in similar}
        signals.entities.update({entity.id: 1.0 for entity in named})
        signals.mentions = {entity.id: entity.mentions for entity in [*named, *(e for e, _ in similar)]}

    async def _hubs(self, scope: Scope, degrees: Mapping[int, int], pool: int) -> set[int]:
        """The linked entities that are hubs (``is_hub``): their degree, then the tenant's size."""
        frequent = {e for e, degree in degrees.items() if degree >= pool}
        if not frequent:
            return set()  # below one candidate pool no name is a hub: no need to count the tenant
        total = await self._sizes.count(scope)
        return {e for e in frequent if is_hub(degrees[e], total, pool)}

    async def _in_period(
        self, scope: Scope, filters: FilterNode | None, vector: Vectors | None, period: Period, pool: int
    ) -> list[Hit]:
        """The time signal: the memories created in the period, nearest the query first (no
        query vector: newest first)."""
        start, end = (format_timestamp(t) for t in (period.start, period.end))
        within = created_between(filters, start, end)
        if vector is not None:
            return await self._store.vector_search(scope, within, vector, pool)
        rows, _ = await self._store.list_memories(scope, within, pool, 0, "created_at", True)
        return [Hit(row.id, 1.0) for row in rows]

    async def _graph(self, cfg: SearchConfig, scope: Scope, signals: _Signals, as_of: str | None) -> GraphRanking:
        fused = signals.fused
        seeds = {i: fused[i] for i in sorted(fused, key=lambda i: (-fused[i], -i))[: cfg.seed_hits]}
        sources = {e: s for e, s in signals.entities.items() if e not in signals.hubs}
        if not seeds and not sources:
            return GraphRanking({}, {}, [])
        subgraph, adjacent = await asyncio.gather(
            self._store.expand(scope, sorted(sources), sorted(seeds), cfg.hops, cfg.max_subgraph_nodes, as_of),
            self._store.adjacent(scope, sorted(seeds), cfg.adjacent_window),
        )
        stating = paths.stating(subgraph.relations, signals.facts, signals.resolved)
        return rank_memories(subgraph, adjacent, sources, seeds, rounds=cfg.hops + 2, stating=stating)

    async def _fetch(
        self, ordered: list[int], scope: Scope, filters: FilterNode | None, limit: int
    ) -> list[MemoryRow]:
        """Rows of the best candidates that pass scope and filters, best first."""
        found: list[MemoryRow] = []
        start, chunk = 0, max(limit, 10)
        while len(found) < limit and start < len(ordered):
            batch = ordered[start : start + chunk]
            rows = {row.id: row for row in await self._store.get_many(batch, scope, filters)}
            found.extend(rows[i] for i in batch if i in rows)
            start, chunk = start + len(batch), chunk * 2
        return found[:limit]


def _text_terms(cfg: SearchConfig, terms: list[str], hub_names: Sequence[str]) -> list[str]:
    """The full-text search's terms: without the words of hub names, with their inflections."""
    if hub_names:
        terms = hub_terms(terms, hub_names)
    return with_inflections(terms) if cfg.inflect_terms else terms


def _sets_apart(in_period: list[Hit], vector: list[Hit]) -> bool:
    """Whether the period a query names sets some of its vector hits apart. When every vector hit
    was created in the period ("in 2023" of a conversation held in 2023), the period's nearest
    memories are the vector hits again, in the same order: a time signal would weigh similarity
    twice and push out what the other signals found."""
    inside = {hit.id for hit in in_period}
    return not vector or not all(hit.id in inside for hit in vector)


def _merged_hits(first: list[Hit], second: list[Hit], pool: int) -> list[Hit]:
    """Vector hits of the question and of its resolved form: each memory at its better
    similarity, best first."""
    best: dict[int, float] = {}
    for hit in [*first, *second]:
        best[hit.id] = max(hit.score, best.get(hit.id, -1.0))
    return [Hit(i, s) for i, s in sorted(best.items(), key=lambda kv: (-kv[1], -kv[0]))][:pool]


def _signal_scores(memory_id: int, signals: _Signals) -> dict[str, float]:
    scores: dict[str, float] = {}
    for hit in signals.vector:
        if hit.id == memory_id:
            scores["vector"] = round(max(0.0, min(1.0, hit.score)), 6)
            break
    if signals.fulltext:
        best = signals.fulltext[0].score or 1.0
        for hit in signals.fulltext:
            if hit.id == memory_id:
                scores["fulltext"] = round(max(0.0, min(1.0, hit.score / best)), 6)
                break
    if any(hit.id == memory_id for hit in signals.period):
        scores["time"] = 1.0  # created in the period the query names
    if signals.graph is not None:
        if memory_id in signals.graph.reach:
            scores["graph"] = round(signals.graph.reach[memory_id], 6)
        if memory_id in signals.context:
            scores["context"] = round(signals.context[memory_id], 6)
    return scores


def _connecting_relations(graph: GraphRanking | None, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facts that connected the results: on a result's best graph path, or stated by a result."""
    if graph is None:
        return []
    score_of = {r["id"]: r["score"] for r in results}
    found: dict[tuple[str, str, str], float] = {}

    def note(source: str, relationship: str, destination: str, score: float) -> None:
        key = (source, relationship, destination)
        found[key] = max(found.get(key, 0.0), score)

    for result in results:
        for rel in graph.relations_to(result["id"]):
            note(rel.source, rel.relationship, rel.destination, result["score"])
    for rel in graph.relations:
        scores = [score_of[m] for m in rel.memory_ids if m in score_of]
        if scores:
            note(rel.source, rel.relationship, rel.destination, max(scores))
    ordered = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"source": s, "relationship": r, "destination": d, "score": sc} for (s, r, d), sc in ordered]
