"""Score calibration on LoCoMo: fit the constants of ``powermem.search.calibration``, or report.

Memories as in locomo_retrieval.py (one per turn, ``infer=False``, one user per conversation).
Conversations 0-2 of locomo-dev.json are the dev ones (the fit uses only them), 3-4 are held
out. Each question of categories 1-4 is searched twice (limit 30, the ``hybrid`` preset):

- *answerable*: against its own conversation; its evidence turns are the relevant memories;
- *unrelated*: against another conversation of the same group (0->1, 1->2, 2->0; 3->4, 4->3),
  where no memory is relevant.

Report (the default), with the scores ``search`` returns: (a) the share of unrelated queries
whose top score is below the relevant threshold (goal >= 95%); (b) the share of answerable
questions with an evidence memory at or above it (goal >= 80%), and that share among the
questions whose evidence is in the results at all; then for each of 0.3 / 0.5 / 0.7: how many
unrelated tops and answerable questions reach it, the share of relevant results among the
results scoring at least that (and within 0.1 of it), counting the evidence results and the
top result of each unrelated search as in the fit, and the share of all own-conversation
results that reach it (with the share of LoCoMo evidence turns among those: LoCoMo marks only
the turns an answer needs, so many related turns count as not relevant there). ``--fit`` fits the
logistic model on the dev conversations and prints the constants to paste into
calibration.py. Rows are computed from what ``search`` returns (per-signal ``scores``, the
memory text), so fit and product use the same features.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/score_calibration.py --keep /tmp/cal/locomo.db
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/score_calibration.py --reuse /tmp/cal/locomo.db --fit
    .venv/bin/python benchmarks/score_calibration.py --embedding hashing --fit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from locomo_retrieval import config, default_data, ingest, questions

from powermem import AsyncMemory
from powermem.embeddings.base import ScoreModel
from powermem.search import calibration

LIMIT = 30
THRESHOLDS = (0.3, 0.5, 0.7)
Features = tuple[float, float, float]
DEV, HELD_OUT = (0, 1, 2), (3, 4)


def partner(index: int) -> int:
    group = DEV if index in DEV else HELD_OUT
    return group[(group.index(index) + 1) % len(group)]


async def collect(memory: AsyncMemory, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (question, searched conversation): the results' features, score, evidence flag."""
    rows = []
    for index, sample in enumerate(samples):
        other = samples[partner(index)]["sample_id"]
        for question, evidence, _ in questions(sample):
            for kind, user in (("answerable", sample["sample_id"]), ("unrelated", other)):
                found = await memory.search(question, user_id=user, limit=LIMIT)
                results = [{
                    "memory": r["memory"], "scores": r["scores"], "score": r["score"],
                    "relevant": kind == "answerable" and r["metadata"].get("dia_id") in evidence,
                } for r in found["results"]]
                rows.append({"conversation": index, "kind": kind, "question": question, "results": results})
    return rows


def features(rows: list[dict[str, Any]], groups: Sequence[int]) -> tuple[list[Features], list[Features]]:
    """Fit rows: each evidence result of an answerable search, and the top result of each
    unrelated search (the best a tenant without the answer has to offer)."""
    relevant: list[Features] = []
    unrelated: list[Features] = []
    for row in rows:
        if row["conversation"] not in groups or not row["results"]:
            continue
        query = calibration.QueryEvidence(row["question"])
        values = [query.features(r["memory"], r["scores"].get("vector", 0.0)) for r in row["results"]]
        if row["kind"] == "unrelated":
            unrelated.append(values[0])
        else:
            relevant.extend(v for v, r in zip(values, row["results"], strict=True) if r["relevant"])
    return relevant, unrelated


def logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Weighted logistic regression by Newton steps (a little ridge keeps them finite)."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ beta + offset)))
        gradient = x.T @ (weights * (p - y)) + 1e-3 * beta
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta


def fit(rows: list[dict[str, Any]]) -> ScoreModel:
    """Two stages, both with the two classes weighted equally. First intercept, vector and
    coverage; then the no-name coefficient on top of them. Fitted together, the name feature
    would explain nearly everything (LoCoMo's questions almost all name a speaker), and a query
    that names nothing would score high whatever it matched. A coefficient that comes out
    negative (more similar, lower score) is dropped and the stage refitted."""
    relevant, unrelated = features(rows, DEV)
    data = np.array(relevant + unrelated)
    y = np.array([1.0] * len(relevant) + [0.0] * len(unrelated))
    weights = np.where(y == 1, len(y) / (2 * len(relevant)), len(y) / (2 * len(unrelated)))
    kept = [0, 1]  # vector, coverage
    while True:
        x = np.column_stack([np.ones(len(y)), data[:, kept]])
        beta = logistic(x, y, weights, np.zeros(len(y)))
        if all(b >= 0 for b in beta[1:]):
            break
        kept = [k for k, b in zip(kept, beta[1:], strict=True) if b >= 0]
    coefficients = dict(zip(kept, beta[1:], strict=True))
    no_name = logistic(data[:, 2:3], y, weights, x @ beta)[0]
    print(f"fit on {len(relevant)} evidence results and {len(unrelated)} unrelated top results (dev)")
    return ScoreModel(intercept=round(float(beta[0]), 3), vector=round(float(coefficients.get(0, 0.0)), 3),
                      coverage=round(float(coefficients.get(1, 0.0)), 3), no_name=round(float(no_name), 3))


def share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def report(rows: list[dict[str, Any]], name: str, groups: Sequence[int]) -> None:
    """(a), (b) and the meaning of 0.3 / 0.5 / 0.7 on the conversations ``groups``."""
    mine = [r for r in rows if r["conversation"] in groups]
    unrelated = [r for r in mine if r["kind"] == "unrelated"]
    answerable = [r for r in mine if r["kind"] == "answerable"]
    relevant = calibration.RELEVANT
    tops = [r["results"][0]["score"] if r["results"] else 0.0 for r in unrelated]
    best = [max((x["score"] for x in r["results"] if x["relevant"]), default=None) for r in answerable]
    kept = [b is not None and b >= relevant for b in best]
    print(f"\n{name}: {len(answerable)} questions")
    print(f"  (a) unrelated queries with top score < {relevant}: {share([t < relevant for t in tops]):.3f}"
          f"  (top score p50 {statistics.median(tops):.3f}, p95 {sorted(tops)[int(0.95 * len(tops))]:.3f})")
    print(f"  (b) answerable questions with an evidence memory scoring >= {relevant}: {share(kept):.3f}"
          f"  (of the {sum(b is not None for b in best)} with evidence in the top {LIMIT}: "
          f"{share([b >= relevant for b in best if b is not None]):.3f})")
    own = [x for r in answerable for x in r["results"]]
    print("  threshold | unrelated tops >= t | questions with evidence >= t | evidence share >= t (band t+-0.1)"
          " | own-conversation results >= t (evidence among them)")
    for t in THRESHOLDS:
        pool = [(x["score"], x["relevant"]) for r in answerable for x in r["results"] if x["relevant"]]
        pool += [(r["results"][0]["score"], False) for r in unrelated if r["results"]]
        above = [rel for score, rel in pool if score >= t]
        band = [rel for score, rel in pool if t - 0.1 <= score < t + 0.1]
        print(f"  {t:9} | {share([x >= t for x in tops]):19.3f} | "
              f"{share([b is not None and b >= t for b in best]):28.3f} | "
              f"{share(above):.3f} ({share(band):.3f}, n={len(band)}){'':13} | "
              f"{share([x['score'] >= t for x in own]):.3f} ({share([x['relevant'] for x in own if x['score'] >= t]):.3f})")


async def gather_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    samples = json.loads(args.data.read_text())[: len(DEV) + len(HELD_OUT)]
    path = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="calibration-")) / "locomo.db"
    async with AsyncMemory(config(args.store, path, args.embedding)) as memory:
        if args.reuse is None:
            count, seconds = await ingest(memory, samples)
            print(f"store={args.store} embedding={args.embedding} memories={count} ingest={seconds:.1f}s path={path}")
        return await collect(memory, samples)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--embedding", default="local", choices=["local", "hashing"])
    parser.add_argument("--keep", type=Path, help="embedded: ingest into this file (kept for --reuse)")
    parser.add_argument("--reuse", type=Path, help="embedded: search this already-ingested file, skip ingest")
    parser.add_argument("--rows", type=Path, help="write the collected rows (JSON) here")
    parser.add_argument("--from-rows", type=Path, help="read rows written by --rows instead of searching")
    parser.add_argument("--fit", action="store_true", help="fit the model on the dev rows, print the constants")
    args = parser.parse_args()
    rows = json.loads(args.from_rows.read_text()) if args.from_rows else await gather_rows(args)
    if args.rows:
        args.rows.write_text(json.dumps(rows))
    if args.fit:
        print(fit(rows))
        return
    print(f"embedding={args.embedding} store={args.store} limit={LIMIT}; relevant threshold {calibration.RELEVANT}")
    report(rows, "dev (conversations 0-2)", DEV)
    report(rows, "held out (conversations 3-4)", HELD_OUT)


if __name__ == "__main__":
    asyncio.run(main())
