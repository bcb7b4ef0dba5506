"""Full-text search of the embedded store: FTS5 BM25 with its cost bounded on common words.

FTS5 scores every document a query matches (a few microseconds each), and its BM25 first
counts each term's postings for the IDF, so a common word makes a query cost as much as the
store is large. Three bounds keep the work near a candidate pool's worth:

- The rarest terms whose postings fit a budget are kept, the rarest always: common words
  carry the least BM25 weight and the rare ones fill a k-sized pool on their own (the idea
  behind Lucene's max-score pruning).
- When the kept terms match more than ``8 k`` memories, they are ranked among the scope's
  newest ``8 k`` memories that hold one, and never among fewer than its newest 2,000 (the
  budget). A scope of up to 2,000 memories (a conversation, a user's memories) is ranked
  whole, exactly as without the window, and cheaply when other tenants hold most matches; a
  large tenant gets the best matches of its recent past, while the vector search still covers
  all of it.
- When even the rarest term matches more memories than the budget (a tenant whose every word
  is common: a support bot's "customer", "order" and its agents' names), BM25 on it alone
  would rank by length; the term ranked is the rarest within the first window of the scope's
  newest memories (from ``8 k``, widened fourfold until it holds k hits or the whole scope)
  that holds any, counted there, so no full posting list is read to choose it, and only that
  one term's IDF is counted.

Counting a term up to the budget reads that many postings; a term found past it is
remembered as such for a minute (``CommonTerms``), so that a tenant's everyday words are not
recounted on every search. The FTS index is global (its rowid is the memory id); scope and
filters apply by joining ``memories``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from powermem.expiring import Expiring
from powermem.stores.base import Hit

POSTING_BUDGET = 2_000
RANKED_PER_HIT = 8  # memories FTS5 may score per hit asked for before a window bounds it
_LOWEST_ID = -(2**63)
_HIGHEST_ID = 2**63 - 1
COMMON_TTL = 60.0  # seconds a term found past the budget is taken to be past it still
_COMMON_ENTRIES = 4_096


class CommonTerms:
    """Terms last counted past a cap, and when: within ``COMMON_TTL`` they are not recounted."""

    def __init__(self) -> None:
        self._seen: Expiring[str, int] = Expiring(COMMON_TTL, _COMMON_ENTRIES)  # term -> capped count

    def clear(self) -> None:
        self._seen.clear()

    def counts(self, conn: sqlite3.Connection, terms: Sequence[str], cap: int) -> dict[str, int]:
        """``posting_counts(conn, terms, cap)``, a known common term taken at the cap."""
        known = {term: cap for term in terms if (self._seen.get(term) or 0) >= cap}
        rest = [t for t in terms if t not in known]
        counted = posting_counts(conn, rest, cap) if rest else {}
        for term, count in counted.items():
            if count >= cap:
                self._seen.put(term, count)
        return known | counted


def search(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], terms: Sequence[str], k: int,
    common: CommonTerms | None = None, scope: tuple[str, Sequence[Any]] | None = None,
    created_until: str | None = None,
) -> list[Hit]:
    """The top ``k`` memories passing ``where`` (over ``memories``, with ``params``) by BM25.

    ``scope``: the scope's own condition and parameters when ``where`` adds filters to it. The
    windows of the newest memories are counted over the scope alone, through its index: a
    filter (an as_of's ``created_at``) would make each count read every row it passes over.
    ``created_until``: the latest ``created_at`` that ``where`` allows (an as_of), when the
    scope's ``created_at`` index can find the newest memory created by then; the windows start
    there instead of at the scope's newest memory, which the as_of rejects.
    """
    bounds = scope or (where, params)
    if not terms:
        return []
    budget = max(POSTING_BUDGET, k * 40)
    counts = (common or CommonTerms()).counts(conn, terms, budget + 1)
    present = [t for t in terms if counts.get(t)]
    if not present:  # no term occurs in any memory
        return []
    kept = affordable(present, counts, budget)
    if sum(counts[t] for t in kept) <= k * RANKED_PER_HIT:
        return _ranked(conn, _match(kept), where, params, k)
    top = _top_of(conn, bounds, created_until)
    if top is None:  # nothing in the scope, or nothing created by then
        return []
    if counts[kept[0]] > budget:  # every term is common
        return _among_newest(conn, where, params, bounds, top, present, k)
    return _among_newest_matches(conn, where, params, bounds, top, kept, k)


def affordable(terms: Sequence[str], counts: dict[str, int], budget: int) -> list[str]:
    """The rarest terms whose postings fit ``budget``; the rarest always stays."""
    kept: list[str] = []
    spent = 0
    for term in sorted(terms, key=lambda t: counts[t]):
        if kept and spent + counts[term] > budget:
            break
        kept.append(term)
        spent += counts[term]
    return kept


def posting_counts(
    conn: sqlite3.Connection, terms: Sequence[str], cap: int, floor: int = _LOWEST_ID, ceiling: int = _HIGHEST_ID
) -> dict[str, int]:
    """How many memories with an id from ``floor`` to ``ceiling`` hold each term, counted up
    to ``cap``: a capped count stops reading the term's postings, and the bounds seek past the
    others (FTS5's vocabulary table would read them all: 3 ms a term at 100,000)."""
    one = ("SELECT ?, (SELECT count(*) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? "
           "AND rowid BETWEEN ? AND ? LIMIT ?))")
    values = [v for term in terms for v in (term, _match([term]), floor, ceiling, cap)]
    return dict(conn.execute(" UNION ALL ".join([one] * len(terms)), values).fetchall())


def _match(terms: Sequence[str]) -> str:
    # Each term is a quoted FTS5 string: operators and syntax in user text are searched for.
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _ranked(conn: sqlite3.Connection, match: str, where: str, params: Sequence[Any], k: int) -> list[Hit]:
    # FTS5 ranks inside the index with a bounded window first (its ORDER BY rank LIMIT path);
    # only when scope and filters leave fewer than k does it rank every match.
    hits: list[Hit] = []
    for window in (k * 8, -1):
        sql = (
            "SELECT id, s FROM memories JOIN (SELECT rowid AS fts_id, -rank AS s FROM memory_fts "
            f"WHERE memory_fts MATCH ? ORDER BY rank LIMIT ?) ON fts_id = id WHERE {where} "
            "ORDER BY s DESC, id DESC LIMIT ?"
        )
        hits = [Hit(r[0], float(r[1])) for r in conn.execute(sql, [match, window, *params, k])]
        if len(hits) >= k or window < 0 or not _window_full(conn, match, window):
            return hits
    return hits


def _window_full(conn: sqlite3.Connection, match: str, window: int) -> bool:
    sql = "SELECT count(*) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? LIMIT ?)"
    return bool(conn.execute(sql, (match, window + 1)).fetchone()[0] > window)


@dataclass(frozen=True)
class _Top:
    start: int  # the windows count down from this id
    newest: int  # the scope's newest id: a whole-scope ranking reaches it


def _top_of(conn: sqlite3.Connection, bounds: tuple[str, Sequence[Any]], created_until: str | None) -> _Top | None:
    """Where the windows start, and the scope's newest id (None: no memory to rank)."""
    newest = conn.execute(f"SELECT max(id) FROM memories WHERE {bounds[0]}", list(bounds[1])).fetchone()[0]
    if newest is None:
        return None
    if created_until is None:
        return _Top(newest, newest)
    # The newest by creation time, not by id: ids follow insertion, and an import may insert
    # older memories later. Those (ids above the start) join the ranking once it is whole.
    sql = f"SELECT id FROM memories WHERE {bounds[0]} AND created_at <= ? ORDER BY created_at DESC LIMIT 1"
    latest = conn.execute(sql, [*bounds[1], created_until]).fetchone()
    return None if latest is None else _Top(int(latest[0]), newest)


def _among_newest_matches(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], bounds: tuple[str, Sequence[Any]], top: _Top,
    terms: Sequence[str], k: int,
) -> list[Hit]:
    """``terms`` ranked among the scope's ``8 k`` newest memories that hold any of them (from
    ``top.start`` down), and never among fewer than its newest ``max(POSTING_BUDGET, 40 k)``;
    a scope that holds fewer is ranked whole."""
    first = _grown(conn, _below(bounds, top), _Window(0, top.start + 1, False), max(POSTING_BUDGET, k * 40))
    match = _match(terms)
    if first.whole:
        return _ranked_from(conn, match, (first.floor, top.newest), where, params, k)
    # Walking the terms' postings down from the start costs about what ranking them does; a
    # window counted in memories read a large scope's index ~85 ns an entry, for 30,000 to
    # 130,000 entries at a million memories.
    nth = _nth_newest_match(conn, bounds, top.start, match, k * RANKED_PER_HIT)
    ids = (min(first.floor, nth), top.start) if nth is not None else (_LOWEST_ID, top.newest)
    return _ranked_from(conn, match, ids, where, params, k)


def _nth_newest_match(
    conn: sqlite3.Connection, bounds: tuple[str, Sequence[Any]], start: int, match: str, nth: int
) -> int | None:
    """The id of the scope's ``nth`` newest memory at or below ``start`` that ``match`` finds."""
    # CROSS JOIN keeps FTS5 outside: the planner would otherwise walk the scope's whole index
    # and look each memory up in the full-text index.
    sql = (
        "SELECT memory_fts.rowid FROM memory_fts CROSS JOIN memories ON memories.id = memory_fts.rowid "
        f"WHERE memory_fts MATCH ? AND memory_fts.rowid <= ? AND {bounds[0]} "
        "ORDER BY memory_fts.rowid DESC LIMIT 1 OFFSET ?"
    )
    found = conn.execute(sql, [match, start, *bounds[1], nth - 1]).fetchone()
    return None if found is None else int(found[0])


def _among_newest(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], bounds: tuple[str, Sequence[Any]], top: _Top,
    terms: Sequence[str], k: int,
) -> list[Hit]:
    """The rarest of ``terms`` within the first window of the scope's newest memories (from
    ``top.start`` down) that holds any, ranked there; the window grows fourfold until it
    holds ``k`` hits or the whole scope."""
    below = _below(bounds, top)
    size = k * RANKED_PER_HIT  # counting is the cost here: start small
    window = _Window(0, top.start + 1, False)
    hits: list[Hit] = []
    chosen: str | None = None
    unranked_below = top.start + 1  # the ids from here to the start are ranked
    while True:
        window = _grown(conn, below, window, size)
        ceiling = top.newest if window.whole else top.start
        if chosen is None:
            counts = posting_counts(conn, terms, size, window.floor, ceiling)
            present = [t for t in terms if counts.get(t)]
            chosen = min(present, key=lambda t: counts[t]) if present else None
        if chosen is not None:
            # A window that stopped short of k held fewer hits than k, so all of them: the
            # wider one's best are among those and the best of the ids it adds.
            fresh = [(window.floor, unranked_below - 1)]
            if window.whole and top.newest > top.start:
                fresh.append((top.start + 1, top.newest))
            for ids in fresh:
                hits = _best([*hits, *_ranked_from(conn, _match([chosen]), ids, where, params, k)], k)
            unranked_below = window.floor
        if len(hits) >= k or window.whole:
            return hits
        size *= 4


def _below(bounds: tuple[str, Sequence[Any]], top: _Top) -> tuple[str, list[Any]]:
    # The start bounds the windows from above: other tenants' newer memories (and, with an
    # as_of, the scope's own later ones) are neither counted nor ranked.
    return f"{bounds[0]} AND id <= ?", [*bounds[1], top.start]


def _best(hits: list[Hit], k: int) -> list[Hit]:
    return sorted(hits, key=lambda h: (-h.score, -h.id))[:k]  # _ranked_from's order


@dataclass(frozen=True)
class _Window:
    size: int  # how many of the scope's newest memories it holds (fewer when whole)
    floor: int  # the id of the oldest of them
    whole: bool  # it holds the whole scope


def _grown(conn: sqlite3.Connection, below: tuple[str, Sequence[Any]], window: _Window, size: int) -> _Window:
    """``window`` widened to the (non-empty) scope's ``size`` newest memories, or to all of them
    when it holds fewer. The count goes on from the window's floor: OFFSET reads every index
    entry it skips, and the narrower windows' entries need not be read again."""
    sql = f"SELECT id FROM memories WHERE {below[0]} AND id < ? ORDER BY id DESC LIMIT 1 OFFSET ?"
    found = conn.execute(sql, [*below[1], window.floor, size - window.size - 1]).fetchone()
    if found is not None:
        return _Window(size, int(found[0]), False)
    oldest = conn.execute(f"SELECT min(id) FROM memories WHERE {below[0]}", list(below[1])).fetchone()[0]
    return _Window(size, int(oldest), True)


def _ranked_from(
    conn: sqlite3.Connection, match: str, ids: tuple[int, int], where: str, params: Sequence[Any], k: int
) -> list[Hit]:
    """The best ``k`` in scope among the matches with an id in the ``ids`` range."""
    sql = (
        "SELECT id, s FROM memories JOIN (SELECT rowid AS fts_id, -rank AS s FROM memory_fts "
        f"WHERE memory_fts MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rank) ON fts_id = id WHERE {where} "
        "ORDER BY s DESC, id DESC LIMIT ?"
    )
    return [Hit(r[0], float(r[1])) for r in conn.execute(sql, [match, *ids, *params, k])]
