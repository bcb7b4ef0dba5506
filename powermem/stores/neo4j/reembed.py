"""Moving a Neo4j store to another embedder in place (``powermem reembed``).

Phase 'writing': the new vectors go to ``embedding_next`` beside the old ones, each batch one
transaction, each node marked with the text its vector was made from (``reembed_hash``,
``reembed_name``), so a killed run resumes with the unmarked nodes and a node whose text
changed is done again. Searches keep using ``embedding`` and the old indexes; writes are
refused (``write_guard``) while the ``PowermemMeta {key: 'reembed'}`` node exists.

Phase 'switching' (recorded first, so a rerun finishes it): the old vector indexes are
dropped, each node's ``embedding_next`` replaces ``embedding`` in batches, the indexes are
created with the new dimension and awaited online, and the meta node goes. From the drop to
the new indexes being online, searches of large scopes (the ANN path) fail and searches of
small ones may see a mix of old and new vectors: the switch window, documented in
docs/operations.md. Nothing is ever deleted before its replacement is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from neo4j import AsyncManagedTransaction

from powermem.errors import ConfigError
from powermem.filters import INT64
from powermem.stores.base import Vector
from powermem.stores.neo4j import queries as Q
from powermem.stores.neo4j.queries import Read, as_query, fetch_rows
from powermem.stores.neo4j.writes import embedding_values
from powermem.stores.reembedding import ReembedState, refuse_write

__all__ = ["FIRST_ID", "check_writable", "state", "vector_rows"]

FIRST_ID = INT64[0]


async def state(read: Read) -> tuple[dict[str, Any] | None, str | None, int | None]:
    """(target of a re-embed in progress, its phase, the dimension the store records)."""
    row = (await read(Q.REEMBED_STATE.query, {}))[0]
    target = json.loads(row["target"]) if row["target"] is not None else None
    return target, row["phase"], (int(row["dims"]) if row["dims"] is not None else None)


def reembed_state(dims: int | None, target: dict[str, Any] | None, phase: str | None) -> ReembedState:
    return ReembedState(dims, target, phase == "switching")


def refuse_open(where: str, phase: str | None) -> None:
    if phase == "switching":
        raise ConfigError(
            f"{where} is switching to a new embedder (a re-embed was interrupted there); run `powermem reembed` "
            "with the new embedder to finish it"
        )


async def check_writable(tx: AsyncManagedTransaction, where: str, dims: int | None) -> None:
    row = (await fetch_rows(await tx.run(as_query(Q.WRITE_GUARD.query), {})))[0]
    if row["target"] is not None:
        raise refuse_write(where, json.loads(row["target"]))
    if dims is not None and row["dims"] is not None and int(row["dims"]) != dims:
        raise ConfigError(
            f"{where} was re-embedded to {row['dims']} dimensions after this process opened it with a "
            f"{dims}-dimensional embedder; reopen it with the new embedder"
        )


def vector_rows(rows: Sequence[tuple[int, str, Vector]], dims: int) -> list[dict[str, Any]]:
    """Write parameters: a zero vector is stored as none, as writes.py stores it."""
    params = []
    for row_id, text, vector in rows:
        values = embedding_values(vector, dims, f"re-embedded row {row_id}")
        params.append({"id": row_id, "text": text, "embedding": values if any(values) else None})
    return params
