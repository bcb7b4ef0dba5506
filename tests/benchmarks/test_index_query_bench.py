"""benchmarks/index_query_bench.py and bolt_bench.py against the test server: they print their
figures, and on a store small enough for one exact HNSW segment the index finds every neighbour."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from tests.support.neo4j import TEST_DIMS

pytestmark = pytest.mark.neo4j

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import store_bench  # noqa: E402


def run(script: str, args: list[str], store: dict[str, Any]) -> str:
    env = {**os.environ, "NEO4J_URI": store["uri"], "NEO4J_USERNAME": store["username"],
           "NEO4J_PASSWORD": store["password"] or ""}
    command = [sys.executable, str(BENCHMARKS / script), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=300, env=env).stdout


async def test_index_query_bench_prints_latency_and_full_recall_on_a_small_store(
    neo4j_store_config: dict[str, Any],
) -> None:
    config = {"store": {"provider": "neo4j", **neo4j_store_config},
              "embedding": {"provider": "hashing", "dims": TEST_DIMS}, "llm": {"provider": "none"}}
    rng = random.Random(3)
    async with AsyncMemory(config) as memory:
        await memory.reset()
        await memory.add([{"role": "user", "content": store_bench.sentence(rng)} for _ in range(200)],
                         user_id="t0", infer=False)
    try:
        out = run("index_query_bench.py", ["--k", "10", "--queries", "20", "--recall", "5"], neo4j_store_config)
    finally:
        async with AsyncMemory(config) as memory:
            await memory.reset()
    assert re.search(r"index query, k=10: p50 [\d.]+ ms, p95 [\d.]+ ms \(20 queries; quantization False\)", out), out
    found = re.search(r"recall@10 against an exact scan: ([\d.]+)", out)
    assert found is not None, out
    assert float(found.group(1)) >= 0.9, out


def test_bolt_bench_prints_the_client_cost_per_query(neo4j_store_config: dict[str, Any]) -> None:
    out = run("bolt_bench.py", ["--queries", "50"], neo4j_store_config)
    assert re.search(r"50 queries: client CPU \d+ us/query, wall \d+ us/query", out), out
