"""``search_memories`` round trip over MCP stdio against in-process ``search``, on one store.

    .venv/bin/python benchmarks/mcp_bench.py                       # 10,000 memories, 200 calls
    .venv/bin/python benchmarks/mcp_bench.py --path /tmp/mcp-bench.db   # build once, reuse after

The store is embedded with the hashing embedder (384 dims), one user, filled through the API
(``add(infer=False)`` in batches, as store_bench does) unless ``--path`` already holds that many.
The official ``mcp`` client spawns ``powermem mcp`` over stdio, as a desktop app would. Every
query runs once untimed first (warming the query-embedding cache on both sides), then each
is timed: in process (``AsyncMemory.search``) and as an MCP ``tools/call`` round trip (request
out, JSON result parsed back), with the same queries and ``limit=10``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from store_bench import sentence  # same pseudo-text as the store benchmark (run from benchmarks/)

from powermem import AsyncMemory

ROOT = Path(__file__).resolve().parents[1]
USER = "bench"


def bench_config(path: Path) -> dict[str, Any]:
    return {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": "hashing", "dims": 384},
            "llm": {"provider": "none"}}


async def ensure_store(path: Path, size: int, rng: random.Random, batch: int = 100) -> None:
    async with AsyncMemory(bench_config(path)) as memory:
        have = (await memory.get_all(user_id=USER, limit=1))["total"]
        if have >= size:
            print(f"reusing {path}: {have} memories", flush=True)
            return
        started = time.perf_counter()
        for start in range(have, size, batch):
            count = min(batch, size - start)
            await memory.add([{"role": "user", "content": sentence(rng)} for _ in range(count)], user_id=USER,
                             infer=False)
        print(f"filled {path} to {size} memories in {time.perf_counter() - started:.0f}s", flush=True)


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


async def in_process_search(path: Path, queries: list[str]) -> list[float]:
    async with AsyncMemory(bench_config(path)) as memory:
        for query in queries:
            await memory.search(query, user_id=USER, limit=10)
        times = []
        for query in queries:
            started = time.perf_counter()
            await memory.search(query, user_id=USER, limit=10)
            times.append((time.perf_counter() - started) * 1000)
    return times


async def mcp_search_roundtrip(config_file: Path, queries: list[str], user_id: str = USER,
                               warm: list[str] | None = None) -> list[float]:
    """Milliseconds per ``search_memories`` call over stdio, after one untimed pass over ``warm``
    (default: ``queries`` themselves, so their embeddings are cached)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POWERMEM_ENV_FILE": os.devnull}
    server = StdioServerParameters(command=sys.executable, env=env, cwd=str(ROOT),
                                   args=["-m", "powermem.cli", "mcp", "--config", str(config_file), "--user-id", user_id])
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for query in queries if warm is None else warm:
            await session.call_tool("search_memories", {"query": query, "limit": 10})
        times = []
        for query in queries:
            started = time.perf_counter()
            result = await session.call_tool("search_memories", {"query": query, "limit": 10})
            times.append((time.perf_counter() - started) * 1000)
            assert not result.is_error and result.structured_content["results"], query
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--path", type=Path, help="store file to build once and reuse (default: a new temp file)")
    args = parser.parse_args()
    path = args.path or Path(tempfile.mkdtemp(prefix="mcp-bench-")) / "bench.db"
    await ensure_store(path, args.size, random.Random(7))
    config_file = path.with_suffix(".mcp.json")
    config_file.write_text(json.dumps(bench_config(path)))
    rng = random.Random(11)
    queries = [sentence(rng) for _ in range(args.calls)]
    local_p50, local_p95 = percentiles(await in_process_search(path, queries))
    mcp_p50, mcp_p95 = percentiles(await mcp_search_roundtrip(config_file, queries))
    print(f"{args.size} memories, {args.calls} searches (limit 10, hybrid, query embedding cached):")
    print(f"  in process AsyncMemory.search:       p50 {local_p50:.1f} ms, p95 {local_p95:.1f} ms")
    print(f"  MCP search_memories over stdio:      p50 {mcp_p50:.1f} ms, p95 {mcp_p95:.1f} ms")
    print(f"  MCP overhead (difference):           p50 {mcp_p50 - local_p50:+.1f} ms, p95 {mcp_p95 - local_p95:+.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
