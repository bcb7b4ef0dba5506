"""Where the Neo4j tests find their server, and fixtures giving each test a clean store.

``make test`` (scripts/run-tests) starts a local server and exports NEO4J_URI, NEO4J_USERNAME,
NEO4J_PASSWORD and NEO4J_DATABASE. When NEO4J_URI is unset (pytest run by hand), the first
test that needs Neo4j starts ``scripts/neo4j-local`` itself, reads the env file it writes, and
stops the server when the test process exits.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from powermem.config import StoreConfig
from powermem.stores.neo4j import Neo4jStore

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "scripts" / "neo4j-local"
# Every test on the shared database must use one embedding dimension: the vector indexes are
# created once with it. The contract suite embeds with the 64-dimensional hashing embedder.
TEST_DIMS = 64

_settings: dict[str, Any] | None = None


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip().strip("'\"")
    return values


def _start_local_server() -> dict[str, str]:
    target = os.environ.get("NEO4J_LOCAL_TARGET", "5.26")
    if not LAUNCHER.exists():
        pytest.skip("NEO4J_URI is unset and scripts/neo4j-local is missing")
    status = subprocess.run([str(LAUNCHER), "status", "--target", target], capture_output=True, check=False)
    started = status.returncode != 0
    if started:
        run = subprocess.run([str(LAUNCHER), "start", "--target", target], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"scripts/neo4j-local start failed:\n{run.stdout}\n{run.stderr}")
        atexit.register(subprocess.run, [str(LAUNCHER), "stop", "--target", target], check=False)
    env_file = ROOT / ".neo4j" / target / "env"
    return _read_env_file(env_file)


def neo4j_store_settings() -> dict[str, Any]:
    """The ``store`` config section (without provider) for the test server; starts one if needed."""
    global _settings
    if _settings is None:
        env = dict(os.environ) if os.environ.get("NEO4J_URI") else _start_local_server()
        _settings = {
            "uri": env["NEO4J_URI"],
            "username": env.get("NEO4J_USERNAME", "neo4j"),
            "password": env.get("NEO4J_PASSWORD"),
            "database": env.get("NEO4J_DATABASE") or None,
        }
    return dict(_settings)


# Fixtures are registered under their short names; import the *_fixture functions into a test
# module (or a conftest) to use them.
@pytest.fixture(scope="session", name="neo4j_config")
def neo4j_config_fixture() -> StoreConfig:
    return StoreConfig(provider="neo4j", **neo4j_store_settings())


@pytest.fixture(name="neo4j_store")
async def neo4j_store_fixture(neo4j_config: StoreConfig) -> AsyncIterator[Neo4jStore]:
    """An initialized store on an empty database (schema kept), closed after the test."""
    store = Neo4jStore(neo4j_config)
    await store.initialize(TEST_DIMS)
    await store.reset()
    try:
        yield store
    finally:
        await store.close()
