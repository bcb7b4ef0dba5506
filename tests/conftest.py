"""Root fixtures: stores to run the contract suite against, and the scripted OpenAI server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from tests.support.fixtures import openai_server  # noqa: F401 - re-exported fixture

STORES = [pytest.param("embedded"), pytest.param("neo4j", marks=pytest.mark.neo4j)]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run the long variants (fuzzing, load)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long variant: pass --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def shared_data_dir() -> Path:
    override = os.environ.get("POWERMEM_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def neo4j_store_config() -> dict[str, Any]:
    from tests.support.neo4j import neo4j_store_settings

    return neo4j_store_settings()


def store_section(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    if kind == "embedded":
        return {"provider": "embedded", "path": str(tmp_path / "powermem.db")}
    return {"provider": "neo4j", **request.getfixturevalue("neo4j_store_config")}


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def memory_config(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A fresh, empty store of each kind with the fast hashing embedder and no LLM."""
    return {
        "store": store_section(store_kind, tmp_path, request),
        "embedding": {"provider": "hashing", "dims": 64},
        "llm": {"provider": "none"},
        # 64 hashed dimensions spread cosines lower than MiniLM ("lives in Berlin" vs "lives in
        # Paris" is 0.66 here, 0.8+ with MiniLM). 0.5 is also this embedder's own calibrated
        # default; explicit, so the suite does not move when the calibration does.
        "ingest": {"reconcile_min_similarity": 0.5},
    }


@pytest.fixture
async def memory(memory_config: dict[str, Any]) -> AsyncIterator[AsyncMemory]:
    m = AsyncMemory(memory_config)
    await m.initialize()
    await m.reset()
    try:
        yield m
    finally:
        await m.close()
