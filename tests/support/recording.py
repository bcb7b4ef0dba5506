"""Recorders of every statement a store really sends, to prove values travel as parameters.

- Embedded store: :class:`SqlRecorder` replaces the engine's ``sqlite3.Connection`` with a
  proxy that records the ``sql`` argument of ``execute``/``executemany``/``executescript``
  (the PlanWriter and graph reads receive the same connection object, so every statement
  passes through it).
- Neo4j store: :class:`CypherRecorder` patches ``AsyncTransactionBase.run`` (managed and
  explicit transactions) and ``AsyncSession.run`` (auto-commit) to record the query text.

:func:`injected` then looks for generated strings inside the recorded statement texts: a
string holding a quote, backtick, brace or semicolon must never be part of a statement's
text (it would be pasted, not bound). Fragments that also occur in the stores' own source
(``cypher/`` files, ``powermem/stores``) are ignored: those are the statements' constants.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from powermem import AsyncMemory

__all__ = [
    "SPECIAL_CHARACTERS",
    "CypherRecorder",
    "SqlRecorder",
    "injected",
    "record_statements",
    "store_source_corpus",
]

ROOT = Path(__file__).resolve().parents[2]
SPECIAL_CHARACTERS = frozenset("'\"`{};")
MIN_CHECKED_LENGTH = 2


class _Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statements: list[str] = []
        self.total = 0  # statements recorded since creation (clear() does not reset it)

    def add(self, text: object) -> None:
        with self._lock:
            self._statements.append(str(text))
            self.total += 1

    @property
    def statements(self) -> list[str]:
        with self._lock:
            return list(self._statements)

    def clear(self) -> list[str]:
        """Return the statements recorded so far and start afresh."""
        with self._lock:
            taken, self._statements = self._statements, []
            return taken


class _RecordingConnection:
    """Delegates to a sqlite3 connection, recording each statement's SQL text first."""

    def __init__(self, conn: Any, recorder: _Recorder) -> None:
        self._conn = conn
        self._recorder = recorder

    def execute(self, sql: str, *args: Any) -> Any:
        self._recorder.add(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._recorder.add(sql)
        return self._conn.executemany(sql, *args)

    def executescript(self, sql: str) -> Any:
        self._recorder.add(sql)
        return self._conn.executescript(sql)

    def cursor(self, *args: Any) -> Any:
        raise AssertionError("the recorder does not proxy cursors; a store statement would go unrecorded")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class SqlRecorder(_Recorder):
    """Records the SQL the embedded store sends while installed on its engine."""

    @contextmanager
    def installed(self, store: Any) -> Iterator[SqlRecorder]:
        engine = store.engine
        original = engine._conn
        engine._conn = _RecordingConnection(original, self)
        try:
            yield self
        finally:
            engine._conn = original


class CypherRecorder(_Recorder):
    """Records the Cypher of every ``tx.run``/``session.run`` of the neo4j driver while installed."""

    @contextmanager
    def installed(self) -> Iterator[CypherRecorder]:
        import neo4j
        from neo4j._async.work.transaction import AsyncTransactionBase

        recorder = self
        original_tx = AsyncTransactionBase.run
        original_session = neo4j.AsyncSession.run

        async def tx_run(tx: Any, query: Any, parameters: Any = None, **kwargs: Any) -> Any:
            recorder.add(getattr(query, "text", query))
            return await original_tx(tx, query, parameters, **kwargs)

        async def session_run(session: Any, query: Any, parameters: Any = None, **kwargs: Any) -> Any:
            recorder.add(getattr(query, "text", query))
            return await original_session(session, query, parameters, **kwargs)

        AsyncTransactionBase.run = tx_run  # type: ignore[method-assign]
        neo4j.AsyncSession.run = session_run  # type: ignore[method-assign]
        try:
            yield self
        finally:
            AsyncTransactionBase.run = original_tx  # type: ignore[method-assign]
            neo4j.AsyncSession.run = original_session  # type: ignore[method-assign]


@asynccontextmanager
async def record_statements(memory: AsyncMemory) -> Any:
    """Record every statement ``memory``'s store sends inside the block (either store)."""
    store, _, _ = await memory._ready()
    if hasattr(store, "engine"):
        sql = SqlRecorder()
        with sql.installed(store):
            yield sql
    else:
        cypher = CypherRecorder()
        with cypher.installed():
            yield cypher


@lru_cache(maxsize=1)
def store_source_corpus() -> str:
    """The text statements are built from: cypher/ files and the stores' Python sources."""
    parts: list[str] = []
    for pattern, base in (("**/*.cypher", ROOT / "cypher"), ("**/*.py", ROOT / "powermem" / "stores")):
        parts.extend(p.read_text(encoding="utf-8") for p in sorted(base.glob(pattern)))
    return "\n".join(parts)


def escaped_forms(text: str) -> set[str]:
    """``text`` as string-building code could paste it: raw, or with quotes, backslashes and
    backticks escaped in any of the usual ways (doubled or backslashed), or JSON-encoded."""
    forms = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    for backslash in (False, True):
        base = text.replace("\\", "\\\\") if backslash else text
        for single in ("'", "''", "\\'"):
            for double in ('"', '""', '\\"'):
                for tick in ("`", "``"):
                    mapping = {"'": single, '"': double, "`": tick}
                    forms.add("".join(mapping.get(c, c) for c in base))
    return forms


def checked_strings(strings: Iterable[str]) -> dict[str, set[str]]:
    """The generated strings that must never occur in a statement's text, with their escaped forms."""
    corpus = store_source_corpus()
    out: dict[str, set[str]] = {}
    for s in set(strings):
        if len(s) < MIN_CHECKED_LENGTH or not SPECIAL_CHARACTERS.intersection(s):
            continue
        forms = {f for f in escaped_forms(s) if f not in corpus}  # in the corpus: maybe a constant
        if forms:
            out[s] = forms
    return out


def injected(statements: Iterable[str], strings: Iterable[str]) -> list[tuple[str, str]]:
    """(generated string, statement) pairs where a dangerous string is inside a statement's text."""
    checked = checked_strings(strings)
    if not checked:
        return []
    found = []
    for statement in set(statements):
        for s, forms in checked.items():
            if any(f in statement for f in forms):
                found.append((s, statement))
    return found
