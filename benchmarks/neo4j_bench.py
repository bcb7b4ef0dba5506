"""Benchmark of the Neo4j store: write throughput and scoped vector-search latency.

Prints, for the server it runs against:
- add throughput: 10,000 memories written through ``apply`` in UNWIND batches (what
  ``add(infer=False)`` costs once embeddings exist; goal >= 1,500 memories/s);
- vector_search p50/p95 (embedding excluded) with 100,000 memories in one tenant (goal p95
  <= 25 ms) and 100,000 memories spread over 1,000 tenants (goal p95 <= 10 ms);
- with --tune: exact-scan latency against scope size next to the index path, which is what
  ``exact_scan_limit`` trades off.

The benchmark WIPES the database it runs against (it asks for --wipe) and drops the vector
indexes at the end, so that the next ``initialize`` recreates them at its own dimension.
Server: NEO4J_URI/NEO4J_USERNAME/NEO4J_PASSWORD/NEO4J_DATABASE if set, else it starts
``scripts/neo4j-local --target <target>`` and stops it afterwards.

    python benchmarks/neo4j_bench.py --wipe [--target 5.26|latest] [--dims 384] [--tune]

The figures in docs/benchmarks.md come from a server started with
``NEO4J_LOCAL_CONF=benchmarks/neo4j-bulk.conf NEO4J_LOCAL_PAGECACHE=1g`` (see docs/neo4j.md,
"Vector search performance").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neo4j import AsyncGraphDatabase  # noqa: E402

from powermem.config import StoreConfig  # noqa: E402
from powermem.filters import now_timestamp  # noqa: E402
from powermem.ids import SnowflakeGenerator  # noqa: E402
from powermem.redact import reveal  # noqa: E402
from powermem.stores.base import NewMemory, Scope, WritePlan  # noqa: E402
from powermem.stores.neo4j import Neo4jStore  # noqa: E402

IDS = SnowflakeGenerator(11)
RNG = np.random.default_rng(7)
TUNE_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 40_000)


def unit_vectors(n: int, dims: int) -> np.ndarray:
    v = RNG.standard_normal((n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def server_settings(target: str) -> tuple[dict[str, str | None], Callable[[], None]]:
    if os.environ.get("NEO4J_URI"):
        env: dict[str, str] = dict(os.environ)
        stop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        launcher = str(ROOT / "scripts" / "neo4j-local")
        subprocess.run([launcher, "start", "--target", target], check=True)
        lines = (ROOT / ".neo4j" / target / "env").read_text().splitlines()
        env = dict(line.split("=", 1) for line in lines if "=" in line)
        stop = lambda: subprocess.run([launcher, "stop", "--target", target], check=False)  # noqa: E731
    settings = {
        "uri": env["NEO4J_URI"],
        "username": env.get("NEO4J_USERNAME", "neo4j"),
        "password": env.get("NEO4J_PASSWORD"),
        "database": env.get("NEO4J_DATABASE") or None,
    }
    return settings, stop


async def drop_vector_indexes(config: StoreConfig) -> None:
    auth = (config.username, reveal(config.password) or "")
    async with AsyncGraphDatabase.driver(config.uri, auth=auth) as driver:
        for name in ("memory_embedding", "entity_embedding"):
            await driver.execute_query("DROP INDEX $name IF EXISTS", {"name": name}, database_=config.database)


async def insert(store: Neo4jStore, vectors: np.ndarray, scopes: list[Scope], batch: int, parallel: int) -> float:
    """Writes every vector as a memory, one apply per batch, ``parallel`` applies in flight at once
    (so the client packs one batch while the server commits another); returns memories per second.
    """
    created_at = now_timestamp()
    gate = asyncio.Semaphore(parallel)

    async def write(start: int) -> None:
        async with gate:
            rows = [
                NewMemory(
                    id=IDS.next_id(), memory=f"benchmark memory number {i}", hash=str(i), embedding=vectors[i],
                    scope=scopes[i], metadata={"i": i, "source": "bench"}, created_at=created_at,
                )
                for i in range(start, min(start + batch, len(vectors)))
            ]
            await store.apply(WritePlan(scope=rows[0].scope, creates=rows, at=created_at))

    started = time.perf_counter()
    await asyncio.gather(*(write(start) for start in range(0, len(vectors), batch)))
    return len(vectors) / (time.perf_counter() - started)


async def latencies(call: Callable[[int], Awaitable[object]], queries: int, warmup: int = 20) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``call(i)``, run one at a time."""
    for i in range(warmup):
        await call(i)
    samples = []
    for i in range(queries):
        started = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def report(label: str, p50: float, p95: float, goal: float | None = None) -> None:
    verdict = "" if goal is None else f"  (goal p95 <= {goal:g} ms: {'met' if p95 <= goal else 'NOT met'})"
    print(f"  {label:<58} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms{verdict}", flush=True)


async def bench_add(store: Neo4jStore, dims: int, batch: int) -> None:
    for parallel in (1, 2, 4):
        await store.reset()
        rate = await insert(store, unit_vectors(10_000, dims), [Scope(user_id="adder")] * 10_000, batch, parallel)
        goal = "met" if rate >= 1500 else "NOT met"
        label = f"add via apply, 10,000 memories, batches of {batch}, {parallel} in flight"
        print(f"  {label:<58} {rate:8.0f} memories/s  (goal >= 1,500/s: {goal})", flush=True)


async def bench_one_tenant(
    store: Neo4jStore, config: StoreConfig, dims: int, batch: int, queries: int, tune: bool, settle: float
) -> None:
    await store.reset()
    n = 100_000
    # Within the one user, run_ids carve out scopes of known sizes for the --tune comparison.
    scopes, start = [], 0
    for size in TUNE_SIZES:
        scopes += [Scope(user_id="big", run_id=f"r{size}")] * size
        start += size
    scopes += [Scope(user_id="big", run_id="rest")] * (n - start)
    rate = await insert(store, unit_vectors(n, dims), scopes, batch, 2)
    print(f"  (loaded 100,000 memories in one tenant at {rate:.0f}/s)")
    await asyncio.sleep(settle)
    queries_v = unit_vectors(queries + 20, dims)
    scope = Scope(user_id="big")
    p50, p95 = await latencies(lambda i: store.vector_search(scope, None, queries_v[i], 10), queries)
    path = "SEARCH in-index" if store.uses_search_clause else "ANN index"
    report(f"vector_search k=10, 100,000 memories, one tenant ({path})", p50, p95, 25)
    if tune:
        await tune_exact_scan(config, queries_v, queries)


async def tune_exact_scan(config: StoreConfig, queries_v: np.ndarray, queries: int) -> None:
    """Exact scan of a scope of n memories vs the index path for the same scope."""
    exact = Neo4jStore(config.model_copy(update={"exact_scan_limit": 1_000_000}))
    index = Neo4jStore(config.model_copy(update={"exact_scan_limit": 0}))
    dims = queries_v.shape[1]
    await exact.initialize(dims)
    await index.initialize(dims)
    try:
        for size in TUNE_SIZES:
            scope = Scope(user_id="big", run_id=f"r{size}")
            e50, e95 = await latencies(lambda i, s=scope: exact.vector_search(s, None, queries_v[i], 10), queries // 2)
            i50, i95 = await latencies(lambda i, s=scope: index.vector_search(s, None, queries_v[i], 10), queries // 2)
            report(f"scope of {size:>6,}: exact scan", e50, e95)
            report(f"scope of {size:>6,}: index ({'SEARCH' if index.uses_search_clause else 'over-fetch'})", i50, i95)
    finally:
        await exact.close()
        await index.close()


async def bench_many_tenants(store: Neo4jStore, dims: int, batch: int, queries: int, settle: float) -> None:
    await store.reset()
    n, tenants = 100_000, 1_000
    scopes = [Scope(user_id=f"user{i % tenants}") for i in range(n)]
    order = np.argsort([s.user_id for s in scopes], kind="stable")  # batches of few tenants, as real adds
    scopes = [scopes[i] for i in order]
    rate = await insert(store, unit_vectors(n, dims), scopes, batch, 2)
    print(f"  (loaded 100,000 memories over 1,000 tenants at {rate:.0f}/s)")
    await asyncio.sleep(settle)
    queries_v = unit_vectors(queries + 20, dims)
    p50, p95 = await latencies(
        lambda i: store.vector_search(Scope(user_id=f"user{(i * 37) % tenants}"), None, queries_v[i], 10), queries
    )
    report("vector_search k=10, 100,000 memories over 1,000 tenants", p50, p95, 10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wipe", action="store_true", help="confirm that the database may be wiped")
    parser.add_argument("--target", default=os.environ.get("NEO4J_LOCAL_TARGET", "5.26"))
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--tune", action="store_true", help="also compare exact scan and index per scope size")
    parser.add_argument("--settle", type=float, default=30.0,
                        help="seconds to wait after a bulk load before timing searches (index segment merges)")
    parser.add_argument("--exact-scan-limit", type=int, default=None, help="override StoreConfig.exact_scan_limit")
    parser.add_argument("--only", choices=["add", "one", "many"], action="append")
    args = parser.parse_args()
    if not args.wipe:
        parser.error("this benchmark deletes everything in the database; pass --wipe to confirm")
    settings, stop = server_settings(args.target)
    config = StoreConfig(provider="neo4j", **settings)
    if args.exact_scan_limit is not None:
        config = config.model_copy(update={"exact_scan_limit": args.exact_scan_limit})
    store = Neo4jStore(config)
    try:
        await drop_vector_indexes(config)
        await store.initialize(args.dims)
        print(f"Neo4j {store.server_version} at {config.uri}, {args.dims} dims, exact_scan_limit "
              f"{config.exact_scan_limit}, SEARCH clause: {store.uses_search_clause}", flush=True)
        only = set(args.only or ["add", "one", "many"])
        if "add" in only:
            await bench_add(store, args.dims, args.batch)
        if "one" in only:
            await bench_one_tenant(store, config, args.dims, args.batch, args.queries, args.tune, args.settle)
        if "many" in only:
            await bench_many_tenants(store, args.dims, args.batch, args.queries, args.settle)
        await store.reset()
        await drop_vector_indexes(config)
    finally:
        await store.close()
        stop()


if __name__ == "__main__":
    asyncio.run(main())
