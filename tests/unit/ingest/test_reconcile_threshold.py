"""``ingest.reconcile_min_similarity``: None means the embedder's calibrated value; a set value wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from powermem import AsyncMemory
from powermem.config import EmbeddingConfig, IngestConfig
from powermem.embeddings import create_embedder
from powermem.embeddings.base import DEFAULT_RECONCILE_MIN_SIMILARITY, reconcile_min_similarity
from powermem.embeddings.hashing import HashingEmbedder
from powermem.embeddings.local import LocalEmbedder
from powermem.embeddings.openai import OpenAIEmbedder
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.scripted_llm import ScriptedLLM

BERLIN = {"facts": ["alice lives in Berlin"], "entities": [], "relations": []}
PARIS = {"facts": ["alice lives in Paris"], "entities": [], "relations": []}


def test_the_default_is_none_and_each_embedder_has_its_own_value() -> None:
    assert IngestConfig().reconcile_min_similarity is None
    assert LocalEmbedder().reconcile_min_similarity == DEFAULT_RECONCILE_MIN_SIMILARITY == 0.7
    assert [HashingEmbedder(d).reconcile_min_similarity for d in (64, 128, 256, 1024)] == [0.5, 0.49, 0.47, 0.47]
    models = {m: OpenAIEmbedder(EmbeddingConfig(provider="openai", model=m, api_key="k", dims=8))
              for m in ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002", "nomic-embed")}
    assert {m: e.reconcile_min_similarity for m, e in models.items()} == {
        "text-embedding-3-small": 0.65, "text-embedding-3-large": 0.6, "text-embedding-ada-002": 0.9,
        "nomic-embed": DEFAULT_RECONCILE_MIN_SIMILARITY}
    # The batching wrapper every provider comes in passes the value through; an embedder of
    # the application's own that declares none gets MiniLM's.
    assert reconcile_min_similarity(create_embedder(EmbeddingConfig(provider="hashing", dims=64))) == 0.5
    assert reconcile_min_similarity(object()) == DEFAULT_RECONCILE_MIN_SIMILARITY


@pytest.mark.parametrize(("ingest", "second_call"), [({}, True), ({"reconcile_min_similarity": 0.9}, False)])
async def test_the_threshold_decides_the_second_call(tmp_path: Path, openai_server: ScriptedOpenAIServer,
                                                     ingest: dict[str, Any], second_call: bool) -> None:
    # With 64 hashed dimensions the two facts are at cosine ~0.66: above the embedder's 0.5,
    # below an explicit 0.9.
    script = ScriptedLLM({"Berlin": BERLIN, "Paris": PARIS})
    openai_server.respond_with(script)
    config = {"store": {"provider": "embedded", "path": str(tmp_path / "r.db")},
              "embedding": {"provider": "hashing", "dims": 64}, "ingest": ingest,
              "llm": {"provider": "openai", "base_url": openai_server.base_url, "api_key": "k", "timeout": 2.0}}
    async with AsyncMemory(config) as m:
        await m.add("I live in Berlin", user_id="alice")
        moved = await m.add("I moved to Paris", user_id="alice")
    assert script.calls == ["extract", "extract"] + (["reconcile"] if second_call else [])
    assert moved["usage"]["llm_calls"] == (2 if second_call else 1)
