"""The one memory record shape every method returns (API.md, "Memory record")."""

from __future__ import annotations

from typing import Any

from powermem.stores.base import HistoryRow, MemoryRow, NewMemory, RelationRow


def memory_record(row: MemoryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "memory": row.memory,
        "hash": row.hash,
        "user_id": row.user_id,
        "agent_id": row.agent_id,
        "run_id": row.run_id,
        "metadata": dict(row.metadata),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def relation_record(row: RelationRow, times: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"source": row.source, "relationship": row.relationship, "destination": row.destination}
    if times:  # world time (valid_at, invalid_at), system time (created_at, expired_at), its lane
        record.update(valid_at=row.valid_at, invalid_at=row.invalid_at, created_at=row.created_at,
                      expired_at=row.expired_at, family=row.family)
    return record


def history_record(row: HistoryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "memory_id": row.memory_id,
        "event": row.event,
        "old_memory": row.old_memory,
        "new_memory": row.new_memory,
        "created_at": row.created_at,
    }


def added_record(memory: NewMemory) -> dict[str, Any]:
    """The record of a memory a plan creates, with its ADD event, without reading it back."""
    s = memory.scope
    row = MemoryRow(memory.id, memory.memory, memory.hash, s.user_id, s.agent_id, s.run_id,
                    memory.metadata, memory.created_at, memory.created_at)
    return {**memory_record(row), "event": "ADD"}
