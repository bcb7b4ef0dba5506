"""The infer path on LoCoMo, without a paid LLM: add(infer=True) turn by turn against a local
scripted OpenAI-compatible server that answers each extraction with LoCoMo's own annotations.

Every turn ("Speaker: text", the turn's dia_id in the add's metadata, one user_id per
conversation, as in locomo_retrieval.py) goes through ``add(infer=True)``. The server's
responder reads the extraction prompt, finds which turn it is being asked about (the
conversation is named by the user label, the turn by its text) and answers with the
``observation`` entries annotated with that turn's dia_id as facts, and the names in them as
entities (no relations: LoCoMo annotates none). Reconciliation is asked whenever the pipeline
finds related memories; the responder answers NONE for a fact already stored word for word
and ADD otherwise. So every fact memory inherits its turn's dia_id (an UPDATE would move it to
the newer turn), and evidence recall@10 of the fact memories is measured exactly as
locomo_retrieval.py measures it for one memory per turn (``infer=False``), on the same
conversations with the same search settings.

This measures everything but the model: whether extracted facts survive reconciliation, are
linked and are found. "Tokens" are the scripted server's counts (blank-separated words of the
prompt and of the answer), not a real tokenizer's.

    .venv/bin/python benchmarks/locomo_infer.py                       # dev conversations 0-2
    .venv/bin/python benchmarks/locomo_infer.py --conversations 5 --embedding hashing

Run with OPENBLAS_NUM_THREADS=1 on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.locomo_retrieval import (
    config,
    default_data,
    evaluate,
    evidence_of,
    ingest,
    questions,
    summarise,
    turns,
)
from powermem import AsyncMemory
from powermem.config import SearchConfig
from powermem.stores.base import Scope
from powermem.text.extract import extract_entities
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import _sections

# Conversations 0-2 of locomo-dev.json are the dev ones; 3-4 are held out (`--split 3`).
DEV_CONVERSATIONS = 3
_LABEL = re.compile(r"^The user's name \(use it for 'I', 'me', 'my'\): (.*)$", re.MULTILINE)


def words(text: Any) -> int:
    """The scripted server's token count (tests/support/openai_server.py)."""
    return len(str(text).split()) if text else 0


def observations(sample: dict[str, Any]) -> dict[str, list[str]]:
    """dia_id -> the annotated facts (``observation`` entries) drawn from that turn."""
    facts: dict[str, list[str]] = defaultdict(list)
    for session in sample["observation"].values():
        for entries in session.values():
            for text, source in entries:
                for dia_id in sorted(evidence_of({"evidence": [source]})):
                    facts[dia_id].append(str(text).strip())
    return facts


class AnnotationLLM:
    """The responder: extraction from the LoCoMo annotations, reconciliation by a fixed rule."""

    def __init__(self, samples: list[dict[str, Any]]) -> None:
        self._facts = {s["sample_id"]: observations(s) for s in samples}
        self._speakers = {s["sample_id"]: {s["conversation"]["speaker_a"], s["conversation"]["speaker_b"]}
                          for s in samples}
        # (conversation, normalised turn text) -> its dia_ids in order: a text said twice is served twice.
        self._pending: dict[tuple[str, str], deque[str]] = defaultdict(deque)
        for sample in samples:
            for dia_id, text, _ in turns(sample):
                self._pending[(sample["sample_id"], _norm(text))].append(dia_id)
        self.calls: Counter[str] = Counter()
        self.completion_tokens: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.unmatched: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        kind = "reconcile" if user.startswith("New facts:") else "extract"
        with self._lock:  # the server answers from one thread per connection
            answer = json.dumps(self.reconcile(user) if kind == "reconcile" else self.extract(user))
            self.calls[kind] += 1
            self.completion_tokens[kind] += words(answer)
        return answer

    def extract(self, prompt: str) -> dict[str, Any]:
        label = _LABEL.search(prompt)
        conversation = label.group(1) if label else ""
        prefix = f"user ({conversation}): "
        # One turn per add: the transcript is that turn (the pipeline strips its blanks).
        turn = prompt.split("\nConversation:\n", 1)[-1].removeprefix(prefix)
        queue = self._pending.get((conversation, _norm(turn)))
        facts: list[str] = []
        if queue:
            facts = self._facts.get(conversation, {}).get(queue.popleft(), [])
        else:
            self.unmatched.append(turn)
        return {"facts": facts, "entities": self._entities(conversation, facts), "relations": []}

    def reconcile(self, prompt: str) -> dict[str, Any]:
        facts, memories, _ = _sections(prompt)
        known = {_norm(text): mid for mid, text in memories}
        decisions = []
        for fact_id, fact in facts:
            event = "NONE" if _norm(fact) in known else "ADD"
            self.events[event] += 1
            decisions.append({"fact": fact_id, "event": event, "target": None, "text": None})
        return {"decisions": decisions, "contradicted_relations": []}

    def _entities(self, conversation: str, facts: list[str]) -> list[dict[str, str]]:
        """The speakers a fact names, then the proper nouns the offline extractor finds in it
        (it leaves out a sentence's first word, which is where observations name the speaker)."""
        speakers = self._speakers.get(conversation, set())
        names: dict[str, str] = {}
        for fact in facts:
            found = set(re.findall(r"\w+", fact))
            names.update((name, "person") for name in sorted(speakers & found))
            names.update((name, "other") for name in extract_entities(fact).strong if name not in names)
        return [{"name": name, "type": kind} for name, kind in names.items()]


def _norm(text: str) -> str:
    """Case and blanks do not make another text (matching turns; identical facts)."""
    return " ".join(text.lower().split())


async def infer_ingest(memory: AsyncMemory, samples: list[dict[str, Any]]) -> tuple[int, float, Counter[str]]:
    """Every turn through add(infer=True): one at a time within a conversation (the responder
    follows its order), the conversations side by side (their users share nothing)."""
    await memory.reset()
    events = Counter[str]()

    async def conversation(sample: dict[str, Any]) -> int:
        for dia_id, text, _ in turns(sample):
            result = await memory.add({"role": "user", "content": text}, user_id=sample["sample_id"],
                                      metadata={"dia_id": dia_id}, infer=True)
            events.update(r.get("event", "ADD") for r in result["results"])
            events["relations"] += len(result["relations"]["added_entities"])
        return len(turns(sample))

    started = time.perf_counter()
    count = sum(await asyncio.gather(*(conversation(s) for s in samples)))
    return count, time.perf_counter() - started, events


async def kept(memory: AsyncMemory, samples: list[dict[str, Any]]) -> tuple[int, int]:
    """Memories stored, and how many of them carry a dia_id that is some question's evidence."""
    total = with_evidence = 0
    for sample in samples:
        evidence = set().union(*(ids for _, ids, _ in questions(sample)))
        offset = 0
        while True:
            page = await memory.get_all(user_id=sample["sample_id"], limit=1000, offset=offset)
            rows = page["results"]
            total += len(rows)
            with_evidence += sum(1 for r in rows if r["metadata"].get("dia_id") in evidence)
            offset += len(rows)
            if not rows or offset >= page["total"]:
                break
    return total, with_evidence


async def entities(memory: AsyncMemory) -> tuple[int, int]:
    """Entities and relations in the graph, all conversations together."""
    store, _, _ = await memory._ready()
    tenants = await store.stats(Scope())
    return sum(t.entities for t in tenants), sum(t.relations for t in tenants)


def annotated_share(samples: list[dict[str, Any]]) -> float:
    """The recall@k no fact memory can exceed: per question, the share of its evidence turns
    that have at least one annotated fact (a turn without one leaves no memory to find)."""
    shares = []
    for sample in samples:
        annotated = set(observations(sample))
        shares += [len(evidence & annotated) / len(evidence) for _, evidence, _ in questions(sample)]
    return statistics.fmean(shares)


def infer_config(path: Path, embedding: str, server: ScriptedOpenAIServer) -> dict[str, Any]:
    settings = config("embedded", path, embedding)
    settings["llm"] = {"provider": "openai", "base_url": server.base_url, "api_key": "bench", "timeout": 60}
    return settings


def report(name: str, rows: list[dict[str, Any]]) -> str:
    row = summarise(rows)
    return (f"{name:>22} | {row['questions']:>9} | {row['hit@10']:.3f} | {row['recall@5']:.3f} | "
            f"{row['recall@10']:.3f} | {row['recall@30']:.3f} | {row['p50_ms']:.1f} / {row['p95_ms']:.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--embedding", default="local", choices=["local", "hashing"])
    parser.add_argument("--conversations", type=int, default=DEV_CONVERSATIONS,
                        help=f"the first N conversations (default {DEV_CONVERSATIONS}: the dev ones)")
    parser.add_argument("--preset", default="hybrid", help="search preset for both runs")
    args = parser.parse_args()
    samples = json.loads(args.data.read_text())[: args.conversations]
    folder = Path(tempfile.mkdtemp(prefix="locomo-infer-"))
    search = SearchConfig(preset=args.preset)
    llm = AnnotationLLM(samples)
    print(f"conversations={[s['sample_id'] for s in samples]} embedding={args.embedding} preset={args.preset} "
          f"annotated facts={sum(len(v) for s in samples for v in observations(s).values())}", flush=True)

    with ScriptedOpenAIServer(responder=llm) as server:
        async with AsyncMemory(infer_config(folder / "infer.db", args.embedding, server)) as memory:
            adds, seconds, events = await infer_ingest(memory, samples)
            usage_log = memory._pipeline._infer.usage_log  # type: ignore[union-attr]
            stored, with_evidence = await kept(memory, samples)
            entity_count, relation_count = await entities(memory)
            infer_rows = await evaluate(memory, samples, search)
        requests = server.chat_requests
    prompt_tokens = Counter[str]()
    for request in requests:
        first_user = next(m for m in request.messages if m.get("role") == "user")
        kind = "reconcile" if str(first_user.get("content")).startswith("New facts:") else "extract"
        prompt_tokens[kind] += sum(words(m.get("content")) for m in request.messages)

    async with AsyncMemory(config("embedded", folder / "raw.db", args.embedding)) as memory:
        raw_count, raw_seconds = await ingest(memory, samples)
        raw_rows = await evaluate(memory, samples, search)

    calls = [u.calls for u in usage_log]
    print(f"\ninfer=True: {adds} adds in {seconds:.1f} s ({adds / seconds:.1f}/s); infer=False: {raw_count} adds "
          f"in {raw_seconds:.1f} s")
    print(f"LLM calls {len(requests)}: extraction {llm.calls['extract']}, reconciliation {llm.calls['reconcile']} "
          f"(per add mean {statistics.fmean(calls):.2f}, max {max(calls)})")
    print(f"tokens (server counts): prompt {sum(prompt_tokens.values())} (extraction {prompt_tokens['extract']}, "
          f"reconciliation {prompt_tokens['reconcile']}), completion {sum(llm.completion_tokens.values())} "
          f"(extraction {llm.completion_tokens['extract']}, reconciliation {llm.completion_tokens['reconcile']}); "
          f"pipeline's own receipts: prompt {sum(u.prompt_tokens for u in usage_log)}, "
          f"completion {sum(u.completion_tokens for u in usage_log)}")
    print(f"reconciliation decisions: {dict(llm.events)}; add results: {dict(events)}")
    print(f"memories kept: {stored} fact memories ({with_evidence} from evidence turns) vs {raw_count} turn memories; "
          f"turns not matched by the responder: {len(llm.unmatched)}")
    print(f"graph: {entity_count} entities, {relation_count} relations; questions' evidence turns with an "
          f"annotated fact (the ceiling of the facts' recall): {annotated_share(samples):.3f}")
    print(f"\n{'run':>22} | questions | hit@10 | recall@5 | recall@10 | recall@30 | search p50 / p95 ms")
    print(report("infer=False (turns)", raw_rows))
    print(report("infer=True (facts)", infer_rows))


if __name__ == "__main__":
    asyncio.run(main())
