"""The embedded store's full-text cost bound, on a real SQLite file: which terms it searches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from powermem.filters import now_timestamp
from powermem.stores.base import NewMemory, Scope, WritePlan
from powermem.stores.embedded import engine as engine_module
from powermem.stores.embedded.engine import SqliteEngine

SCOPE = Scope(user_id="u")


@pytest.fixture
def engine(tmp_path: Path) -> SqliteEngine:
    """'common' in 120 memories, 'mid' in 60 others, 'rare' in 3 more: a posting budget of 100."""
    store = SqliteEngine(tmp_path / "fts.db")
    store.initialize(4)
    texts = [f"common {i}" for i in range(120)] + [f"mid {i}" for i in range(60)] + [f"rare {i}" for i in range(3)]
    vector = np.ones(4, dtype=np.float32) / 2
    creates = [NewMemory(i + 1, text, str(i), vector, SCOPE, {}, now_timestamp()) for i, text in enumerate(texts)]
    store.apply(WritePlan(scope=SCOPE, creates=creates, at=now_timestamp()))
    return store


def test_the_commonest_terms_past_the_budget_are_dropped(engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "_POSTING_BUDGET", 100)
    assert engine._affordable_terms(["common", "mid", "rare", "absent"], k=1) == ["rare", "mid"]
    hits = engine.fulltext_search(SCOPE, None, ["common", "rare"], 2)  # budget max(100, 2 x 40)
    assert {h.id for h in hits} <= {181, 182, 183}  # 'rare' memories only
    assert len(engine.fulltext_search(SCOPE, None, ["common", "rare"], 5)) == 5  # budget 200: both terms


def test_when_every_term_is_past_the_budget_the_rarest_stays(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_POSTING_BUDGET", 50)
    assert engine._affordable_terms(["common", "mid"], k=1) == ["mid"]
    assert engine._affordable_terms(["absent"], k=1) == []
    assert engine.fulltext_search(SCOPE, None, ["absent"], 5) == []
