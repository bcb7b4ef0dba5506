"""LoCoMo retrieval benchmark (see ../shared/data/README.md), through the public API.

One memory per turn (``infer=False``, text "Speaker: text", the turn's dia_id in metadata,
one user_id per conversation); then every question of categories 1-4 searches its
conversation, and we count how much of its evidence is in the top k.

    .venv/bin/python benchmarks/locomo_retrieval.py                  # embedded store
    .venv/bin/python benchmarks/locomo_retrieval.py --store neo4j    # uses NEO4J_* env vars
    .venv/bin/python benchmarks/locomo_retrieval.py --keep /tmp/locomo/locomo.db   # ingest once...
    .venv/bin/python benchmarks/locomo_retrieval.py --reuse /tmp/locomo/locomo.db --split 3
                                                     # ...then search only, conversations 0-2 and 3-4
    .venv/bin/python benchmarks/locomo_retrieval.py --reuse ... --presets hybrid --set adjacent_window=2
    .venv/bin/python benchmarks/locomo_retrieval.py --timestamps --presets hybrid --split 3
                                                     # before/after: turns ingested at their session's date

    .venv/bin/python benchmarks/locomo_retrieval.py --presets hybrid --offline-graph both --split 3
                                                     # ingest twice: offline relations off, then on

``--timestamps`` ingests the conversations twice, first as above (before), then each turn with
``timestamp`` = its session's ``session_N_date_time`` (after; turns of a session a second
apart, in order; questions asked as of the day after the conversation's last session, so that
"last week" means the conversation's), and prints recall@10 per question category for both.

Besides the overall table, recall@10 is printed per LoCoMo question category (1 multi-hop,
2 temporal, 3 open-domain, 4 single-hop). ``--offline-graph off`` stores entities only (no
offline relations: ``ingest.offline_relations = false``); ``on`` (the default) stores them.

Each question is embedded once before any search, so the latency columns (p50/p95 in ms)
exclude the query embedding. Run with OPENBLAS_NUM_THREADS=1 on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from powermem import AsyncMemory
from powermem.config import SearchConfig

KS = (5, 10, 30)
CHUNK = 64
PRESETS = ("vector", "fulltext", "vector+fulltext", "hybrid")
COLUMNS = (*(f"hit@{k}" for k in KS), *(f"recall@{k}" for k in KS))
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def default_data() -> Path:
    shared = os.environ.get("POWERMEM_SHARED_DIR")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "locomo-dev.json"


def store_config(kind: str, path: Path) -> dict[str, Any]:
    if kind == "embedded":
        return {"provider": "embedded", "path": str(path)}
    return {"provider": "neo4j", "uri": os.environ["NEO4J_URI"], "username": os.environ.get("NEO4J_USERNAME", "neo4j"),
            "password": os.environ.get("NEO4J_PASSWORD"), "database": os.environ.get("NEO4J_DATABASE")}


def config(kind: str, path: Path, embedding: str, offline_relations: bool = True,
           extractor: str = "auto") -> dict[str, Any]:
    return {"store": store_config(kind, path), "embedding": {"provider": embedding}, "llm": {"provider": "none"},
            "ingest": {"offline_relations": offline_relations, "offline_extractor": extractor}}


def turns(sample: dict[str, Any]) -> list[tuple[str, str, datetime | None]]:
    """(dia_id, text, when it was said) per turn; the time is None when the session has no date."""
    conversation = sample["conversation"]
    sessions = sorted((k for k in conversation if k.startswith("session_") and k[8:].isdigit()), key=lambda k: int(k[8:]))
    made = []
    for session in sessions:
        date = session_date(conversation.get(f"{session}_date_time"))
        for n, t in enumerate(conversation[session]):
            made.append((t["dia_id"], f"{t['speaker']}: {t['text']}", date + timedelta(seconds=n) if date else None))
    return made


def session_date(text: object) -> datetime | None:
    """LoCoMo's "1:56 pm on 8 May, 2023" (taken as UTC)."""
    try:
        return datetime.strptime(str(text).strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def evidence_of(qa: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for item in qa.get("evidence", []):
        ids.update(part.strip() for part in str(item).replace(",", ";").split(";") if part.strip())
    return ids


def questions(sample: dict[str, Any]) -> list[tuple[str, set[str], int]]:
    asked = []
    for qa in sample["qa"]:
        evidence = evidence_of(qa)
        if qa.get("category") in (1, 2, 3, 4) and evidence:
            asked.append((str(qa["question"]), evidence, int(qa["category"])))
    return asked


async def ingest(memory: AsyncMemory, samples: list[dict[str, Any]], timestamps: bool = False) -> tuple[int, float]:
    await memory.reset()
    started, count = time.perf_counter(), 0
    for sample in samples:
        pending = turns(sample)
        # Adds started together keep their call order (ids are taken before any await).
        for start in range(0, len(pending), CHUNK):
            await asyncio.gather(*(
                memory.add({"role": "user", "content": text}, user_id=sample["sample_id"],
                           metadata={"dia_id": dia_id}, infer=False, timestamp=when if timestamps else None)
                for dia_id, text, when in pending[start : start + CHUNK]
            ))
        count += len(pending)
    return count, time.perf_counter() - started


async def warm_queries(memory: AsyncMemory, samples: list[dict[str, Any]], cache: Path | None) -> None:
    """Embed every question once (the engine's query cache keeps them), optionally via a file."""
    _, _, engine = await memory._ready()
    embedder = engine._embedder
    stored: dict[str, list[float]] = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    import numpy as np

    for sample in samples:
        for question, _, _ in questions(sample):
            if question in stored:
                embedder._cache[question] = np.asarray(stored[question], dtype=np.float32)
            else:
                stored[question] = [float(x) for x in await embedder.embed_query(question)]
    if cache is not None:
        cache.write_text(json.dumps(stored))


def conversation_end(sample: dict[str, Any]) -> str | None:
    """The day after the conversation's last dated turn: when its questions are asked."""
    times = [when for _, _, when in turns(sample) if when is not None]
    return (max(times) + timedelta(days=1)).isoformat() if times else None


async def evaluate(memory: AsyncMemory, samples: list[dict[str, Any]], search: SearchConfig,
                   asked_then: bool = False) -> list[dict[str, Any]]:
    """One row per question: its conversation index, hit/recall at each k, and latency."""
    _, _, engine = await memory._ready()
    engine.config = search
    rows = []
    for index, sample in enumerate(samples):
        as_of = conversation_end(sample) if asked_then else None
        for question, evidence, category in questions(sample):
            started = time.perf_counter()
            found = await memory.search(question, user_id=sample["sample_id"], limit=max(KS),
                                        as_of=as_of)
            elapsed = time.perf_counter() - started
            ranked = [r["metadata"].get("dia_id") for r in found["results"]]
            row: dict[str, Any] = {"conversation": index, "category": category, "ms": elapsed * 1000}
            for k in KS:
                top = set(ranked[:k])
                row[f"hit@{k}"] = float(bool(top & evidence))
                row[f"recall@{k}"] = len(top & evidence) / len(evidence)
            rows.append(row)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    summary = {c: statistics.fmean(r[c] for r in rows) for c in COLUMNS}
    latencies = sorted(r["ms"] for r in rows)
    summary["questions"] = len(rows)
    summary["p50_ms"] = statistics.median(latencies)
    summary["p95_ms"] = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return summary


async def compare_timestamps(memory: AsyncMemory, samples: list[dict[str, Any]], presets: list[str],
                             overrides: dict[str, Any], split: int | None) -> None:
    """recall@10 per category (and per held-out split), turns ingested without, then with, their dates."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for label, timestamps in (("before", False), ("after", True)):
        count, seconds = await ingest(memory, samples, timestamps)
        print(f"{label}: ingested {count} turns in {seconds:.1f}s (timestamps={timestamps})", flush=True)
        runs[label] = {p: await evaluate(memory, samples, SearchConfig(preset=p, **overrides), timestamps)
                       for p in presets}
    groups: list[tuple[str, Any]] = [(f"category {c}", lambda r, c=c: r["category"] == c) for c in (1, 2, 3, 4)]
    groups.append(("all", lambda r: True))
    if split:
        groups += [(f"conv 0-{split - 1}", lambda r: r["conversation"] < split),
                   (f"conv {split}-{len(samples) - 1}", lambda r: r["conversation"] >= split)]
    print("\nrecall@10      " + " | ".join(f"{p + ' before':>22} | {p + ' after':>22}" for p in presets))
    for name, keep in groups:
        cells = []
        for preset in presets:
            for label in ("before", "after"):
                rows = [r for r in runs[label][preset] if keep(r)]
                cells.append(f"{statistics.fmean(r['recall@10'] for r in rows):>22.3f}" if rows else f"{'-':>22}")
        count = len([r for r in runs["before"][presets[0]] if keep(r)])
        print(f"{name:<11} n={count:<4}" + " | ".join(cells), flush=True)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        overrides[key.strip()] = json.loads(value) if value not in ("", None) else None
    return overrides


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--embedding", default="local", choices=["local", "hashing"])
    parser.add_argument("--conversations", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="embedded: ingest into this file (kept for --reuse)")
    parser.add_argument("--reuse", type=Path, help="embedded: search this already-ingested file, skip ingest")
    parser.add_argument("--skip-ingest", action="store_true", help="neo4j: search what the database holds")
    parser.add_argument("--split", type=int, help="also report conversations [0, N) and [N, end) separately")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="override a SearchConfig field for every preset, e.g. --set adjacent_window=2")
    parser.add_argument("--query-cache", type=Path, help="JSON file of question embeddings, read and extended")
    parser.add_argument("--per-question", type=Path, help="write per-question rows (JSON) for analysis")
    parser.add_argument("--timestamps", action="store_true",
                        help="before/after: ingest without, then with, each turn's session date; recall@10 per category")
    parser.add_argument("--offline-graph", choices=["on", "off", "both"], default="on",
                        help="store offline relations (on), entities only (off), or run both, off first")
    parser.add_argument("--extractor", choices=["auto", "heuristic", "spacy"], default="auto",
                        help="ingest.offline_extractor: spaCy where its model loads (auto), never, or required")
    args = parser.parse_args()
    for offline in {"on": [True], "off": [False], "both": [False, True]}[args.offline_graph]:
        await run(args, offline)


async def run(args: argparse.Namespace, offline: bool) -> None:
    samples = json.loads(args.data.read_text())[: args.conversations]
    path = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="locomo-")) / "locomo.db"
    async with AsyncMemory(config(args.store, path, args.embedding, offline, args.extractor)) as memory:
        if args.timestamps:
            await warm_queries(memory, samples, args.query_cache)
            await compare_timestamps(memory, samples, args.presets.split(","), parse_overrides(args.set), args.split)
            return
        graph = f"offline_graph={'on' if offline else 'off'} extractor={args.extractor}"
        if args.reuse is None and not args.skip_ingest:
            count, seconds = await ingest(memory, samples)
            print(f"\nstore={args.store} embedding={args.embedding} {graph} memories={count} ingest={seconds:.1f}s "
                  f"({count / seconds:.0f}/s) path={path}")
        else:
            print(f"\nstore={args.store} embedding={args.embedding} {graph} reusing {path}")
        await warm_queries(memory, samples, args.query_cache)
        overrides = parse_overrides(args.set)
        if overrides:
            print(f"overrides: {overrides}")
        groups = [("all", range(len(samples)))]
        if args.split:
            groups += [(f"conv 0-{args.split - 1}", range(args.split)),
                       (f"conv {args.split}-{len(samples) - 1}", range(args.split, len(samples)))]
        header = ["preset", "questions", *COLUMNS, "p50_ms", "p95_ms"]
        dump: dict[str, Any] = {}
        for name, members in groups:
            print(f"\n{name}")
            print(" | ".join(f"{h:>15}" for h in header), flush=True)
            for preset in args.presets.split(","):
                if name == "all":
                    dump[preset] = await evaluate(memory, samples, SearchConfig(preset=preset, **overrides))
                row = summarise([r for r in dump[preset] if r["conversation"] in members])
                cells = [preset, str(row["questions"]), *(f"{row[c]:.3f}" for c in COLUMNS),
                         f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}"]
                print(" | ".join(f"{c:>15}" for c in cells), flush=True)
        print_categories(dump, groups)
        if args.per_question:
            args.per_question.write_text(json.dumps(dump))


def print_categories(dump: dict[str, list[dict[str, Any]]], groups: list[tuple[str, range]]) -> None:
    """recall@10 per question category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop)."""
    print("\nrecall@10 by category: " + ", ".join(f"{c} {name}" for c, name in CATEGORIES.items()))
    print(" | ".join(f"{h:>15}" for h in ["group", "preset", *(f"cat {c} (n)" for c in CATEGORIES)]))
    for name, members in groups:
        for preset, rows in dump.items():
            cells = [name, preset]
            for category in CATEGORIES:
                chosen = [r["recall@10"] for r in rows if r["category"] == category and r["conversation"] in members]
                cells.append(f"{statistics.fmean(chosen):.3f} ({len(chosen)})" if chosen else "-")
            print(" | ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
