"""The embedded store's graph expansion bound, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from powermem.filters import now_timestamp
from powermem.stores.base import EntityInput, NewMemory, RelationInput, Scope, WritePlan
from powermem.stores.embedded import graph
from powermem.stores.embedded.engine import SqliteEngine

SCOPE = Scope(user_id="u")


def test_a_hub_cannot_flood_a_hop(tmp_path: Path) -> None:
    """A hub with 60 valid relations: one hop reads at most max_nodes x 4 of them."""
    engine = SqliteEngine(tmp_path / "graph.db")
    engine.initialize(4)
    at = now_timestamp()
    vector = np.ones(4, dtype=np.float32) / 2
    entities = [EntityInput(1, "Hub", "hub", "person", vector)]
    entities += [EntityInput(i + 2, f"Friend {i}", f"friend {i}", "person", vector) for i in range(60)]
    memory = NewMemory(99, "the hub knows everyone", "h", vector, SCOPE, {}, at)
    relations = [RelationInput(100 + i, "hub", f"friend {i}", "KNOWS", f"hub knows friend {i}", (99,), at, at)
                 for i in range(60)]
    engine.apply(WritePlan(scope=SCOPE, creates=[memory], entities=entities, relations=relations, at=at))
    conn = engine._conn
    assert len(graph._valid_relations_touching(conn, SCOPE, {1}, 1000)) == 60
    assert len(graph._valid_relations_touching(conn, SCOPE, {1}, 12)) == 12
    subgraph = engine.expand(SCOPE, [1], [], hops=1, max_nodes=3)
    assert len(subgraph.entities) == 3 and len(subgraph.relations) == 2  # the hub and two friends


def test_degrees_are_counted_up_to_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name in 12 memories, another in 2: with a cap of 5 the first counts 5, the second 2."""
    monkeypatch.setattr(graph, "DEGREE_CAP", 5)
    engine = SqliteEngine(tmp_path / "graph.db")
    engine.initialize(4)
    at = now_timestamp()
    vector = np.ones(4, dtype=np.float32) / 2
    entities = [EntityInput(1, "Hub", "hub", "person", vector), EntityInput(2, "Rare", "rare", "person", vector)]
    creates = [NewMemory(10 + i, f"hub {i}", f"h{i}", vector, SCOPE, {}, at,
                         entity_keys=("hub", "rare") if i < 2 else ("hub",)) for i in range(12)]
    engine.apply(WritePlan(scope=SCOPE, creates=creates, entities=entities, at=at))
    subgraph = engine.expand(SCOPE, [1, 2], [], hops=1, max_nodes=50)
    assert subgraph.degrees == {1: 5, 2: 2}
