"""LLM calls and tokens per add(infer=True), and whether concurrent adds overlap LLM waits.

Runs against the scripted OpenAI-compatible server of the test suite (no network, no key):

    .venv/bin/python benchmarks/infer_bench.py

1. A scripted 50-turn conversation (37 new facts, 5 changes, 8 small-talk turns), added
   turn by turn with the local MiniLM embedder: LLM calls and prompt/completion tokens per add (goal: at most 2 for any add, mean <= 1.3).
2. 100 adds with the server answering after a fixed 200 ms: all at once (gathered) vs one
   by one; the pipeline must overlap the waits.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from powermem import AsyncMemory
from tests.support.openai_server import ScriptedOpenAIServer

FACTS = [
    "Maya lives in Lisbon", "Maya works at Northwind Labs as a robotics lead", "Maya is vegetarian",
    "Maya has a greyhound called Pixel", "Maya's sister Ines loves surfing", "Maya plays tennis on Sundays",
    "Maya is learning Portuguese with a tutor named Rui", "Maya's manager is Daniel Okafor",
    "Maya is allergic to peanuts", "Maya drives an electric scooter", "Maya's birthday is on 3 March",
    "Maya reads science fiction novels", "Maya volunteers at an animal shelter", "Maya prefers tea over coffee",
    "Maya studied mechanical engineering in Delft", "Maya's favourite band is Radiohead",
    "Maya plans a trip to Japan in October", "Maya is training for a half marathon",
    "Maya's flat has a balcony with tomato plants", "Maya uses a standing desk at home",
    "Maya's best friend Tomas is a chef", "Maya collects vintage cameras", "Maya hates horror films",
    "Maya's team is launching the Atlas robot arm", "Maya bakes sourdough bread on weekends",
    "Maya speaks German fluently", "Maya's parents live in Munich", "Maya meditates every morning",
    "Maya is saving for a sailing boat", "Maya's laptop is a ThinkPad", "Maya dislikes crowded beaches",
    "Maya goes to a climbing gym twice a week", "Maya's cousin Leo is getting married in May",
    "Maya listens to history podcasts", "Maya grows basil on her windowsill", "Maya is afraid of heights",
    "Maya's favourite dish is mushroom risotto", "Maya sketches buildings in a notebook",
    "Maya takes the train to work", "Maya wants to learn to play the cello",
]
UPDATES = ["Maya moved from Lisbon to Porto", "Maya now works at Globex Robotics", "Maya switched from tea to coffee",
           "Maya finished her half marathon", "Maya's trip to Japan moved to November"]


def conversation() -> list[tuple[str, dict[str, Any]]]:
    """50 turns: 37 new facts, 5 changes of earlier ones, 8 turns of small talk with nothing to keep."""
    facts = FACTS[:37] + UPDATES
    order = facts[:20] + UPDATES[:2] + facts[20:37] + UPDATES[2:]
    turns: list[tuple[str, dict[str, Any]]] = []
    for i, fact in enumerate(order):
        turns.append((f"turn {i}: {fact}", {"facts": [fact], "entities": [{"name": "Maya", "type": "person"}],
                                            "relations": []}))
        if i % 5 == 4 and len(turns) < 50:
            turns.append((f"turn {i}b: thanks, that's all for now", {"facts": [], "entities": [], "relations": []}))
    return turns[:50]


def responder(script: dict[str, dict[str, Any]]) -> Any:
    def answer(body: dict[str, Any]) -> str:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "New facts:" in user:
            facts = [line for line in user.split("\n\n")[0].splitlines()[1:] if line]
            return json.dumps({"decisions": [{"fact": i, "event": "ADD", "target": None, "text": None}
                                             for i in range(len(facts))], "contradicted_relations": []})
        for key, extraction in script.items():
            if key in user:
                return json.dumps(extraction)
        return json.dumps({"facts": [], "entities": [], "relations": []})
    return answer


def config(folder: Path, server: ScriptedOpenAIServer, name: str, embedding: str = "hashing") -> dict[str, Any]:
    return {"store": {"path": str(folder / f"{name}.db")}, "embedding": {"provider": embedding},
            "llm": {"provider": "openai", "base_url": server.base_url, "api_key": "bench", "timeout": 30}}


async def per_add(folder: Path, server: ScriptedOpenAIServer) -> None:
    turns = conversation()
    server.respond_with(responder(dict(turns)))
    async with AsyncMemory(config(folder, server, "calls", "local")) as memory:
        for text, _ in turns:
            await memory.add(text, user_id="maya")
        log = memory._pipeline._infer.usage_log  # type: ignore[union-attr]
    calls = [u.calls for u in log]
    print(f"50-turn conversation: LLM calls per add max {max(calls)}, mean {statistics.fmean(calls):.2f} "
          f"(1 call: {calls.count(1)}, 2 calls: {calls.count(2)}); tokens per add: prompt "
          f"{statistics.fmean(u.prompt_tokens for u in log):.0f}, completion "
          f"{statistics.fmean(u.completion_tokens for u in log):.0f} (mean)")


async def overlap(folder: Path, server: ScriptedOpenAIServer) -> None:
    script = {f"note {i}:": {"facts": [f"fact number {i} about topic {i * 7919 % 1000}"], "entities": [],
                             "relations": []} for i in range(200)}
    server.respond_with(responder(script))
    server.delay = 0.2
    async with AsyncMemory(config(folder, server, "sequential")) as memory:
        started = time.perf_counter()
        for i in range(100):
            await memory.add(f"note {i}: something", user_id="seq")
        sequential = time.perf_counter() - started
    async with AsyncMemory(config(folder, server, "gathered")) as memory:
        started = time.perf_counter()
        await asyncio.gather(*(memory.add(f"note {i}: something", user_id="par") for i in range(100, 200)))
        gathered = time.perf_counter() - started
    print(f"100 adds, server answering after 200 ms: one by one {sequential:.1f} s, gathered {gathered:.1f} s "
          f"({sequential / gathered:.1f}x)")


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="infer-bench-"))
    with ScriptedOpenAIServer() as server:
        await per_add(folder, server)
        server.reset()
        await overlap(folder, server)


if __name__ == "__main__":
    import argparse

    # No options: the parser is there so that --help describes the run instead of starting it.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    asyncio.run(main())
