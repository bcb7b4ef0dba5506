"""The graph without an LLM from a real spaCy model, on both stores: ``make test`` runs this
module in .venv-nlp (see the Makefile); where spaCy or en_core_web_sm is missing it reports
itself skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.stores.base import Scope
from tests.contract.test_offline_graph import demo_question_answered_first, relations_of, triples
from tests.support.spacy_model import installed_pipeline

installed_pipeline()


@pytest.fixture
async def parsed(memory_config: dict[str, Any]) -> AsyncIterator[AsyncMemory]:
    """A fresh store whose offline extractor must be spaCy (it refuses to start without it)."""
    config = {**memory_config, "ingest": {**memory_config.get("ingest", {}), "offline_extractor": "spacy"}}
    async with AsyncMemory(config) as memory:
        await memory.reset()
        yield memory


async def test_the_demo_question_is_answered_first_from_the_parse(parsed: AsyncMemory) -> None:
    await demo_question_answered_first(parsed)


async def test_a_relation_only_the_parse_reads_is_stored_with_its_memory(parsed: AsyncMemory) -> None:
    text = "Daniel Okafor, my manager, lives in Porto."
    added = await parsed.add([{"role": "user", "name": "Maya", "content": text}], user_id="maya", infer=False)
    assert added["usage"]["extract_ms"] > 0
    rows = await relations_of(parsed, Scope(user_id="maya"))
    # The relation patterns read neither from this sentence (the appositive breaks them).
    assert triples(rows) == {("Maya", "HAS_MANAGER", "Daniel Okafor"), ("Daniel Okafor", "LIVES_IN", "Porto")}
    assert {r.origin for r in rows} == {"offline"}
    assert {r.memory_ids for r in rows} == {(added["results"][0]["id"],)}
    await parsed.delete(added["results"][0]["id"], user_id="maya")
    assert await relations_of(parsed, Scope(user_id="maya")) == []
