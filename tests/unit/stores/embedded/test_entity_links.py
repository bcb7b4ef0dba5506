"""Entity linking by embedding in the embedded store: its cached entity matrices follow every write."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from powermem.filters import now_timestamp
from powermem.stores.base import EntityInput, NewMemory, Scope, WritePlan
from powermem.stores.embedded.engine import SqliteEngine

SCOPE = Scope(user_id="u")
AXES = {name: np.eye(4, dtype=np.float32)[i] for i, name in enumerate(["alice", "bob", "carol", "dora"])}


def mention(engine: SqliteEngine, memory_id: int, name: str, scope: Scope = SCOPE) -> None:
    at = now_timestamp()
    memory = NewMemory(memory_id, f"about {name}", str(memory_id), AXES[name], scope, {}, at, (name,))
    entity = EntityInput(memory_id + 1000, name.title(), name, "person", AXES[name])
    engine.apply(WritePlan(scope=scope, creates=[memory], entities=[entity], at=at))


def linked(engine: SqliteEngine, name: str) -> list[str]:
    return [e.name_key for e, score in engine.similar_entities(SCOPE, AXES[name], 4, 0.9)]


def test_new_and_dropped_entities_are_seen_at_once(tmp_path: Path) -> None:
    engine = SqliteEngine(tmp_path / "links.db")
    engine.initialize(4)
    assert linked(engine, "alice") == []
    mention(engine, 1, "alice")
    assert linked(engine, "alice") == ["alice"]
    assert linked(engine, "bob") == []
    mention(engine, 2, "bob")
    assert linked(engine, "bob") == ["bob"]  # the cached matrix of the scope was dropped
    engine.apply(WritePlan(scope=SCOPE, deletes=[2], at=now_timestamp()))
    assert linked(engine, "bob") == []  # bob, left without mentions, is gone
    mention(engine, 3, "carol", Scope(user_id="other"))
    assert linked(engine, "carol") == []  # another user's entity


def test_entities_written_by_another_process_are_seen(tmp_path: Path) -> None:
    engine, other = SqliteEngine(tmp_path / "links.db"), SqliteEngine(tmp_path / "links.db")
    engine.initialize(4)
    other.initialize(4)
    mention(engine, 1, "alice")
    assert linked(engine, "dora") == []
    mention(other, 4, "dora")
    assert linked(engine, "dora") == ["dora"]
