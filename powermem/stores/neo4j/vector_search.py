"""Vector search of memories: exact scan, post-filtered index query or SEARCH, per scope.

A scope (tenant) holding at most ``exact_scan_limit`` candidates is ranked by an exact cosine
scan; a larger one goes through the vector index. On 5.26 the index cannot filter, so the
query over-fetches and keeps what belongs to the scope, growing the fetch until k match (or
scanning exactly when the scope is too rare in the index). Servers with the Cypher 25 SEARCH
clause filter inside the index, unless the scope is most of the index, where keeping the hits
in scope after the index is cheaper. ``ScopePlans`` remembers which scopes were large and their
share of index results, so the next search skips the count and asks for the right number. An
as_of search of a scope known to be large grows post-filtered fetches without counting first,
from the share that passed the scope's last as_of search.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

from powermem.filters import INT64, FilterNode
from powermem.stores.base import Hit, Scope
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.filters import Cypher, Params, compile_filter, memory_scope, where
from powermem.stores.neo4j.queries import Read
from powermem.stores.neo4j.rows import cosine, hits_of
from powermem.stores.neo4j.scope_plans import FIRST_FETCH_FACTOR, MAX_FETCH, MIN_FETCH, ScopePlans, next_fetch
from powermem.when import created_window

__all__ = ["POST_FILTER_SHARE", "memory_vector_hits"]

# An as_of search asks for twice what the recent as_of searches' rate says will not pass: of a
# tenant of 100,000 searched halfway through its history, 43-60% of a fetch passed, query by
# query, and a quarter more sent a fifth of the searches to a second fetch.
AS_OF_RATE_MARGIN = 2.0

# With SEARCH available, a scope holding at least this share of the index's results is still
# searched by a post-filtered index query: the cheaper plan when little is filtered out.
POST_FILTER_SHARE = 0.5


async def memory_vector_hits(
    read: Read, plans: ScopePlans, scope: Scope, filters: FilterNode | None, values: list[float], k: int,
    *, exact_scan_limit: int, search_clause: bool,
) -> list[Hit]:
    """The k memories of ``scope`` (and ``filters``) nearest ``values``, best first."""
    params = Params("f")
    condition = where(memory_scope(scope, params), compile_filter(filters, params))
    # A zero query vector has no cosine to anything: every memory scores 0, exactly scanned.
    zero = not any(values)
    limit = INT64[1] - 1 if zero else exact_scan_limit
    # Filters vary per call; only a plain scope search is planned from the ones before it.
    plan_key = scope if filters is None and not zero else None
    large = not zero and plans.is_large(scope)
    if large and _keeps_the_past(filters):
        return await _as_of_search(read, plans, scope, condition, params.values, values, k)
    if plan_key is None or not large:
        exact = await read(
            Q.VECTOR_EXACT.render(where=condition),
            {**params.values, "vector": values, "k": k, "cap": limit + 1, "zero": zero},
        )
        if exact[0]["candidates"] <= limit:
            return hits_of(exact[0]["hits"])
        if not zero:  # more than the limit passed the filters, so the scope holds more still
            plans.mark_large(scope)
    if filters is None and search_clause and not scope.empty:
        # SEARCH filters inside the index, which costs more than keeping the hits in scope
        # after it when the scope is most of the index (18 vs 10 ms of server time for one
        # tenant of 100,000 on 2026.08): such a scope, or one not yet measured, tries one
        # post-filtered fetch first, which also measures its share.
        share = plans.share(plan_key)
        if share is None or share >= POST_FILTER_SHARE:
            hits = await _ann_fetch(read, plans, condition, params.values, values, k, plan_key)
            if hits is not None:
                return hits
        hits = await _search_clause_query(read, scope, values, k)
        if len(hits) >= k:
            return hits
    return await _ann_search(read, plans, condition, params.values, values, k, plan_key)


def _keeps_the_past(filters: FilterNode | None) -> bool:
    """Whether ``filters`` are an as_of alone: an upper bound on the creation time, which keeps
    most of a scope unless the as_of is early. A period (a lower bound too) keeps a slice."""
    window = created_window(filters)
    return window is not None and all(op in ("lt", "lte") for op, _ in window.bounds)


async def _as_of_search(
    read: Read, plans: ScopePlans, scope: Scope, condition: Cypher, params: dict[str, Any], vector: list[float], k: int,
) -> list[Hit]:
    """An as_of search of a large scope: no count of what the as_of keeps (it would read much of
    the scope), but post-filtered index queries sized by the share that passed the scope's recent
    as_of searches; the first time, 4 x what a plain search of the scope asks for."""
    as_of_key = (scope, "as_of")
    if plans.share(as_of_key) is None:
        first = min(MAX_FETCH, max(MIN_FETCH, math.ceil(k / (plans.share(scope) or 1.0)) * FIRST_FETCH_FACTOR))
    else:
        # What passes varies more from query to query (and with the as_of) than a scope's share.
        first = plans.first_fetch(as_of_key, k, margin=AS_OF_RATE_MARGIN)
    return await _ann_search(read, plans, condition, params, vector, k, as_of_key, first)


async def _search_clause_query(read: Read, scope: Scope, vector: list[float], k: int) -> list[Hit]:
    params = Params("s")
    query = Q.VECTOR_SEARCH_FILTERED.render(scope=memory_scope(scope, params))
    rows = await read(query, {**params.values, "vector": vector, "k": k})
    return [Hit(int(row["id"]), cosine(row["score"])) for row in rows]


async def _ann_fetch(
    read: Read, plans: ScopePlans, condition: Cypher, params: dict[str, Any], vector: list[float], k: int,
    plan_key: Hashable | None,
) -> list[Hit] | None:
    """One post-filtered fetch of the size the scope's share asks for: its k hits, or None."""
    query = Q.VECTOR_ANN.render(where=condition)
    row = await _ann_row(read, plans, query, params, vector, k, plans.first_fetch(plan_key, k), plan_key)
    return hits_of(row["hits"]) if len(row["hits"]) >= k else None


async def _ann_search(
    read: Read, plans: ScopePlans, condition: Cypher, params: dict[str, Any], vector: list[float], k: int,
    plan_key: Hashable | None, first: int | None = None,
) -> list[Hit]:
    """Post-filtered ANN: grow the over-fetch (from ``first``, or what the scope's plan says)
    until k hits match or the index runs dry."""
    fetch = first or plans.first_fetch(plan_key, k)
    query = Q.VECTOR_ANN.render(where=condition)
    while fetch <= MAX_FETCH:
        row = await _ann_row(read, plans, query, params, vector, k, fetch, plan_key)
        if len(row["hits"]) >= k:
            return hits_of(row["hits"])
        if row["fetched"] < fetch:
            break  # the index gave all it would (HNSW may stop short of the whole store)
        fetch = next_fetch(fetch, len(row["hits"]), k)
    # A selective filter over a large scope: scan the filtered set exactly, without a cap.
    exact = await read(
        Q.VECTOR_EXACT.render(where=condition), {**params, "vector": vector, "k": k, "cap": INT64[1], "zero": False}
    )
    return hits_of(exact[0]["hits"])


async def _ann_row(
    read: Read, plans: ScopePlans, query: str, params: dict[str, Any], vector: list[float], k: int, fetch: int,
    plan_key: Hashable | None,
) -> dict[str, Any]:
    """One post-filtered index query of ``fetch`` results; the share that passed is remembered."""
    row = (await read(query, {**params, "vector": vector, "k": k, "fetch": fetch}))[0]
    plans.record(plan_key, row["fetched"], row["matched"])
    return row
