"""Mention counts for the hub test: exact, with the large ones reused for up to a minute."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from powermem.filters import now_timestamp
from powermem.stores.base import EntityInput, NewMemory, Scope, WritePlan
from powermem.stores.embedded import mentions
from powermem.stores.embedded.engine import SqliteEngine

SCOPE = Scope(user_id="u")
VECTOR = np.ones(4, dtype=np.float32) / 2


def add(engine: SqliteEngine, first_id: int, count: int, keys: tuple[str, ...]) -> None:
    at = now_timestamp()
    entities = [EntityInput(100 + i, key.title(), key, "person", VECTOR) for i, key in enumerate(("hub", "rare"))]
    creates = [NewMemory(first_id + i, f"memory {first_id + i}", f"{first_id + i}", VECTOR, SCOPE, {}, at,
                         entity_keys=keys) for i in range(count)]
    engine.apply(WritePlan(scope=SCOPE, creates=creates, entities=entities, at=at))


def test_large_counts_are_reused_for_a_minute_and_small_ones_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(mentions, "LARGE", 5)
    engine = SqliteEngine(tmp_path / "m.db")
    engine.initialize(4)
    add(engine, 1, 6, ("hub",))
    add(engine, 7, 2, ("hub", "rare"))
    counts = lambda: {e.name_key: e.mentions for e in engine.entities_by_key(SCOPE, ["hub", "rare", "absent"])}  # noqa: E731
    assert counts() == {"hub": 8, "rare": 2}
    add(engine, 9, 3, ("hub", "rare"))
    clock[0] += mentions.TTL - 1
    assert counts() == {"hub": 8, "rare": 5}  # 'hub' (8 >= 5) as counted a while ago; 'rare' counted now
    clock[0] += 2
    assert counts() == {"hub": 11, "rare": 5}
    similar = {e.name_key: e.mentions for e, _ in engine.similar_entities(SCOPE, VECTOR, 5, -1.0)}
    assert similar == {"hub": 11, "rare": 5}
