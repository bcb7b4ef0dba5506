"""Driver records to the store protocol's rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from powermem.stores.base import EntityRow, HistoryRow, Hit, MemoryRow, RelationRow, TenantStats


def cosine(score: float) -> float:
    """Neo4j reports cosine rescaled to [0, 1] as (1 + cos) / 2; give back the cosine."""
    return max(-1.0, min(1.0, 2.0 * float(score) - 1.0))


def hits_of(pairs: Iterable[Sequence[Any]]) -> list[Hit]:
    return [Hit(int(i), cosine(s)) for i, s in pairs]


def memory_row(m: Mapping[str, Any]) -> MemoryRow:
    return MemoryRow(
        id=int(m["id"]), memory=m["memory"], hash=m["hash"],
        user_id=m["user_id"], agent_id=m["agent_id"], run_id=m["run_id"],
        metadata=json.loads(m["metadata"]) if m["metadata"] else {},
        created_at=m["created_at"], updated_at=m["updated_at"],
    )


def history_row(ev: Mapping[str, Any]) -> HistoryRow:
    return HistoryRow(
        id=int(ev["id"]), memory_id=int(ev["memory_id"]), event=ev["event"], old_memory=ev["old_memory"],
        new_memory=ev["new_memory"], created_at=ev["created_at"], actor=ev["actor"],
    )


def entity_row(e: Mapping[str, Any]) -> EntityRow:
    return EntityRow(
        id=int(e["id"]), name=e["name"], name_key=e["name_key"], type=e["type"] or "", mentions=int(e.get("mentions") or 0)
    )


def relation_row(row: Mapping[str, Any]) -> RelationRow:
    return RelationRow(
        id=int(row["id"]), source=row["source"], relationship=row["relationship"], destination=row["destination"],
        fact=row["fact"] or "", memory_ids=tuple(sorted({int(i) for i in row["memory_ids"] or ()})),
        valid_at=row["valid_at"], invalid_at=row["invalid_at"],
        source_id=int(row["source_id"]), destination_id=int(row["destination_id"]),
        created_at=row.get("created_at"), expired_at=row.get("expired_at"), origin=row.get("origin") or "llm",
        family=row.get("family"),
    )


def merge_stats(memories: list[dict[str, Any]], entities: list[dict[str, Any]]) -> list[TenantStats]:
    table: dict[tuple[str | None, str | None], list[int]] = {}
    for row in memories:
        table.setdefault((row["user_id"], row["agent_id"]), [0, 0, 0])[0] += int(row["memories"])
    for row in entities:
        counts = table.setdefault((row["user_id"], row["agent_id"]), [0, 0, 0])
        counts[1] += int(row["entities"])
        counts[2] += int(row["relations"])
    # Same order as the embedded store: by the (user_id, agent_id) pair's text.
    return [TenantStats(u, a, *counts) for (u, a), counts in sorted(table.items(), key=lambda t: str(t[0]))]
