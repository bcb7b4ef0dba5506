"""``powermem reembed``: move a store, either kind, to another embedder in place.

``reembed(config)`` takes the configuration of the NEW embedder and the store to move. It
records in the store that a re-embed to that embedder is in progress, embeds every memory's
text and every entity's name again in batches, each written beside the old vector in one
transaction, and at the end switches the store to the new vectors and dimension. Meanwhile:

- processes opened with the old embedder keep searching on the old vectors; a process opened
  with the new one gets a ConfigError saying a re-embed is in progress;
- writes (add, update, delete, import) are refused with a StoreError naming the re-embed:
  a write would need both embedders' vectors. ``delete_all`` and ``reset`` still work;
- a killed run resumes where it stopped: running it again skips the rows already done;
- ``abort=True`` gives a re-embed up (the old vectors were never touched) and writes resume.

The embedded store switches in one SQLite transaction. Neo4j switches in steps (drop the old
vector indexes, move the vectors in batches, create and await the new indexes); see
docs/operations.md, "Changing the embedder", for that window. The stores' own parts are in
``powermem.stores.embedded.reembed`` and ``powermem.stores.neo4j.reembed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, cast

from powermem.config import MemoryConfig
from powermem.embeddings import Embedder, create_embedder
from powermem.errors import ConfigError, EmbeddingError, InvalidInputError, StoreError
from powermem.filters import INT64
from powermem.stores import create_store
from powermem.stores.base import Vector
from powermem.stores.reembedding import ReembedState, describe

__all__ = ["ReembedProgress", "ReembedReport", "reembed"]

Kind = Literal["memories", "entities"]
KINDS: tuple[Kind, ...] = ("memories", "entities")
_VERIFY_PASSES = 3  # a pass finds rows changed or added while the one before ran; then none


@dataclass(frozen=True)
class ReembedProgress:
    """Reported after each committed batch: ``done`` of ``total`` rows of ``kind`` have their
    new vector (rows done by an earlier, interrupted run included); then once with kind
    ``"switch"`` when the store has switched."""

    kind: str
    done: int
    total: int


@dataclass
class ReembedReport:
    store: str
    dims_from: int | None
    dims_to: int
    target: dict[str, Any]
    memories: int = 0  # rows embedded by this run
    entities: int = 0
    resumed: bool = False  # a re-embed to this target was already in progress
    switched: bool = False
    aborted: bool = False
    seconds: float = 0.0
    batches: int = field(default=0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Reembeddable(Protocol):
    """The parts of EmbeddedStore and Neo4jStore a re-embed drives."""

    async def reembed_open(self) -> ReembedState: ...
    async def reembed_begin(self, target: dict[str, Any]) -> None: ...
    async def reembed_pending(self, kind: str, after: int, limit: int) -> list[tuple[int, str]]: ...
    async def reembed_write(self, kind: str, rows: Sequence[tuple[int, str, Vector]]) -> None: ...
    async def reembed_remaining(self, kind: str) -> tuple[int, int]: ...
    async def reembed_switch(self, dims: int, batch: int) -> None: ...
    async def reembed_abort(self, batch: int) -> None: ...
    async def initialize(self, dims: int) -> None: ...
    async def close(self) -> None: ...


Progress = Callable[[ReembedProgress], None]


async def reembed(config: MemoryConfig | dict[str, Any] | None = None, *, batch_size: int = 256,
                  on_progress: Progress | None = None, abort: bool = False) -> ReembedReport:
    """Move the configured store to the configured embedder; see the module docstring."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 10_000:
        raise InvalidInputError(f"batch_size must be an integer between 1 and 10,000, got {batch_size!r}")
    cfg = MemoryConfig.from_any(config)
    embedder = create_embedder(cfg.embedding)
    store = cast(_Reembeddable, create_store(cfg.store))
    try:
        target = {"provider": cfg.embedding.provider, "model": cfg.embedding.model, "dims": embedder.dims}
        state = await store.reembed_open()
        report = ReembedReport(cfg.store.provider, state.dims, embedder.dims, target, resumed=state.target == target)
        started = time.monotonic()
        if abort:
            await _abort(store, state, report, batch_size)
        else:
            await _run(store, embedder, state, report, batch_size, on_progress)
        report.seconds = time.monotonic() - started
        return report
    finally:
        await store.close()
        await embedder.aclose()


async def _abort(store: _Reembeddable, state: ReembedState, report: ReembedReport, batch: int) -> None:
    if state.target is None:
        raise InvalidInputError("no re-embed is in progress in this store: there is nothing to abort")
    await store.reembed_abort(batch)
    report.aborted = True


async def _run(store: _Reembeddable, embedder: Embedder, state: ReembedState, report: ReembedReport, batch: int,
               on_progress: Progress | None) -> None:
    target = report.target
    if state.target is not None and state.target != target:
        raise ConfigError(
            f"this store is being re-embedded to {describe(state.target)}, not to {describe(target)}: finish that "
            "with its embedder, or give it up with `powermem reembed --abort`"
        )
    if state.dims is None:  # a new store: nothing to move, it simply starts with this embedder
        await store.initialize(embedder.dims)
        report.switched = True
        return
    if not state.switching:
        await store.reembed_begin(target)
        for kind in KINDS:
            await _embed_kind(store, embedder, kind, report, batch, on_progress)
        for kind in KINDS:
            if (await store.reembed_remaining(kind))[1]:
                raise StoreError(f"re-embed: {kind} were still changing after {_VERIFY_PASSES} passes; run it again")
    await store.reembed_switch(embedder.dims, max(batch, 1000))
    report.switched = True
    if on_progress is not None:
        on_progress(ReembedProgress("switch", 1, 1))


async def _embed_kind(store: _Reembeddable, embedder: Embedder, kind: Kind, report: ReembedReport, batch: int,
                      on_progress: Progress | None) -> None:
    total, left = await store.reembed_remaining(kind)
    done = total - left
    if on_progress is not None:
        on_progress(ReembedProgress(kind, done, total))
    for _ in range(_VERIFY_PASSES):
        after, found = INT64[0], 0
        while rows := await store.reembed_pending(kind, after, batch):
            vectors = await embedder.embed([text for _, text in rows])
            if len(vectors) != len(rows) or (len(rows) and vectors.shape[1] != embedder.dims):
                raise EmbeddingError(f"the embedder returned {vectors.shape} vectors for {len(rows)} texts")
            await store.reembed_write(kind, [(i, text, vectors[n]) for n, (i, text) in enumerate(rows)])
            after, found = rows[-1][0], found + len(rows)
            done = min(total, done + len(rows))
            report.batches += 1
            setattr(report, kind, getattr(report, kind) + len(rows))
            if on_progress is not None:
                on_progress(ReembedProgress(kind, done, total))
        if not found:
            return
