"""Full-text search of memories: the Lucene query, and where the scope is applied.

Each memory carries opaque scope tokens in the ``memory_text`` index, so Lucene can keep a
search to its scope. For a scope holding most of the index that conjunction doubles the cost
of the query (12 vs 6 ms at 100,000 memories) for nothing, so the search first runs without
it and keeps the hits in scope, remembering per scope which share it kept (``ScopePlans``).
The scope clauses score 0: both plans return the same hits with the same scores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from typing import Any

from powermem.filters import FilterNode
from powermem.stores.base import Hit, Scope
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.filters import Params, compile_filter, memory_scope, where
from powermem.stores.neo4j.queries import Read
from powermem.stores.neo4j.scope_plans import FIRST_FETCH_FACTOR, MIN_FETCH, ScopePlans, next_fetch
from powermem.stores.neo4j.writes import scope_tokens

__all__ = ["MAX_POST_FILTER_FETCH", "fulltext_hits", "lucene_query", "scope_clause", "text_hits"]

# Past this over-fetch a full-text search of the scope asks Lucene for the scope instead: a
# small tenant in a large index would need a fetch as large as the index is to the tenant.
MAX_POST_FILTER_FETCH = 2_000

_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')


async def fulltext_hits(
    read: Read, plans: ScopePlans, scope: Scope, filters: FilterNode | None, terms: Sequence[str], k: int
) -> list[Hit]:
    """The k best memories of ``scope`` (and ``filters``) containing any of ``terms``."""
    text = lucene_query(terms)
    if text is None or k <= 0:
        return []
    params = Params("f")
    query = Q.FULLTEXT_MEMORIES.render(where=where(memory_scope(scope, params), compile_filter(filters, params)))
    values = {**params.values, "k": k}
    if not scope.empty:
        # Scope after Lucene, its share remembered per scope. A filtered search's share is
        # remembered too: an as_of passes most of a scope, and a selective filter's share only
        # makes the next search of the scope fetch more (or go straight to the scoped query).
        first = plans.first_fetch(scope, k)
        hits = await _grow(read, query, values, text, first, MAX_POST_FILTER_FETCH, plans, scope)
        if hits is not None:
            return hits
    # Scope inside Lucene: only filters make over-fetch necessary. Unbounded, so never None.
    first = k if filters is None else max(k * FIRST_FETCH_FACTOR, MIN_FETCH)
    return await _grow(read, query, values, text + scope_clause(scope), first, math.inf, plans, None) or []


async def _grow(
    read: Read, query: str, values: dict[str, Any], text: str, fetch: int, max_fetch: float, plans: ScopePlans,
    plan_key: Hashable | None,
) -> list[Hit] | None:
    """Fetch more until k hits pass or Lucene has no more; None once past ``max_fetch``."""
    while fetch <= max_fetch:
        row = (await read(query, {**values, "query": text, "fetch": fetch}))[0]
        plans.record(plan_key, row["fetched"], row["matched"])
        if len(row["hits"]) >= values["k"] or row["fetched"] < fetch:
            return text_hits(row["hits"])
        fetch = next_fetch(fetch, len(row["hits"]), values["k"])
    return None


def lucene_query(terms: Sequence[str]) -> str | None:
    """A Lucene query matching any of ``terms`` in the memory text.

    Each term is escaped (every special character backslashed) and quoted, so AND/OR/NOT and
    characters such as ``*`` are searched for literally, never interpreted. None: no terms.
    """
    quoted = ['"' + _LUCENE_SPECIAL.sub(r"\\\1", term) + '"' for term in terms if term and term.strip()]
    if not quoted:
        return None
    return "memory:(" + " OR ".join(quoted) + ")"


def scope_clause(scope: Scope) -> str:
    """Lucene clauses keeping a query to ``scope``; boosted to 0, they filter without scoring."""
    return "".join(" AND scope_tokens:" + token + "^0" for token in scope_tokens(scope).split())


def text_hits(pairs: Sequence[Sequence[Any]]) -> list[Hit]:
    """Full-text hits best first, ties by larger id as in the embedded store (Lucene breaks
    ties by its internal document order, which differs between query plans)."""
    return sorted((Hit(int(i), float(score)) for i, score in pairs), key=lambda h: (-h.score, -h.id))
