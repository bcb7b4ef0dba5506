"""Issue 17's table at scale: stores of up to a million memories, built reproducibly and reused.

    .venv/bin/python benchmarks/scale_bench.py --scale 0.01                 # every embedded case, small
    .venv/bin/python benchmarks/scale_bench.py --cases one --cache-dir ~/scale-stores
    .venv/bin/python benchmarks/scale_bench.py --store neo4j --cases mixed  # NEO4J_* env vars

Cases (sizes at ``--scale 1``; the scale multiplies memory and tenant counts):
- ``one``: 1,000,000 memories in one embedded tenant: hybrid p50/p95, recall@10 of the vector
  search against an exact numpy scan of the same vectors, and the peak resident memory of a
  separate process that only opens the store and searches;
- ``many``: 1,000,000 memories over 10,000 tenants of 100: hybrid p50/p95;
- ``mixed``: 1,000,000 memories over 10,000 tenants plus one tenant of 200,000: hybrid p50/p95
  for a small tenant and for the large one (meant for ``--store neo4j``);
- ``hard``: one tenant of 200,000 memories of a support bot, where most memories say
  "customer", "order" and the same few names: hybrid p50/p95 next to an exact numpy top-10
  scan of its vectors, in the same run.

Text is seeded: store_bench's Zipf pseudo-words after one of its names, or the support bot's
sentences. Adds use ``add(messages, infer=False)`` with the hashing embedder (384 dims) in
batches; the ingest rate seen while building is printed. Built stores are reused: an embedded
store is the SQLite file ``<cache-dir>/<case>-<size>-seed<seed>.db`` (renamed into place only
once complete); on Neo4j the build is skipped when the database holds the case's counts (else
the database is reset: it holds one case at a time). Search latency excludes the query
embedding: every query runs once untimed to warm the query cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.store_bench import NAMES, VOCABULARY, WEIGHTS, config, sentence  # noqa: E402
from powermem import AsyncMemory  # noqa: E402
from powermem.embeddings.hashing import HashingEmbedder  # noqa: E402

DIMS = 384
BIG_USER = "big"

# The support bot: a few agents answer every customer; a handful of regulars write most tickets.
AGENTS = ["Sam", "Maria", "John"]
CUSTOMERS = [*NAMES, "Priya", "Chen", "Fatima", "Lucas", "Noah", "Emma", "Omar", "Sofia", "Liam", "Yuki"]
CUSTOMER_WEIGHTS = [1.0 / (rank + 1) for rank in range(len(CUSTOMERS))]
TOPICS = ["refund", "delivery", "late", "shipped", "cancel", "address", "payment", "invoice", "return",
          "damaged", "tracking", "warranty", "discount", "exchange", "missing", "charged", "package", "status"]
VERBS = ["asked about", "complained about", "wants to change", "confirmed", "reported a problem with",
         "called again about", "was told about", "is waiting for"]


def support_sentence(rng: random.Random) -> str:
    """A support ticket line: "customer" in ~90%, "order" in ~85%, an agent's name in ~70%."""
    customer = rng.choices(CUSTOMERS, weights=CUSTOMER_WEIGHTS)[0]
    parts = [f"customer {customer}" if rng.random() < 0.9 else customer, rng.choice(VERBS)]
    if rng.random() < 0.85:
        parts.append(f"order {rng.randrange(100_000)}" if rng.random() < 0.3 else "the order")
    parts.extend(rng.sample(TOPICS, rng.randint(1, 3)))
    parts.extend(rng.choices(VOCABULARY[:200], weights=WEIGHTS[:200], k=rng.randint(0, 3)))
    if rng.random() < 0.7:
        parts.append(f"and {rng.choice(AGENTS)} handled it")
    return " ".join(parts)


@dataclass(frozen=True)
class Tenants:
    """``count`` tenants of ``each`` memories (``t0``..), plus one of ``big`` (``BIG_USER``)."""

    count: int
    each: int
    big: int = 0
    text: Callable[[random.Random], str] = sentence

    @property
    def total(self) -> int:
        return self.count * self.each + self.big


def case_tenants(case: str, scale: float) -> Tenants:
    def n(full: int) -> int:
        return max(1, round(full * scale))

    if case == "one":
        return Tenants(0, 0, n(1_000_000))
    if case == "many":
        return Tenants(n(10_000), 100)
    if case == "mixed":
        return Tenants(n(10_000), 100, n(200_000))
    if case == "hard":
        return Tenants(0, 0, n(200_000), support_sentence)
    raise ValueError(f"unknown case {case!r}")


def user(index: int) -> str:
    return f"t{index}"


async def fill(memory: AsyncMemory, tenants: Tenants, batch: int, seed: int) -> float:
    """Adds every tenant's memories in batches; returns the seconds it took."""
    rng = random.Random(seed)
    started = time.perf_counter()
    plan = [(BIG_USER, tenants.big)] if tenants.big else []
    plan += [(user(i), tenants.each) for i in range(tenants.count)]
    done = 0
    for name, size in plan:
        for start in range(0, size, batch):
            messages = [{"role": "user", "content": tenants.text(rng)} for _ in range(min(batch, size - start))]
            await memory.add(messages, user_id=name, infer=False)
            done += len(messages)
            if done % 100_000 < len(messages):
                print(f"    {done:,} of {tenants.total:,} added ({done / (time.perf_counter() - started):.0f}/s)",
                      file=sys.stderr, flush=True)
    return time.perf_counter() - started


def report_ingest(case: str, tenants: Tenants, seconds: float, batch: int) -> None:
    batches = f"batches of {batch}" if not tenants.count else f"batches of {min(batch, tenants.each)} for the small tenants"
    print(f"{case}: built {tenants.total:,} memories in {seconds:.1f} s: {tenants.total / seconds:,.0f} memories/s "
          f"(infer=False, hashing embedder, {batches})", flush=True)


async def embedded_store(case: str, tenants: Tenants, args: argparse.Namespace) -> Path:
    """The case's SQLite file in the cache, built first if it is not there."""
    path = args.cache_dir / f"{case}-{tenants.total}-seed{args.seed}.db"
    if path.exists():
        print(f"{case}: reusing {path}", flush=True)
        return path
    partial = path.with_name(path.name + ".partial")
    for leftover in partial.parent.glob(partial.name + "*"):
        leftover.unlink()  # an interrupted build
    async with AsyncMemory(config("embedded", partial.parent, "hybrid") | {"store": store_config(partial)}) as memory:
        seconds = await fill(memory, tenants, args.batch, args.seed)
    report_ingest(case, tenants, seconds, args.batch)
    partial.rename(path)
    return path


def store_config(path: Path) -> dict[str, Any]:
    return {"provider": "embedded", "path": str(path)}


def memory_config(store: str, path: Path | None, preset: str) -> dict[str, Any]:
    if store == "neo4j":
        return config("neo4j", Path("."), preset)
    assert path is not None
    return config("embedded", path.parent, preset) | {"store": store_config(path)}


async def neo4j_store(case: str, tenants: Tenants, args: argparse.Namespace) -> None:
    """Builds the case on Neo4j unless the database already holds its counts."""
    async with AsyncMemory(memory_config("neo4j", None, "hybrid")) as memory:
        total = (await memory.get_all(limit=1))["total"]
        big = (await memory.get_all(user_id=BIG_USER, limit=1))["total"] if tenants.big else 0
        last = (await memory.get_all(user_id=user(tenants.count - 1), limit=1))["total"] if tenants.count else 0
        if (total, big, last) == (tenants.total, tenants.big, tenants.each if tenants.count else 0):
            print(f"{case}: reusing the Neo4j database ({total:,} memories)", flush=True)
            return
        await memory.reset()
        seconds = await fill(memory, tenants, args.batch, args.seed)
    report_ingest(case, tenants, seconds, args.batch)
    await asyncio.sleep(args.settle)


def queries(text: Callable[[random.Random], str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)  # not the build's stream: queries are new texts
    return [text(rng) for _ in range(count)]


async def search_times(
    memory: AsyncMemory, asks: list[tuple[str, str]], beside: Callable[[int], float] | None = None
) -> tuple[list[float], list[float]]:
    """Hybrid search times; with ``beside``, each search is followed by ``beside(i)`` (it returns
    its own ms), so that both see the same machine load."""
    for text, name in asks:  # warm the query-embedding cache: what follows excludes embedding
        await memory.search(text, user_id=name, limit=10)
    times, other = [], []
    for i, (text, name) in enumerate(asks):
        started = time.perf_counter()
        await memory.search(text, user_id=name, limit=10)
        times.append((time.perf_counter() - started) * 1000)
        if beside is not None:
            other.append(beside(i))
    return times, other


def p50_p95(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def row(label: str, times: list[float], extra: str = "") -> None:
    p50, p95 = p50_p95(times)
    print(f"  {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms{extra}", flush=True)


def tenant_vectors(path: Path, user_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids and vectors of one tenant, read straight from the SQLite file."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, embedding FROM memories WHERE user_id = ?", (user_id,)).fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return ids, matrix


def exact_top10(matrix: np.ndarray, vector: np.ndarray) -> tuple[np.ndarray, float]:
    """An exact scan (one matrix-vector product, then the top 10): rows best first, and ms."""
    started = time.perf_counter()
    scores = matrix @ vector
    top = np.argpartition(-scores, 10)[:10]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, (time.perf_counter() - started) * 1000


async def vector_recall(path: Path, texts: list[str], ids: np.ndarray, matrix: np.ndarray) -> float:
    """Share of the exact top 10 that the store's vector search returns."""
    exact = [exact_top10(matrix, vector)[0] for vector in HashingEmbedder(DIMS).embed_sync(texts)]
    hits = 0
    async with AsyncMemory(memory_config("embedded", path, "vector")) as memory:
        for text, rows in zip(texts, exact, strict=True):
            got = {int(r["id"]) for r in (await memory.search(text, user_id=BIG_USER, limit=10))["results"]}
            hits += len(got & {int(ids[i]) for i in rows})
    return hits / (10 * len(texts))


def serving_peak(path: Path, args: argparse.Namespace) -> str:
    """Peak resident memory of a fresh process that opens the store and searches the big tenant."""
    command = [sys.executable, __file__, "--serve", str(path), "--queries", str(args.queries), "--seed", str(args.seed)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return result.stdout.strip()


async def serve(path: Path, count: int, seed: int) -> None:
    asks = [(t, BIG_USER) for t in queries(sentence, count, seed)]
    async with AsyncMemory(memory_config("embedded", path, "hybrid")) as memory:
        await search_times(memory, asks)
    print(f"{peak_resident_kib() / 1024 ** 2:.2f} GB")


def peak_resident_kib() -> int:
    """This process's own peak (VmHWM). Not getrusage's ru_maxrss: Linux carries the high-water
    mark of the forked image into it across exec, so a child of this large benchmark process
    would report the parent's size (5.1 GB against 2.2 GB measured alone at a million)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc: the best there is


async def run_case(case: str, args: argparse.Namespace) -> None:
    tenants = case_tenants(case, args.scale)
    path = None
    if args.store == "neo4j":
        await neo4j_store(case, tenants, args)
    else:
        path = await embedded_store(case, tenants, args)
    print(f"{case}: {tenants.total:,} memories, store={args.store} (query embedding excluded)", flush=True)
    rng = random.Random(args.seed + 2)
    texts = queries(tenants.text, args.queries, args.seed)
    exact_ms: Callable[[int], float] | None = None
    if case == "hard" and path is not None:  # timed beside each hybrid search, on the same vectors
        _, matrix = tenant_vectors(path, BIG_USER)
        vectors = HashingEmbedder(DIMS).embed_sync(texts)
        exact_ms = lambda i: exact_top10(matrix, vectors[i])[1]  # noqa: E731
    async with AsyncMemory(memory_config(args.store, path, args.preset)) as memory:
        if tenants.count:
            small, _ = await search_times(memory, [(t, user(rng.randrange(tenants.count))) for t in texts])
            row(f"{args.preset} search, tenants of {tenants.each} ({tenants.count:,} tenants)", small)
        if tenants.big:
            big, exact = await search_times(memory, [(t, BIG_USER) for t in texts], exact_ms)
    if not tenants.big:
        return
    if exact:
        p50, p95 = p50_p95(exact)
        row(f"{args.preset} search, the hard tenant of {tenants.big:,}", big,
            f"; exact numpy top-10 scan p50 {p50:.1f} ms, p95 {p95:.1f} ms (each after a search); "
            f"{args.preset} p95 / exact p95 {p50_p95(big)[1] / p95:.2f}")
    else:
        row(f"{args.preset} search, the tenant of {tenants.big:,}", big)
    if case == "one" and path is not None:
        ids, matrix = tenant_vectors(path, BIG_USER)
        print(f"  recall@10 of the vector search against an exact numpy scan: "
              f"{await vector_recall(path, texts, ids, matrix):.3f}", flush=True)
        del matrix  # 1.5 GB at a million: freed before a second process loads the store
        print(f"  peak resident memory of a process that opens the store and searches: {serving_peak(path, args)}",
              flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--cases", help="comma-separated: one, many, mixed, hard (default: one,many,hard on "
                                        "embedded, mixed on neo4j)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every memory and tenant count")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "powermem-scale")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1000, help="messages per add (a small tenant's whole size at most)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--preset", default="hybrid", choices=["hybrid", "vector", "fulltext", "vector+fulltext"],
                        help="the search preset timed (the table's goals are for hybrid)")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after a Neo4j build before timing (index segments merge; docs/neo4j.md)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the serving process of case one
    args = parser.parse_args()
    if args.serve:
        await serve(args.serve, args.queries, args.seed)
        return
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    cases = args.cases.split(",") if args.cases else (["mixed"] if args.store == "neo4j" else ["one", "many", "hard"])
    for case in cases:
        await run_case(case, args)


if __name__ == "__main__":
    asyncio.run(main())
