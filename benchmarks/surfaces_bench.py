"""What the agent surfaces cost over the Python API, on one 10,000-memory embedded store.

    .venv/bin/python benchmarks/surfaces_bench.py [--path FILE] [--memories 10000] [--embedding hashing|local]

Prints search latency p50/p95 in-process (AsyncMemory.search) and over HTTP (``powermem
serve`` in its own process on loopback, one keep-alive client), on the same store with the
same queries, each query cold on both sides (its embedding not cached yet) and the two
measured turn about, query by query; the same over a minimal raw-socket client (the
server's share of the overhead, without httpx's own cost); the HTTP
overhead at p50 and p95; MCP ``search_memories`` over stdio; and requests/s with 50 concurrent clients (each its own
connection). The store is built once (``--path``, default a file in the temp folder) and
reused by later runs with the same size and embedder. The latency figures are each the
median of ``--rounds`` rounds (3) of fresh queries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store_bench import sentence  # noqa: E402

from powermem import AsyncMemory  # noqa: E402
from powermem._admin import add_texts  # noqa: E402
from powermem.stores.base import Scope  # noqa: E402

USER = "bench"
LIMIT = 10


def config(path: Path, embedding: str) -> dict[str, Any]:
    return {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": embedding},
            "llm": {"provider": "none"}}


async def build(cfg: dict[str, Any], size: int) -> None:
    """Fill the store up to ``size`` memories of USER (a store of that size is reused as is)."""
    rng = random.Random(7)
    async with AsyncMemory(cfg) as m:
        have = (await m.get_all(user_id=USER, limit=1))["total"]
        if have >= size:
            print(f"store: reusing {have:,} memories in {cfg['store']['path']}")
            return
        started = time.perf_counter()
        texts = [sentence(rng) for _ in range(size)][have:]
        for i in range(0, len(texts), 500):
            await add_texts(m, Scope(USER), [(t, {"n": have + i + j}) for j, t in enumerate(texts[i:i + 500])], None)
        print(f"store: added {len(texts):,} memories in {time.perf_counter() - started:.1f} s")


def queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(sentence(rng).split()[:4]) for _ in range(count)]


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on one socket: what the server adds, without httpx's own cost."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, url: str) -> RawClient:
        host, port = url.rsplit("/", 1)[-1].split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, payload: dict[str, Any]) -> bytes:
        body = json.dumps(payload).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        return await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def paired(cfg: dict[str, Any], url: str, warm: list[str], timed: list[str]) -> dict[str, list[float]]:
    """Each query in-process, over HTTP with httpx, and over HTTP with a minimal client, turn about,
    so that load from elsewhere on the machine weighs on all three alike."""
    samples: dict[str, list[float]] = {"inproc": [], "httpx": [], "raw": []}
    raw = await RawClient.connect(url)
    async with AsyncMemory(cfg) as m, httpx.AsyncClient(base_url=url, timeout=60) as client:
        for n, q in enumerate(warm + timed):
            payload = {"query": q, "user_id": USER, "limit": LIMIT}
            t0 = time.perf_counter()
            await m.search(q, user_id=USER, limit=LIMIT)
            t1 = time.perf_counter()
            response = await client.post("/v1/memories/search", json=payload)
            t2 = time.perf_counter()
            response.raise_for_status()
            # The server caches query embeddings: the raw client's query must be cold too.
            payload["query"] = q + " again"
            t3 = time.perf_counter()
            await raw.post("/v1/memories/search", payload)
            t4 = time.perf_counter()
            if n >= len(warm):
                for key, seconds in zip(samples, (t1 - t0, t2 - t1, t4 - t3), strict=True):
                    samples[key].append(seconds)
    raw.close()
    return samples


def rounds(cfg: dict[str, Any], url: str, warm: list[str], count: int, times: int) -> list[tuple[float, float]]:
    """p50/p95 in-process, over httpx and over the raw client: each the median of ``times`` rounds
    of ``count`` fresh queries. On a small shared machine one round's tail moves by several ms
    from one run to the next; the median round does not."""
    per_round = []
    for n in range(times):
        samples = asyncio.run(paired(cfg, url, warm if n == 0 else [], queries(count, seed=2 + n)))
        per_round.append([percentiles(samples[k]) for k in ("inproc", "httpx", "raw")])
    return [(statistics.median(r[k][0] for r in per_round), statistics.median(r[k][1] for r in per_round))
            for k in range(3)]


@contextmanager
def http_server(cfg: dict[str, Any], folder: Path) -> Iterator[str]:
    """``powermem serve`` in its own process; yields its URL once uvicorn says it listens."""
    config_file = folder / "surfaces-bench-config.json"
    config_file.write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "POWERMEM_", "LLM_", "EMBEDDING_"))}
    env.update({"POWERMEM_ENV_FILE": str(folder / "absent.env"), "PYTHONPATH": str(ROOT)})
    process = subprocess.Popen([sys.executable, "-m", "powermem.cli", "serve", "--port", "0", "--config",
                                str(config_file)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    try:
        for line in process.stderr:
            if match := re.search(r"Uvicorn running on (http://[\d.]+:\d+)", line):
                break
        else:
            raise RuntimeError("powermem serve did not start")
        # Keep draining its log so the pipe never fills and blocks the server.
        threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
        yield match[1]
    finally:
        process.terminate()
        process.wait(timeout=60)


async def concurrent(url: str, clients: int, each: int) -> tuple[float, int]:
    """Searches/s of ``clients`` connections at once; clients connect (untimed) before the clock starts."""
    qs = queries(clients * each, seed=99)
    errors = 0
    pool = [httpx.AsyncClient(base_url=url, timeout=120) for _ in range(clients)]
    await asyncio.gather(*(c.get("/healthz") for c in pool))

    async def client(n: int) -> None:
        nonlocal errors
        for q in qs[n * each:(n + 1) * each]:
            r = await pool[n].post("/v1/memories/search", json={"query": q, "user_id": USER, "limit": LIMIT})
            errors += r.status_code != 200

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.aclose() for c in pool))
    return clients * each / elapsed, errors


def mcp_round_trip(cfg: dict[str, Any], folder: Path, warm: list[str], timed: list[str]) -> list[float]:
    """Seconds per MCP ``search_memories`` over stdio (``powermem mcp`` spawned by the official
    client, as a desktop app does), on the same store; ``timed`` queries are cold there too."""
    from mcp_bench import mcp_search_roundtrip

    config_file = folder / "powermem-surfaces-mcp.json"
    config_file.write_text(json.dumps(cfg))
    milliseconds = asyncio.run(mcp_search_roundtrip(config_file, timed, USER, warm=warm))
    return [ms / 1000 for ms in milliseconds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, help="store file (default: a file in the temp folder, reused)")
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--embedding", default="hashing", choices=["hashing", "local"])
    parser.add_argument("--queries", type=int, default=300, help="timed queries per surface")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of paired queries; each figure is their median")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="searches per concurrent client")
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir())
    path = args.path or folder / f"powermem-surfaces-{args.memories}-{args.embedding}.db"
    cfg = config(path, args.embedding)
    asyncio.run(build(cfg, args.memories))
    warm, timed = queries(100, seed=1), queries(args.queries, seed=2)

    with http_server(cfg, folder) as url:
        inproc, http, raw = rounds(cfg, url, warm, args.queries, args.rounds)
        rate, errors = asyncio.run(concurrent(url, args.clients, args.requests))
    mcp = mcp_round_trip(cfg, folder, warm, timed)

    print(f"\nsearch, {args.memories:,} memories, {args.embedding} embedder, limit {LIMIT}, {len(timed)} queries")
    print(f"  in-process        p50 {inproc[0]:6.2f} ms   p95 {inproc[1]:6.2f} ms")
    print(f"  HTTP (keep-alive) p50 {http[0]:6.2f} ms   p95 {http[1]:6.2f} ms")
    print(f"  HTTP overhead     p50 {http[0] - inproc[0]:6.2f} ms   p95 {http[1] - inproc[1]:6.2f} ms   (goal: <= 3 ms)")
    print(f"  HTTP, raw socket  p50 {raw[0]:6.2f} ms   p95 {raw[1]:6.2f} ms   "
          f"(overhead p50 {raw[0] - inproc[0]:.2f}, p95 {raw[1] - inproc[1]:.2f}: the server's share)")
    p50, p95 = percentiles(mcp)
    print(f"  MCP stdio         p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   "
          f"(overhead p50 {p50 - inproc[0]:.2f}, p95 {p95 - inproc[1]:.2f})")
    print(f"  HTTP, {args.clients} concurrent clients: {rate:,.0f} searches/s ({errors} errors)")


if __name__ == "__main__":
    main()
