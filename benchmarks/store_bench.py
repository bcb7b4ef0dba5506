"""Write throughput and search latency through the public API, on either store.

    .venv/bin/python benchmarks/store_bench.py --store embedded --sizes 10000,100000
    .venv/bin/python benchmarks/store_bench.py --store neo4j --settle 60 --warmup 1000   # NEO4J_* env vars
    .venv/bin/python benchmarks/store_bench.py --sizes 100000 --as-of       # hybrid with as_of too

Adds use ``add(list_of_messages, infer=False)`` in batches with the hashing embedder. Search
latency excludes the query embedding: every query is run once to warm the query cache, then
timed, for the vector-only and hybrid presets.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from powermem import AsyncMemory

NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "wen", "dor", "pel", "ris", "tam", "gus", "fen", "bar", "lin", "cor", "mat", "hul"]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    """Pseudo-words: real text has thousands of distinct words, not a few dozen."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))))
    return sorted(words)


VOCABULARY = vocabulary(random.Random(1))
# Zipf-like weights: a few words are common, most are rare, as in natural language.
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(VOCABULARY))]
# What choices(weights=WEIGHTS) computes on every call (the same draws): 5,000 sums a sentence
# cost more than adding it.
CUM_WEIGHTS = list(itertools.accumulate(WEIGHTS))


def sentence(rng: random.Random) -> str:
    words = rng.choices(VOCABULARY, cum_weights=CUM_WEIGHTS, k=rng.randint(6, 14))
    return f"{rng.choice(NAMES)} " + " ".join(words)


def config(kind: str, folder: Path, preset: str) -> dict[str, Any]:
    if kind == "embedded":
        store: dict[str, Any] = {"provider": "embedded", "path": str(folder / "bench.db")}
    else:
        store = {"provider": "neo4j", "uri": os.environ["NEO4J_URI"], "username": os.environ.get("NEO4J_USERNAME", "neo4j"),
                 "password": os.environ.get("NEO4J_PASSWORD")}
    return {"store": store, "embedding": {"provider": "hashing", "dims": 384}, "llm": {"provider": "none"},
            "search": {"preset": preset}}


async def fill(memory: AsyncMemory, total: int, tenants: int, batch: int, rng: random.Random) -> tuple[float, str]:
    """Seconds the adds took (the texts are made first, so only the adds are timed), and a time
    halfway through them: an as_of then leaves out the newer half (of one tenant's memories)."""
    per_tenant = total // tenants
    adds = [([{"role": "user", "content": sentence(rng)} for _ in range(min(batch, per_tenant - start))], f"t{tenant}")
            for tenant in range(tenants) for start in range(0, per_tenant, batch)]
    halfway = ""
    started = time.perf_counter()
    for n, (messages, user) in enumerate(adds):
        if n == len(adds) // 2:
            halfway = datetime.now(UTC).isoformat()
        await memory.add(messages, user_id=user, infer=False)
    return time.perf_counter() - started, halfway


async def latency(memory: AsyncMemory, tenants: int, queries: int, rng: random.Random,
                  as_of: str | None = None, warmup: int = 0) -> tuple[float, float]:
    asks = [(sentence(rng), f"t{rng.randrange(tenants)}") for _ in range(queries)]
    # Searches of other texts first: a Neo4j server's JIT compiles its search paths over its
    # first thousand or so searches, which run up to twice as slow (docs/benchmarks.md).
    warm = [(sentence(rng), f"t{rng.randrange(tenants)}") for _ in range(warmup)]
    for text, user in warm + asks:  # then the timed texts, warming the query-embedding cache
        await memory.search(text, user_id=user, limit=10, as_of=as_of)
    times = []
    for text, user in asks:
        started = time.perf_counter()
        await memory.search(text, user_id=user, limit=10, as_of=as_of)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def vector_recall(kind: str, folder: Path, tenants: int, queries: int, rng: random.Random) -> float:
    """Mean recall@10 of the vector preset against an exact scan of the tenant (Neo4j: the
    index's approximation, with every scope scanned exactly instead)."""
    exact_config = config(kind, folder, "vector")
    exact_config["store"]["exact_scan_limit"] = 2**62
    asks = [(sentence(rng), f"t{rng.randrange(tenants)}") for _ in range(queries)]
    found = []
    async with AsyncMemory(config(kind, folder, "vector")) as approx, AsyncMemory(exact_config) as exact:
        for text, user in asks:
            a = {r["id"] for r in (await approx.search(text, user_id=user, limit=10))["results"]}
            e = {r["id"] for r in (await exact.search(text, user_id=user, limit=10))["results"]}
            found.append(len(a & e) / max(len(e), 1))
    return statistics.mean(found)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after each fill before timing searches (Neo4j merges its "
                             "vector index segments in the background after a bulk load; docs/neo4j.md)")
    parser.add_argument("--warmup", type=int, default=0,
                        help="searches of other texts before each timing (a fresh Neo4j server needs ~1000)")
    parser.add_argument("--as-of", action="store_true",
                        help="also time hybrid search with as_of: a time after every memory (none is left "
                             "out), then one halfway through the last load (the newer half is left out)")
    parser.add_argument("--recall", type=int, default=0,
                        help="Neo4j: also measure vector recall@10 against an exact scan over this many queries "
                             "(each exact scan of 100,000 memories takes seconds)")
    args = parser.parse_args()
    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix="store-bench-"))
    filled = 0
    async with AsyncMemory(config(args.store, folder, "hybrid")) as memory:
        await memory.reset()
    for size in (int(s) for s in args.sizes.split(",")):
        async with AsyncMemory(config(args.store, folder, "hybrid")) as memory:
            seconds, halfway = await fill(memory, size - filled, args.tenants, args.batch, rng)
        print(f"store={args.store} added {size - filled} memories over {args.tenants} tenant(s) in {seconds:.1f}s: "
              f"{(size - filled) / seconds:.0f} memories/s (batches of {args.batch})", flush=True)
        filled = size
        await asyncio.sleep(args.settle)
        for preset in ("vector", "hybrid"):
            async with AsyncMemory(config(args.store, folder, preset)) as memory:
                p50, p95 = await latency(memory, args.tenants, args.queries, rng, warmup=args.warmup)
            print(f"  {size} memories, preset {preset}: search p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                  "(query embedding excluded)", flush=True)
        if args.recall and args.store == "neo4j":
            found = await vector_recall(args.store, folder, args.tenants, args.recall, rng)
            print(f"  {size} memories, vector recall@10 against an exact scan: {found:.3f} ({args.recall} queries)",
                  flush=True)
        if args.as_of:
            async with AsyncMemory(config(args.store, folder, "hybrid")) as memory:
                p50, p95 = await latency(memory, args.tenants, args.queries, rng, as_of="2100-01-01",
                                         warmup=args.warmup)
            print(f"  {size} memories, preset hybrid with as_of: search p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
            async with AsyncMemory(config(args.store, folder, "hybrid")) as memory:
                p50, p95 = await latency(memory, args.tenants, args.queries, rng, as_of=halfway, warmup=args.warmup)
            print(f"  {size} memories, preset hybrid with as_of halfway through this load ({halfway}): "
                  f"search p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
