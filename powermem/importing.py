"""Bulk import (JSONL and LoCoMo conversation files) and JSONL export.

Import is resumable. Each imported memory carries ``import_key = "<file hash>:<record number>"``
in its metadata and a small progress file records how many records are committed. A run that
stops (Ctrl-C, kill, crash) resumes where the progress file says; the one batch whose commit
the progress file may not have seen is checked against the store by ``import_key``, so
nothing is stored twice. Export drops ``import_key`` by default so that an exported file
imported elsewhere comes back the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TextIO

from powermem import _admin
from powermem._memory import AsyncMemory
from powermem._validate import scope_of
from powermem.config import MemoryConfig, default_embedded_path
from powermem.errors import InvalidInputError, PowermemError
from powermem.limits import MAX_IN_VALUES, MAX_MESSAGES
from powermem.private_files import make_private_dirs
from powermem.redact import redact_url
from powermem.stores.base import Scope

__all__ = [
    "IMPORT_KEY",
    "ExportOptions",
    "ImportOptions",
    "ImportReport",
    "Record",
    "export_jsonl",
    "import_records",
    "read_records",
]

IMPORT_KEY = "import_key"
# Measured on LoCoMo: per-transaction overhead dominates small batches on Neo4j (64: ~160/s,
# 256: ~460/s with the hashing embedder); an LLM reads an --infer batch as one conversation,
# which must stay short.
DEFAULT_BATCH = 256
# Batches planned (embedded) ahead of the one being written: an embedding service's round
# trips, or the local model, overlap the store's writes.
LOOKAHEAD = 2
INFER_BATCH = 16
Format = Literal["auto", "jsonl", "locomo"]
_EXPORT_FIELDS = ("id", "memory", "user_id", "agent_id", "run_id", "metadata", "created_at", "updated_at")


class ImportFileError(PowermemError):
    """The input file cannot be read or does not follow a supported format."""


@dataclass(frozen=True)
class Record:
    number: int  # 1-based: the line of a JSONL file, the turn's position in a LoCoMo file
    text: str
    metadata: dict[str, Any]
    scope: Scope
    role: str | None = None


def _record_scope(override: Scope, user_id: Any, agent_id: Any, run_id: Any) -> Scope:
    """Flags given on the command line (``override``) replace the record's own scope entirely."""
    if not override.empty:
        return override
    return scope_of(user_id, agent_id, run_id, required=False)


# -- reading ------------------------------------------------------------------------------------


def read_records(path: Path, fmt: Format = "auto", scope: Scope | None = None) -> tuple[list[Record], str]:
    """Parse and validate the whole file before anything is written; returns (records, format)."""
    override = scope or Scope()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"cannot read {path}: {exc}") from exc
    if fmt == "auto":
        fmt = "locomo" if _looks_like_locomo(text) else "jsonl"
    records = _locomo_records(path, text, override) if fmt == "locomo" else _jsonl_records(path, text, override)
    for record in records:
        if record.scope.empty:
            raise ImportFileError(f"{path} record {record.number}: no user_id, agent_id or run_id; pass --user")
    return records, fmt


def _looks_like_locomo(text: str) -> bool:
    head = text.lstrip()[:1]
    if head != "[":
        return False
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "conversation" in data[0]


def _jsonl_records(path: Path, text: str, override: Scope) -> list[Record]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"{path} line {number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        try:
            records.append(_jsonl_record(number, item, override))
        except InvalidInputError as exc:
            raise ImportFileError(f"{path} line {number}: {exc}") from None
    if not records:
        raise ImportFileError(f"{path}: no records")
    return records


def _jsonl_record(number: int, item: Any, override: Scope) -> Record:
    if not isinstance(item, dict):
        raise InvalidInputError("expected a JSON object with 'memory' or 'role' and 'content'")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidInputError("'metadata' must be an object")
    scope = _record_scope(override, item.get("user_id"), item.get("agent_id"), item.get("run_id"))
    if "memory" in item:  # the shape `powermem export` writes
        text, role = item["memory"], metadata.get("role")
        metadata = dict(metadata)
    elif "content" in item:  # one chat message: stored as add(message, infer=False) would
        text, role = item["content"], item.get("role", "user")
        metadata = {**metadata, "role": role}
        if item.get("name"):
            metadata["name"] = item["name"]
    else:
        raise InvalidInputError("expected 'memory' (an exported memory) or 'content' (a chat message)")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("the text must be a non-blank string")
    if role is not None and not isinstance(role, str):
        raise InvalidInputError("'role' must be a string")
    return Record(number, text, metadata, scope, role)


def _locomo_records(path: Path, text: str, override: Scope) -> list[Record]:
    try:
        samples = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path} line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(samples, list) or not all(isinstance(s, dict) and "conversation" in s for s in samples):
        raise ImportFileError(f"{path}: a LoCoMo file is a JSON list of samples with a 'conversation'")
    records: list[Record] = []
    for index, sample in enumerate(samples):
        user = str(sample.get("sample_id") or f"conversation-{index + 1}")
        scope = _record_scope(override, user, None, None)
        for turn in _locomo_turns(sample["conversation"]):
            records.append(Record(len(records) + 1, turn[0], turn[1], scope, "user"))
    if not records:
        raise ImportFileError(f"{path}: no conversation turns")
    return records


def _locomo_turns(conversation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    sessions = sorted((k for k in conversation if k.startswith("session_") and k[8:].isdigit()),
                      key=lambda k: int(k[8:]))
    for session in sessions:
        when = conversation.get(f"{session}_date_time")
        for turn in conversation[session]:
            if not str(turn.get("text", "")).strip():
                continue
            metadata: dict[str, Any] = {"dia_id": turn["dia_id"], "speaker": turn["speaker"], "session": session}
            if when:
                metadata["session_date_time"] = when
            # "role" as add(message, infer=False) records it, so search results look the same.
            metadata["role"] = "user"
            yield f"{turn['speaker']}: {turn['text']}", metadata


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- progress file ------------------------------------------------------------------------------


@dataclass
class Progress:
    path: Path
    committed: int = 0  # records [0, committed) of the file are in the store
    imported: int = 0
    finished: bool = False
    key_prefix: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, meta: dict[str, Any]) -> Progress:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return cls(path, meta=meta)
        return cls(path, int(data.get("committed", 0)), int(data.get("imported", 0)),
                   bool(data.get("finished", False)), str(data.get("key_prefix", "")), meta)

    def save(self) -> None:
        data = {**self.meta, "committed": self.committed, "imported": self.imported,
                "finished": self.finished, "key_prefix": self.key_prefix, "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        make_private_dirs(self.path.parent)  # e.g. ~/.powermem/imports, where the store may live too
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a kill never leaves a half-written progress file


def store_target(config: MemoryConfig) -> str:
    store = config.store
    if store.provider == "embedded":
        return f"embedded:{Path(store.path).expanduser().resolve() if store.path else default_embedded_path()}"
    return f"neo4j:{redact_url(store.uri)}/{store.database or ''}"


def default_progress_dir(config: MemoryConfig) -> Path:
    """Next to the embedded store file (it goes when the store goes); ~/.powermem/imports for Neo4j."""
    store = config.store
    if store.provider == "embedded":
        db = Path(store.path).expanduser() if store.path else default_embedded_path()
        return db.parent / f"{db.name}.imports"
    return Path.home() / ".powermem" / "imports"


# -- import -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    fmt: Format = "auto"
    scope: Scope = field(default_factory=Scope)
    batch_size: int | None = None  # None: DEFAULT_BATCH, or INFER_BATCH with infer
    infer: bool = False
    fresh: bool = False  # ignore earlier progress: import everything again
    progress_file: Path | None = None


@dataclass
class ImportReport:
    source: str
    format: str
    total: int
    imported: int = 0  # records stored by this run
    skipped: int = 0  # records this run found already stored (after an interruption)
    earlier: int = 0  # records stored by earlier, interrupted runs of this import
    memories: int = 0  # memories created by this run (differs from imported with --infer)
    llm_calls: int = 0  # what this run's adds cost (with --infer), summed from their receipts
    prompt_tokens: int = 0
    completion_tokens: int = 0
    resumed_from: int = 0
    already_done: bool = False
    seconds: float = 0.0
    progress_file: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


ProgressCallback = Callable[[int, int], None]  # (records done, total)


@dataclass
class _Run:
    memory: AsyncMemory
    records: list[Record]
    keys: list[str]
    options: ImportOptions
    progress: Progress
    report: ImportReport
    on_progress: ProgressCallback | None
    verify_all: bool = False


async def import_records(memory: AsyncMemory, path: Path, options: ImportOptions,
                         on_progress: ProgressCallback | None = None) -> ImportReport:
    """Import ``path`` into ``memory``; resumes an interrupted import of the same file."""
    if options.batch_size is None:
        options = replace(options, batch_size=INFER_BATCH if options.infer else DEFAULT_BATCH)
    # A batch is one add() with --infer, else one transaction checked back by an in filter.
    most = MAX_MESSAGES if options.infer else MAX_IN_VALUES
    if options.batch_size is None or not 1 <= options.batch_size <= most:
        raise InvalidInputError(f"batch size must be within 1..{most:,}{' with --infer' if options.infer else ''}")
    records, fmt = read_records(path, options.fmt, options.scope)
    digest = file_digest(path)
    run = _prepare(memory, path, digest, fmt, records, options, on_progress)
    await _check_resume_point(run)
    if run.progress.finished:
        run.report.already_done = True
        return run.report
    started = time.perf_counter()
    run.report.resumed_from = run.progress.committed
    if on_progress is not None:
        on_progress(run.progress.committed, len(records))
    await _import_from(run)
    run.progress.finished = True
    run.progress.save()
    run.report.seconds = time.perf_counter() - started
    return run.report


def _prepare(memory: AsyncMemory, path: Path, digest: str, fmt: str, records: list[Record],
             options: ImportOptions, on_progress: ProgressCallback | None) -> _Run:
    target = store_target(memory.config)
    scope = options.scope
    identity = json.dumps([digest, target, fmt, options.infer, scope.user_id, scope.agent_id, scope.run_id])
    name = hashlib.sha256(identity.encode()).hexdigest()[:24] + ".json"
    progress_path = options.progress_file or default_progress_dir(memory.config) / name
    meta = {"source": str(path.resolve()), "sha256": digest, "format": fmt, "target": target,
            "infer": options.infer, "total": len(records)}
    progress = Progress(progress_path, meta=meta) if options.fresh else Progress.load(progress_path, meta)
    # A --fresh run gets keys of its own, so that its records are never mistaken for an older
    # run's; the prefix is kept in the progress file for when that run is resumed in turn.
    prefix = progress.key_prefix or (f"{digest[:10]}.{int(time.time()):x}" if options.fresh else digest[:16])
    progress.key_prefix = prefix
    keys = [f"{prefix}:{r.number}" for r in records]
    report = ImportReport(str(path), fmt, len(records), progress_file=str(progress_path),
                          earlier=progress.imported)
    return _Run(memory, records, keys, options, progress, report, on_progress)


async def _check_resume_point(run: _Run) -> None:
    """Trust the progress file only if the store still holds the last record it says is there."""
    done = run.progress.committed
    if done == 0 or run.options.infer:
        return
    last = run.records[done - 1]
    if not await _existing_keys(run.memory, last.scope, [run.keys[done - 1]]):
        # The store was reset or replaced since: check every record instead of trusting the count.
        run.progress.committed = run.progress.imported = 0
        run.progress.finished = False
        run.report.earlier = 0
        run.verify_all = True


async def _import_from(run: _Run) -> None:
    """Batches are planned (embedded) up to LOOKAHEAD ahead of the one being written, and
    written one at a time in file order: each is recorded in the progress file before the
    next one's write starts, so at most one written batch is ever unrecorded (the one the
    resume check looks for)."""
    planned: deque[tuple[asyncio.Future[_Planned], int]] = deque()
    writing: asyncio.Future[None] | None = None
    try:
        async with aclosing(_pending_batches(run)) as batches:
            async for items, done in batches:
                planned.append((asyncio.ensure_future(_plan(run, items)), done))
                if len(planned) >= LOOKAHEAD:
                    writing = await _write_next(run, planned, writing)
        while planned:
            writing = await _write_next(run, planned, writing)
        if writing is not None:
            await writing
    except BaseException:
        await _wind_down(planned, writing)
        raise


async def _pending_batches(run: _Run) -> AsyncGenerator[tuple[list[tuple[Record, str]], int], None]:
    """(records not yet stored, records done once they are) for each batch, in file order."""
    # Right after a resume, the next batch may already be stored: its commit can land just
    # before a kill that keeps the progress file from hearing of it. Check until one is new.
    checking = not run.options.infer
    for index, batch in _batches(run.records, run.progress.committed, run.options.batch_size or DEFAULT_BATCH):
        keys = run.keys[index:index + len(batch)]
        items = list(zip(batch, keys, strict=True))
        if run.verify_all or checking:
            present = await _existing_keys(run.memory, batch[0].scope, keys)
            items = [(r, k) for r, k in items if k not in present]
            run.report.skipped += len(batch) - len(items)
            checking = bool(present)
        yield items, index + len(batch)


async def _write_next(run: _Run, planned: deque[tuple[asyncio.Future[_Planned], int]],
                      writing: asyncio.Future[None] | None) -> asyncio.Future[None]:
    """Starts the oldest planned batch's write once the one before it is written and recorded."""
    plan, done = planned[0]
    ready = await plan
    planned.popleft()
    if writing is not None:
        await writing
    return asyncio.ensure_future(_write(run, ready, done))


async def _wind_down(planned: deque[tuple[asyncio.Future[_Planned], int]], writing: asyncio.Future[None] | None) -> None:
    """After a failure: plans not written are dropped; a write under way finishes and is recorded."""
    for plan, _ in planned:
        plan.cancel()
    await asyncio.gather(*(plan for plan, _ in planned), return_exceptions=True)
    if writing is not None:
        await asyncio.gather(writing, return_exceptions=True)


async def _write(run: _Run, ready: _Planned, done: int) -> None:
    if ready.write is not None:
        run.report.memories += await ready.write()
        run.report.imported += ready.count
    _commit(run, done)


def _commit(run: _Run, done: int) -> None:
    run.progress.committed = done
    run.progress.imported = run.report.earlier + run.report.imported
    run.progress.save()
    if run.on_progress is not None:
        run.on_progress(done, len(run.records))


def _batches(records: Sequence[Record], start: int, size: int) -> Iterator[tuple[int, list[Record]]]:
    """(index of the first, batch): consecutive records of one scope, one transaction each."""
    batch: list[Record] = []
    for index in range(start, len(records)):
        record = records[index]
        if batch and (len(batch) >= size or record.scope != batch[0].scope):
            yield index - len(batch), batch
            batch = []
        batch.append(record)
    if batch:
        yield len(records) - len(batch), batch


async def _existing_keys(memory: AsyncMemory, scope: Scope, keys: list[str]) -> set[str]:
    found = await memory.get_all(user_id=scope.user_id, agent_id=scope.agent_id, run_id=scope.run_id,
                                 filters={IMPORT_KEY: {"in": keys}}, limit=max(1, len(keys)))
    return {str(r["metadata"].get(IMPORT_KEY)) for r in found["results"]}


@dataclass
class _Planned:
    """A batch ready to write: ``write()`` stores it and returns the memories it created."""

    count: int  # records it stores
    write: Callable[[], Awaitable[int]] | None  # None: every record was already stored


async def _plan(run: _Run, items: list[tuple[Record, str]]) -> _Planned:
    if not items:
        return _Planned(0, None)
    if run.options.infer:
        # The LLM pipeline plans and writes inside add(): nothing to do ahead of the write.
        return _Planned(len(items), lambda: _add_inferred(run, items))
    texts = [(r.text, {**r.metadata, IMPORT_KEY: key}) for r, key in items]
    planned = await _admin.plan_texts(run.memory, items[0][0].scope, texts, items[0][0].role)

    async def write() -> int:
        return len(await planned.write())

    return _Planned(len(items), write)


async def _add_inferred(run: _Run, items: list[tuple[Record, str]]) -> int:
    scope = items[0][0].scope
    # The LLM distils facts from the batch as one conversation; per-turn metadata cannot
    # follow a fact, so the batch's key is shared by what it produces.
    messages = [{"role": r.role if r.role in ("user", "assistant") else "user", "content": r.text}
                for r, _ in items]
    key = f"{items[0][1]}-{items[-1][0].number}"
    added = await run.memory.add(messages, user_id=scope.user_id, agent_id=scope.agent_id,
                                 run_id=scope.run_id, metadata={IMPORT_KEY: key}, infer=True)
    usage = added["usage"]
    run.report.llm_calls += usage["llm_calls"]
    run.report.prompt_tokens += usage["prompt_tokens"]
    run.report.completion_tokens += usage["completion_tokens"]
    return sum(1 for r in added["results"] if r.get("event") == "ADD")


# -- export -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    scope: Scope = field(default_factory=Scope)
    filters: dict[str, Any] | None = None
    keep_import_keys: bool = False
    page_size: int = 500


async def export_jsonl(memory: AsyncMemory, out: TextIO, options: ExportOptions) -> int:
    """Write every memory in scope, oldest first, one JSON object a line; returns the count."""
    count, offset = 0, 0
    scope = options.scope
    while True:
        page = await memory.get_all(user_id=scope.user_id, agent_id=scope.agent_id, run_id=scope.run_id,
                                    limit=options.page_size, offset=offset, filters=options.filters,
                                    sort_by="id", order="asc")
        for record in page["results"]:
            out.write(json.dumps(_exported(record, options.keep_import_keys), ensure_ascii=False) + "\n")
        count += len(page["results"])
        offset += len(page["results"])
        if len(page["results"]) < options.page_size:
            return count


def _exported(record: dict[str, Any], keep_import_keys: bool) -> dict[str, Any]:
    row = {k: record.get(k) for k in _EXPORT_FIELDS}
    if not keep_import_keys:
        row["metadata"] = {k: v for k, v in record["metadata"].items() if k != IMPORT_KEY}
    return row

