"""HashingEmbedder, and OpenAIEmbedder over real HTTP against the scripted server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from powermem.config import EmbeddingConfig
from powermem.embeddings.base import Embedder
from powermem.embeddings.hashing import HashingEmbedder
from powermem.embeddings.openai import OpenAIEmbedder
from powermem.errors import ConfigError, EmbeddingError
from powermem.llm.retry import retry_policy
from tests.support.openai_server import ScriptedOpenAIServer

# -- HashingEmbedder ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_hashing_shape_norm_and_empty_text() -> None:
    embedder = HashingEmbedder(dims=128)
    assert isinstance(embedder, Embedder) and embedder.dims == 128
    vectors = await embedder.embed(["Alice works at Acme", "", "!!!"])
    assert vectors.shape == (3, 128) and vectors.dtype == np.float32
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0)
    assert not vectors[1].any() and not vectors[2].any()
    assert (await embedder.embed([])).shape == (0, 128)


def test_hashing_is_deterministic_across_instances_and_processes() -> None:
    text = "Bob moved to Berlin in 2024"
    here = HashingEmbedder(64).embed_sync([text])[0]
    assert np.array_equal(here, HashingEmbedder(64).embed_sync([text])[0])
    code = (
        "import json; from powermem.embeddings.hashing import HashingEmbedder;"
        f"print(json.dumps(HashingEmbedder(64).embed_sync([{text!r}])[0].tolist()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert np.allclose(np.asarray(json.loads(out.stdout), dtype=np.float32), here)


def test_hashing_similar_texts_are_closer() -> None:
    embedder = HashingEmbedder()
    base, near, typo, far = embedder.embed_sync(
        ["Alice likes spicy pizza", "Alice loves spicy pizza", "Alice likes spicey piza", "The stock market fell today"]
    )
    assert base @ near > 0.5
    assert base @ typo > base @ far + 0.3
    assert base @ far < 0.3
    assert embedder.embed_sync(["ALICE, likes pizza!"])[0] @ embedder.embed_sync(["alice likes pizza"])[0] > 0.99


def summed_feature_by_feature(embedder: HashingEmbedder, text: str) -> np.ndarray:
    summed = np.zeros(embedder.dims)
    for word in re.findall(r"\w+", text.lower()):
        for bucket, weight in zip(*embedder._word_features(word), strict=True):
            summed[bucket] += weight
    norm = np.linalg.norm(summed.astype(np.float32))
    return (summed.astype(np.float32) / (norm or 1.0)).astype(np.float32)


def test_hashing_sums_each_feature_in_order_whatever_the_batch() -> None:
    """The batched gathers give the floats of summing feature by feature, text by text."""
    embedder = HashingEmbedder(48)
    texts = ["Bob moved to Berlin", "", "bob BOB bob, moved!", "Ünïcode straße 東京 x_y", "Berlin to moved Bob", "?"]
    batched = embedder.embed_sync(texts)  # new words and known ones in one batch
    again = embedder.embed_sync(texts[::-1])[::-1]  # every word known now, other order
    for row, other, text in zip(batched, again, texts, strict=True):
        assert np.array_equal(row, summed_feature_by_feature(embedder, text)) and np.array_equal(other, row), text


def test_hashing_a_batch_of_several_blocks_sums_each_text_alone() -> None:
    """A long batch is summed a block of texts at a time: texts on both sides of a block's edge,
    blank ones there included, get their own words and no neighbour's."""
    embedder = HashingEmbedder(48)
    words = ["alice", "porto", "moved", "to", "berlin", "café", "東京", "x_y"]
    texts = [" ".join(words[(i + j) % len(words)] for j in range(i % 7)) for i in range(200)]
    texts[63] = texts[64] = texts[127] = ""
    batched = embedder.embed_sync(texts)
    assert batched.shape == (200, 48)
    for row, text in zip(batched, texts, strict=True):
        assert np.array_equal(row, embedder.embed_sync([text])[0]), text
        # The norm of a row may round its last bit otherwise than the norm of one vector.
        assert np.allclose(row, summed_feature_by_feature(embedder, text), rtol=0, atol=1e-6), text


def test_hashing_is_fast() -> None:
    texts = [f"user {i} mentioned project number {i % 97} and the city of Paris" for i in range(10_000)]
    embedder = HashingEmbedder(256)
    started = time.process_time()  # CPU time: other processes on a loaded machine do not count
    vectors = embedder.embed_sync(texts)
    assert vectors.shape == (10_000, 256)
    assert time.process_time() - started < 2.0  # well under a second on one core; slack for CI


# -- OpenAIEmbedder ----------------------------------------------------------------------------


def make_embedder(
    server: ScriptedOpenAIServer,
    *,
    dims: int | None = 32,
    model: str | None = None,
    batch_size: int = 64,
    attempts: int = 3,
) -> OpenAIEmbedder:
    config = EmbeddingConfig(
        provider="openai",
        model=model,
        dims=dims,
        api_key="emb-key",
        base_url=server.base_url,
        timeout=3.0,  # generous: a loaded CI machine must not turn a slow answer into a retry
        batch_size=batch_size,
    )
    policy = retry_policy(attempts, 10.0, EmbeddingError, initial_wait=0.01, max_wait=0.05)
    return OpenAIEmbedder(config, retry=policy)


@pytest.mark.asyncio
async def test_openai_embedder_matches_the_server_vectors(openai_server: ScriptedOpenAIServer) -> None:
    embedder = make_embedder(openai_server)
    texts = ["Alice works at Acme", "Bob likes tea"]
    vectors = await embedder.embed(texts)
    await embedder.aclose()
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32
    assert np.allclose(vectors, HashingEmbedder(32).embed_sync(texts), atol=1e-6)
    [request] = openai_server.requests
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == "Bearer emb-key"
    assert request.body == {
        "model": "text-embedding-3-small",
        "input": texts,
        "encoding_format": "float",
        "dimensions": 32,
    }


@pytest.mark.asyncio
async def test_batches_and_blank_texts(openai_server: ScriptedOpenAIServer) -> None:
    embedder = make_embedder(openai_server, batch_size=2)
    texts = ["a b", "", "c d", "e f", "  ", "g h"]
    vectors = await embedder.embed(texts)
    await embedder.aclose()
    assert [r.body["input"] for r in openai_server.requests] == [["a b", "c d"], ["e f", "g h"]]
    assert not vectors[1].any() and not vectors[4].any()
    assert np.allclose(np.linalg.norm(vectors[[0, 2, 3, 5]], axis=1), 1.0)


@pytest.mark.asyncio
async def test_only_text_embedding_3_models_get_a_dimensions_parameter(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.embedding_dims = 48
    embedder = make_embedder(openai_server, model="nomic-embed-text", dims=48)
    assert (await embedder.embed(["x"])).shape == (1, 48)
    await embedder.aclose()
    assert "dimensions" not in openai_server.requests[0].body


@pytest.mark.asyncio
async def test_embedder_retries_transient_faults(openai_server: ScriptedOpenAIServer) -> None:
    embedder = make_embedder(openai_server, attempts=4)
    openai_server.fail(("status", 503), ("drop",), ("status", 429, {"Retry-After": "0.1"}))
    vectors = await embedder.embed(["hello world"])
    await embedder.aclose()
    assert vectors.shape == (1, 32) and len(openai_server.requests) == 4


@pytest.mark.asyncio
async def test_embedder_errors_carry_the_status(openai_server: ScriptedOpenAIServer) -> None:
    embedder = make_embedder(openai_server, attempts=2)
    openai_server.fail(("status", 401, "bad key"))
    with pytest.raises(EmbeddingError) as info:
        await embedder.embed(["x"])
    assert info.value.status == 401 and len(openai_server.requests) == 1

    openai_server.reset()
    openai_server.fail(("status", 500), ("status", 500), ("status", 500))
    with pytest.raises(EmbeddingError) as info:
        await embedder.embed(["x"])
    assert info.value.status == 500 and len(openai_server.requests) == 2
    await embedder.aclose()


@pytest.mark.asyncio
async def test_dimension_mismatch_is_an_embedding_error(openai_server: ScriptedOpenAIServer) -> None:
    embedder = make_embedder(openai_server, model="some-local-model", dims=100)
    with pytest.raises(EmbeddingError, match="EMBEDDING_DIMS"):
        await embedder.embed(["x"])
    await embedder.aclose()


def test_embedder_config_errors() -> None:
    with pytest.raises(ConfigError, match="EMBEDDING_DIMS"):
        OpenAIEmbedder(EmbeddingConfig(provider="openai", model="mystery", api_key="k"))
    with pytest.raises(ConfigError, match="EMBEDDING_API_KEY"):
        OpenAIEmbedder(EmbeddingConfig(provider="openai"))
    assert OpenAIEmbedder(EmbeddingConfig(provider="openai", api_key="k")).dims == 1536
    large = OpenAIEmbedder(
        EmbeddingConfig(provider="openai", model="text-embedding-3-large", base_url="http://127.0.0.1:1/v1")
    )
    assert large.dims == 3072
