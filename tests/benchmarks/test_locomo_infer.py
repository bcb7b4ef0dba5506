"""benchmarks/locomo_infer.py on a few turns: its responder, ingest and counts still fit the
pipeline and locomo_retrieval's helpers (a change of their tuples once broke it unnoticed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.locomo_infer import AnnotationLLM, annotated_share, infer_config, infer_ingest, kept, observations
from powermem import AsyncMemory
from tests.conftest import shared_data_dir
from tests.support.openai_server import ScriptedOpenAIServer

TURNS = 12


def first_turns(sample: dict[str, Any]) -> dict[str, Any]:
    conversation = {k: v for k, v in sample["conversation"].items() if not k.startswith("session_")}
    conversation["session_1"] = sample["conversation"]["session_1"][:TURNS]
    conversation["session_1_date_time"] = sample["conversation"]["session_1_date_time"]
    return {**sample, "conversation": conversation}


async def test_a_few_turns_through_the_infer_benchmark(tmp_path: Path) -> None:
    data = shared_data_dir() / "locomo-dev.json"
    if not data.exists():
        pytest.skip(f"{data} is not here (set POWERMEM_SHARED_DIR)")
    full = json.loads(data.read_text(encoding="utf-8"))[0]
    sample = first_turns(full)
    annotated = {d for d in observations(sample) if d.startswith("D1:") and int(d.split(":")[1]) <= TURNS}
    llm = AnnotationLLM([sample])
    with ScriptedOpenAIServer(responder=llm) as server:
        async with AsyncMemory(infer_config(tmp_path / "infer.db", "hashing", server)) as memory:
            adds, _, events = await infer_ingest(memory, [sample])
            stored, _ = await kept(memory, [sample])
    assert adds == TURNS and llm.calls["extract"] == TURNS and not llm.unmatched
    assert annotated and stored == events["ADD"] > 0  # every annotated turn gave fact memories
    assert 0.0 < annotated_share([full]) <= 1.0
