"""The embedded store's options for one large tenant's vectors, measured side by side.

    .venv/bin/pip install usearch faiss-cpu      # the HNSW libraries (not powermem dependencies)
    .venv/bin/python benchmarks/vector_index_bench.py --rows 1000000

The vectors are what a store_bench.py tenant holds (its seeded sentences, hashing embedder,
384 dimensions), cached under --cache-dir. Each option answers the same queries for the top
``--k`` (the search's candidate pool) on one thread, as a search does; recall@10 and @k are
against the exact scan. Options:

- ``exact``: numpy dot product over the whole matrix (what a small tenant gets);
- ``sketch``: powermem's pre-scan (64-dimensional PCA sketch, exact re-rank of the best few
  thousand), in ``powermem.stores.embedded.vectors``;
- ``usearch-f32`` / ``usearch-i8``: usearch HNSW (M=16, ef_construction=128), full-precision or
  int8 vectors, search breadths ``--ef``;
- ``faiss-hnsw``: faiss IndexHNSWFlat (M=32, ef_construction=80), inner product, efSearch ``--ef``.

Build time is the time to build from the vectors in memory: what a restart or a crash costs
when the index is rebuilt from SQLite (the only way to be sure it matches the committed rows).
Memory is what the option holds beyond the float32 matrix the exact re-rank reads.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
import store_bench

from powermem._blas import use_one_blas_thread
from powermem.embeddings.hashing import HashingEmbedder
from powermem.stores.embedded.vectors import TenantMatrix

Matrix = npt.NDArray[np.float32]
Search = Callable[[Matrix, int], npt.NDArray[np.int64]]
SetEf = Callable[[int], None] | None  # an HNSW option's search breadth


def vectors(rows: int, queries: int, cache: Path) -> tuple[Matrix, Matrix]:
    path = cache / f"vectors-{rows}-{queries}.npz"
    if path.exists():
        saved = np.load(path)
        return saved["data"], saved["queries"]
    rng = random.Random(7)
    embedder = HashingEmbedder(384)
    data = np.concatenate([embedder.embed_sync([store_bench.sentence(rng) for _ in range(min(10_000, rows - s))])
                           for s in range(0, rows, 10_000)])
    asks = embedder.embed_sync([store_bench.sentence(rng) for _ in range(queries)])
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, data=data, queries=asks)
    return data, asks


def exact_top(data: Matrix, query: Matrix, k: int) -> npt.NDArray[np.int64]:
    scores = data @ query
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best])].astype(np.int64)


def sketch_option(data: Matrix) -> tuple[Search, int, SetEf]:
    matrix = TenantMatrix(data.shape[1])
    for row, vector in enumerate(data):
        matrix.put(row, vector, "")
    matrix.top_k(data[0], 10, None)  # fits the sketch
    def search(query: Matrix, k: int) -> npt.NDArray[np.int64]:
        return np.asarray([i for i, _ in matrix.top_k(query, k, None)], dtype=np.int64)
    sketch = matrix._sketch
    return search, 0 if sketch is None else sketch.nbytes, None


def usearch_option(data: Matrix, dtype: str) -> tuple[Search, int, SetEf]:
    from usearch.index import Index

    index = Index(ndim=data.shape[1], metric="ip", dtype=dtype, connectivity=16, expansion_add=128)
    index.add(np.arange(len(data), dtype=np.int64), data, threads=2)
    def search(query: Matrix, k: int) -> npt.NDArray[np.int64]:
        return np.asarray(index.search(query, k, threads=1).keys, dtype=np.int64)
    def set_ef(ef: int) -> None:
        index.expansion_search = ef
    return search, int(index.memory_usage), set_ef


def faiss_option(data: Matrix) -> tuple[Search, int, SetEf]:
    import faiss

    index = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    faiss.omp_set_num_threads(2)
    index.add(data)
    faiss.omp_set_num_threads(1)
    def search(query: Matrix, k: int) -> npt.NDArray[np.int64]:
        return index.search(query[None, :], k)[1][0].astype(np.int64)
    def set_ef(ef: int) -> None:
        index.hnsw.efSearch = ef
    return search, len(faiss.serialize_index(index)) - data.nbytes, set_ef


def measure(name: str, build: Callable[[], tuple[Search, int, SetEf]], queries: Matrix,
            truth: list[npt.NDArray[np.int64]], k: int, efs: list[int]) -> None:
    started = time.perf_counter()
    search, extra_bytes, set_ef = build()
    built = time.perf_counter() - started
    for ef in efs if set_ef is not None else [0]:
        if set_ef is not None:
            set_ef(ef)
        times, at10, atk = [], [], []
        for query, exact in zip(queries, truth, strict=True):
            started = time.perf_counter()
            found = search(query, k)
            times.append((time.perf_counter() - started) * 1000)
            at10.append(len(set(found[:10].tolist()) & set(exact[:10].tolist())) / 10)
            atk.append(len(set(found.tolist()) & set(exact.tolist())) / k)
        times.sort()
        label = f"{name} ef={ef}" if set_ef is not None else name
        print(f"| {label} | {built:.1f} | {extra_bytes / 2**20:.0f} | {statistics.median(times):.2f} "
              f"| {times[int(len(times) * 0.95) - 1]:.2f} | {statistics.mean(at10):.3f} | {statistics.mean(atk):.3f} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--ef", default="64,128,512", help="HNSW search breadths to measure, comma-separated")
    parser.add_argument("--options", default="exact,sketch,usearch-f32,usearch-i8,faiss-hnsw")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "powermem-bench")
    args = parser.parse_args()
    use_one_blas_thread()
    data, queries = vectors(args.rows, args.queries, args.cache_dir)
    truth = [exact_top(data, q, args.k) for q in queries]
    builders: dict[str, Callable[[], tuple[Search, int, SetEf]]] = {
        "exact": lambda: ((lambda q, k: exact_top(data, q, k)), 0, None),
        "sketch": lambda: sketch_option(data),
        "usearch-f32": lambda: usearch_option(data, "f32"),
        "usearch-i8": lambda: usearch_option(data, "i8"),
        "faiss-hnsw": lambda: faiss_option(data),
    }
    print(f"{args.rows} vectors of {data.shape[1]}, {args.queries} queries, top {args.k}, one search thread")
    print("| option | build s | memory beyond the matrix MB | p50 ms | p95 ms | recall@10 | recall@k |")
    print("|---|---|---|---|---|---|---|")
    for name in args.options.split(","):
        measure(name, builders[name], queries, truth, args.k, [int(e) for e in args.ef.split(",")])


if __name__ == "__main__":
    main()
