"""What a store hands out for a full backup, and takes back on restore: its rows, verbatim.

Both stores dump and load the same row shapes (plain dicts), one section at a time, so a
backup made from one kind of store restores into the other. ``powermem.backup`` turns these
rows into the documented export file; this module knows nothing of files.

Row shapes (ids are ints; times are the stored ISO-8601 strings; ``embedding`` is a float32
vector or ``None`` where the store keeps none, e.g. a zero vector):

- ``entities``: id, user_id, agent_id, run_id (the graph tenant as a scope: run_id only for
  the graph of a run-only scope), name, name_key, type, embedding, created_at, updated_at.
- ``memories``: id, memory, hash, user_id, agent_id, run_id, metadata (dict), created_at,
  updated_at, embedding, entity_ids (the entities it MENTIONS, ascending).
- ``relations``: id, source_id, destination_id, relationship, fact, memory_ids (provenance,
  ascending), times (dict: every relation time field the store keeps, see RELATION_TIMES).
- ``events`` (history): id, memory_id, event, old_memory, new_memory, created_at, actor,
  user_id, agent_id, run_id.

Sections are loaded in SECTIONS order, so what a row refers to is already there. Loading is
an upsert by id: a row already stored is replaced by the loaded one (mentions and provenance
included), so loading the same rows twice leaves the same store.
"""

from __future__ import annotations

from typing import Any, Literal

from powermem.stores.base import Scope

__all__ = ["RELATION_DEFAULTS", "RELATION_TIMES", "SECTIONS", "Row", "Section", "graph_scope", "relation_times"]

Section = Literal["entities", "memories", "relations", "events"]
SECTIONS: tuple[Section, ...] = ("entities", "memories", "relations", "events")
Row = dict[str, Any]

# The fields of a relation beyond its ends, type, fact and provenance that both stores keep:
# its world and system times, what extracted it (``origin``) and its type family (``family``,
# null when none was named). A field added here must be
# added to both stores' schemas; dumps then carry it (in ``times``) with no format change.
RELATION_TIMES: tuple[str, ...] = ("valid_at", "invalid_at", "created_at", "expired_at", "origin", "family")
# What a field absent from a row means (relations written before origins were kept came from an LLM).
RELATION_DEFAULTS: dict[str, str] = {"origin": "llm"}


def graph_scope(tenant: str) -> Scope:
    """The scope whose ``graph_tenant`` is ``tenant`` (the inverse of Scope.graph_tenant)."""
    parts = tenant.split("\x1f")
    if len(parts) == 3 and parts[0] == "" and parts[1] == "":
        return Scope(run_id=parts[2] or None)
    user, agent = parts[0], parts[1] if len(parts) > 1 else ""
    return Scope(user_id=user or None, agent_id=agent or None)


def relation_times(row: Row) -> dict[str, str | None]:
    """The relation's fields in RELATION_TIMES order (absent ones as their default, else None)."""
    return {key: row.get(key) or RELATION_DEFAULTS.get(key) for key in RELATION_TIMES}
