"""LoCoMo retrieval benchmark (see ../shared/data/README.md), through the public API.

One memory per turn (``infer=False``, text "Speaker: text", the turn's dia_id in metadata,
one user_id per conversation); then every question of categories 1-4 searches its
conversation, and we count how much of its evidence is in the top k.

    .venv/bin/python benchmarks/locomo_retrieval.py                  # embedded store
    .venv/bin/python benchmarks/locomo_retrieval.py --store neo4j    # uses NEO4J_* env vars
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from powermem import AsyncMemory

KS = (5, 10, 30)
CHUNK = 64
PRESETS = ("vector", "fulltext", "vector+fulltext", "hybrid")


def default_data() -> Path:
    shared = os.environ.get("POWERMEM_SHARED_DIR")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "locomo-dev.json"


def store_config(kind: str, folder: Path) -> dict[str, Any]:
    if kind == "embedded":
        return {"provider": "embedded", "path": str(folder / "locomo.db")}
    return {"provider": "neo4j", "uri": os.environ["NEO4J_URI"], "username": os.environ.get("NEO4J_USERNAME", "neo4j"),
            "password": os.environ.get("NEO4J_PASSWORD"), "database": os.environ.get("NEO4J_DATABASE")}


def config(kind: str, folder: Path, preset: str | None, embedding: str) -> dict[str, Any]:
    search = {"preset": preset} if preset else {}
    return {"store": store_config(kind, folder), "embedding": {"provider": embedding}, "llm": {"provider": "none"},
            "search": search}


def turns(sample: dict[str, Any]) -> list[tuple[str, str]]:
    conversation = sample["conversation"]
    sessions = sorted((k for k in conversation if k.startswith("session_") and k[8:].isdigit()), key=lambda k: int(k[8:]))
    return [(t["dia_id"], f"{t['speaker']}: {t['text']}") for s in sessions for t in conversation[s]]


def evidence_of(qa: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for item in qa.get("evidence", []):
        ids.update(part.strip() for part in str(item).replace(",", ";").split(";") if part.strip())
    return ids


async def ingest(memory: AsyncMemory, samples: list[dict[str, Any]]) -> tuple[int, float]:
    await memory.reset()
    started, count = time.perf_counter(), 0
    for sample in samples:
        pending = turns(sample)
        # Adds started together keep their call order (ids are taken before any await).
        for start in range(0, len(pending), CHUNK):
            await asyncio.gather(*(
                memory.add({"role": "user", "content": text}, user_id=sample["sample_id"],
                           metadata={"dia_id": dia_id}, infer=False)
                for dia_id, text in pending[start : start + CHUNK]
            ))
        count += len(pending)
    return count, time.perf_counter() - started


async def evaluate(memory: AsyncMemory, samples: list[dict[str, Any]]) -> dict[str, float]:
    hits = {k: [] for k in KS}  # type: dict[int, list[float]]
    recalls = {k: [] for k in KS}  # type: dict[int, list[float]]
    latencies = []
    for sample in samples:
        for qa in sample["qa"]:
            evidence = evidence_of(qa)
            if qa.get("category") not in (1, 2, 3, 4) or not evidence:
                continue
            started = time.perf_counter()
            found = await memory.search(qa["question"], user_id=sample["sample_id"], limit=max(KS))
            latencies.append(time.perf_counter() - started)
            ranked = [r["metadata"].get("dia_id") for r in found["results"]]
            for k in KS:
                top = set(ranked[:k])
                hits[k].append(float(bool(top & evidence)))
                recalls[k].append(len(top & evidence) / len(evidence))
    row = {f"hit@{k}": statistics.fmean(hits[k]) for k in KS}
    row.update({f"recall@{k}": statistics.fmean(recalls[k]) for k in KS})
    row["questions"] = len(latencies)
    row["p50_ms"] = statistics.median(latencies) * 1000
    return row


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--embedding", default="local", choices=["local", "hashing"])
    parser.add_argument("--conversations", type=int, default=5)
    args = parser.parse_args()
    samples = json.loads(args.data.read_text())[: args.conversations]
    folder = Path(tempfile.mkdtemp(prefix="locomo-"))
    async with AsyncMemory(config(args.store, folder, None, args.embedding)) as memory:
        count, seconds = await ingest(memory, samples)
    print(f"store={args.store} embedding={args.embedding} memories={count} ingest={seconds:.1f}s "
          f"({count / seconds:.0f}/s)")
    header = ["preset", *(f"hit@{k}" for k in KS), *(f"recall@{k}" for k in KS), "questions", "p50_ms"]
    print(" | ".join(f"{h:>15}" for h in header))
    for preset in args.presets.split(","):
        async with AsyncMemory(config(args.store, folder, preset, args.embedding)) as memory:
            row = await evaluate(memory, samples)
        cells = [preset, *(f"{row[h]:.3f}" for h in header[1:-2]), str(row["questions"]), f"{row['p50_ms']:.1f}"]
        print(" | ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
