"""``powermem demo``: a short conversation stored offline, then searched, printed readably."""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from powermem._memory import AsyncMemory


def load_conversation() -> dict[str, Any]:
    text = resources.files("powermem").joinpath("data/demo_conversation.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


async def run_demo(out: TextIO, path: Path | None = None, embedding: str = "local") -> None:
    """The demo in ``path``, or in a temporary folder removed when it ends (even on failure)."""
    if path is not None:
        await _demo(out, path, embedding)
        return
    with tempfile.TemporaryDirectory(prefix="powermem-demo-") as folder:
        await _demo(out, Path(folder), embedding)


async def _demo(out: TextIO, folder: Path, embedding: str) -> None:
    store_path = folder / "demo.db"
    config = {"store": {"provider": "embedded", "path": str(store_path)},
              "embedding": {"provider": embedding}, "llm": {"provider": "none"}}
    conversation = load_conversation()
    user = conversation["user_id"]
    out.write(f"powermem demo — embedded store at {store_path}\n\n")
    async with AsyncMemory(config) as memory:
        await memory.delete_all(user_id=user)
        for session in conversation["sessions"]:
            added = await memory.add(session["messages"], user_id=user, run_id=session["run_id"], infer=False)
            out.write(f"Stored {len(added['results'])} memories from {session['run_id']}:\n")
            for record in added["results"]:
                out.write(f"  + [{record['metadata']['role']}] {record['memory']}\n")
        out.write("\n")
        for question in conversation["questions"]:
            await _answer(memory, user, question, out)
        stats = await memory.get_all(user_id=user, limit=1)
        out.write(f"{stats['total']} memories in the store. Run it again anytime: it starts clean.\n")


async def _answer(memory: AsyncMemory, user: str, question: str, out: TextIO) -> None:
    found = await memory.search(question, user_id=user, limit=3)
    out.write(f"Q: {question}\n")
    for rank, record in enumerate(found["results"], start=1):
        signals = ", ".join(f"{name} {value:.2f}" for name, value in record["scores"].items())
        out.write(f"  {rank}. {record['score']:.3f}  {record['memory']}\n     ({signals})\n")
    entities = await _linking_entities(memory, user, [r["id"] for r in found["results"]])
    if entities:
        out.write(f"  linked through: {', '.join(entities)}\n")
    out.write("\n")


async def _linking_entities(memory: AsyncMemory, user: str, ids: list[int]) -> list[str]:
    store, _, _ = await memory._ready()
    from powermem.stores.base import Scope

    graph = await store.expand(Scope(user_id=user), [], ids, 0, 100)
    seen: dict[int, int] = {}
    for _, entity_id in graph.mentions:
        seen[entity_id] = seen.get(entity_id, 0) + 1
    shared = [graph.entities[e].name for e, n in sorted(seen.items(), key=lambda kv: -kv[1]) if e in graph.entities]
    return shared[:6]
