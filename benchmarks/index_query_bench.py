"""The Neo4j memory vector index on its own: query latency, and recall against an exact scan.

    python benchmarks/index_query_bench.py [--k 50] [--queries 200] [--recall 20]

Reads NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD of a store powermem filled (store_bench.py
leaves one). Latency: ``db.index.vector.queryNodes('memory_embedding', k, v)`` for random unit
vectors, after 100 of warm-up. Recall: of the k memories nearest store_bench.py query texts
(hashing embedder) by an exact cosine scan of every memory, the share the index returns, and
how many of each are in the older half of the store (an index that misses old memories skews
as_of searches). docs/neo4j.md, "Vector search performance", explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from neo4j import AsyncDriver, AsyncGraphDatabase

sys.path.insert(0, str(Path(__file__).resolve().parent))
import store_bench

from powermem.embeddings.hashing import HashingEmbedder

ANN = "CALL db.index.vector.queryNodes('memory_embedding', $k, $vector) YIELD node RETURN collect(node.id) AS ids"
EXACT = ("MATCH (m:Memory) WITH m, vector.similarity.cosine(m.embedding, $vector) AS s "
         "ORDER BY s DESC LIMIT $k RETURN collect(m.id) AS ids")
DIMS = "SHOW VECTOR INDEXES YIELD name, options WHERE name = 'memory_embedding' RETURN options"
MEDIAN_ID = "MATCH (m:Memory) RETURN percentileDisc(m.id, 0.5) AS id"


async def ids(driver: AsyncDriver, query: str, **params: Any) -> list[int]:
    records, _, _ = await driver.execute_query(query, params, routing_="r")
    return [int(i) for i in records[0]["ids"]]


async def latency(driver: AsyncDriver, dims: int, k: int, queries: int) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((100 + queries, dims))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    times = []
    for n, row in enumerate(vectors):
        started = time.perf_counter()
        await ids(driver, ANN, k=k, vector=row.tolist())
        if n >= 100:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def recall(driver: AsyncDriver, dims: int, k: int, queries: int) -> tuple[float, float, float]:
    embedder = HashingEmbedder(dims=dims)
    median = (await driver.execute_query(MEDIAN_ID)).records[0]["id"]
    rng = random.Random(5)
    found, old_index, old_exact = [], [], []
    for _ in range(queries):
        vector = [float(x) for x in (await embedder.embed([store_bench.sentence(rng)]))[0]]
        approx, exact = await ids(driver, ANN, k=k, vector=vector), await ids(driver, EXACT, k=k, vector=vector)
        found.append(len(set(approx) & set(exact)) / k)
        old_index.append(sum(i <= median for i in approx) / k)
        old_exact.append(sum(i <= median for i in exact) / k)
    return statistics.mean(found), statistics.mean(old_index), statistics.mean(old_exact)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall", type=int, default=20, help="queries checked against an exact scan (0: none)")
    args = parser.parse_args()
    auth = (os.environ.get("NEO4J_USERNAME", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
    async with AsyncGraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth, notifications_min_severity="OFF") as driver:
        options = (await driver.execute_query(DIMS)).records[0]["options"]["indexConfig"]
        dims = int(options["vector.dimensions"])
        p50, p95 = await latency(driver, dims, args.k, args.queries)
        print(f"index query, k={args.k}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({args.queries} queries; "
              f"quantization {options.get('vector.quantization.enabled')})")
        if args.recall:
            share, old_index, old_exact = await recall(driver, dims, args.k, args.recall)
            print(f"recall@{args.k} against an exact scan: {share:.3f}; older half of the store: "
                  f"{old_index:.2f} of the index's results, {old_exact:.2f} of the exact ones ({args.recall} queries)")


if __name__ == "__main__":
    asyncio.run(main())
