"""Full backups: everything a store holds, to one versioned JSON Lines file and back.

``export_full`` writes every entity, memory (with its mentions), relation (invalidated ones
too, with their time fields and provenance) and history event, ids and timestamps as stored;
``import_full`` restores such a file into a store of either kind. The format is documented
in docs/operations.md ("The full export format"):

- line 1, the header: ``{"format": "powermem-export", "version": 1, "created_at": ...,
  "powermem": "0.1.0", "store": "embedded", "embedding": {"provider", "model", "dims"},
  "sections": ["entities", "memories", "relations", "events"]}``;
- then one record a line, sections in that order, each in id order: ``{"kind": "entity", ...}``,
  ``{"kind": "memory", ...}``, ``{"kind": "relation", ...}``, ``{"kind": "event", ...}``
  (fields as ``powermem.stores.dump`` lists them; embeddings as base64 of little-endian
  float32, or null);
- last, ``{"kind": "end", "counts": {"entities": n, ...}}``: a file without it is truncated.

Import reads the whole file once to check it (nothing is written if any line is bad), then
writes it in batches, each ONE transaction, in section order. It restores into an EMPTY store
and refuses any other, unless ``resume=True``: every write is an upsert by id, so running the
same import again finishes one that was interrupted, and changes nothing once it is complete.
Embeddings are kept when the target's embedder is the one that made them (same provider, model
and dimension); otherwise memories are re-embedded from their text and entities from their names.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np

from powermem import __version__
from powermem._memory import AsyncMemory
from powermem.config import default_embedded_path
from powermem.embeddings.base import Embedder
from powermem.errors import InvalidInputError, PowermemError
from powermem.filters import now_timestamp
from powermem.llm.schemas import FAMILIES
from powermem.stores.base import GraphStore
from powermem.stores.dump import RELATION_TIMES, SECTIONS, Row, Section

__all__ = ["FORMAT", "FORMAT_VERSION", "BackupFileError", "ExportReport", "ImportReport", "RestoreOptions",
           "copy_embedded", "copy_sqlite", "export_full", "import_full", "is_full_export", "read_header"]

FORMAT = "powermem-export"
FORMAT_VERSION = 1
Reembed = Literal["auto", "always", "never"]

_TYPE_OF: dict[Section, str] = {"entities": "entity", "memories": "memory", "relations": "relation",
                                 "events": "event"}
_SECTION_OF = {kind: section for section, kind in _TYPE_OF.items()}
# The keys of each record kind besides "kind" (relations: "times" holds the time fields).
_FIELDS: dict[Section, tuple[str, ...]] = {
    "entities": ("id", "user_id", "agent_id", "run_id", "name", "name_key", "type", "embedding", "created_at",
                 "updated_at"),
    "memories": ("id", "memory", "hash", "user_id", "agent_id", "run_id", "metadata", "created_at", "updated_at",
                 "embedding", "entity_ids"),
    "relations": ("id", "source_id", "destination_id", "relationship", "fact", "memory_ids", "times"),
    "events": ("id", "memory_id", "event", "old_memory", "new_memory", "created_at", "actor", "user_id",
               "agent_id", "run_id"),
}
_INT_FIELDS = frozenset({"id", "memory_id", "source_id", "destination_id"})
_ID_LIST_FIELDS = frozenset({"entity_ids", "memory_ids"})
_REQUIRED_TEXT = frozenset({"memory", "hash", "name", "name_key", "relationship", "event", "created_at"})


class BackupFileError(PowermemError, ValueError):
    """The file is not a full export this version can read, or it is damaged."""


# -- export ---------------------------------------------------------------------------------------


@dataclass
class ExportReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _encode_vector(vector: Any) -> str | None:
    if vector is None:
        return None
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _decode_vector(text: Any, where: str) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise BackupFileError(f"{where}: 'embedding' must be base64 text or null")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise BackupFileError(f"{where}: 'embedding' is not valid base64") from None
    if len(raw) % 4:
        raise BackupFileError(f"{where}: 'embedding' is not a whole number of float32 values")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


async def _parts(memory: AsyncMemory) -> tuple[GraphStore, Embedder]:
    store, _, _ = await memory._ready()
    assert memory._embedder is not None
    return store, memory._embedder


def _embedding_identity(memory: AsyncMemory, embedder: Embedder) -> dict[str, Any]:
    config = memory.config.embedding
    return {"provider": config.provider, "model": config.model, "dims": embedder.dims}


async def export_full(memory: AsyncMemory, out: TextIO, page_size: int = 500) -> ExportReport:
    """Write the whole store (every tenant) to ``out`` in the full export format."""
    if page_size < 1:
        raise InvalidInputError("page_size must be at least 1")
    started = time.perf_counter()
    store, embedder = await _parts(memory)
    header = {"format": FORMAT, "version": FORMAT_VERSION, "created_at": now_timestamp(), "powermem": __version__,
              "store": memory.config.store.provider, "embedding": _embedding_identity(memory, embedder),
              "sections": list(SECTIONS)}
    out.write(json.dumps(header) + "\n")
    report = ExportReport()
    for section in SECTIONS:
        count, after = 0, None
        while True:
            rows, after = await store.dump_rows(section, after, page_size)
            for row in rows:
                out.write(json.dumps(_record(section, row), ensure_ascii=False) + "\n")
            count += len(rows)
            if after is None:
                break
        report.counts[section] = count
    out.write(json.dumps({"kind": "end", "counts": report.counts}) + "\n")
    report.seconds = time.perf_counter() - started
    return report


def _record(section: Section, row: Row) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": _TYPE_OF[section]}
    for key in _FIELDS[section]:
        record[key] = _encode_vector(row[key]) if key == "embedding" else row[key]
    return record


# -- reading a file -------------------------------------------------------------------------------


def read_header(path: Path) -> dict[str, Any] | None:
    """The header of a full export, or None when ``path`` is some other file."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline(1 << 16)
        header = json.loads(first)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return header if isinstance(header, dict) and header.get("format") == FORMAT else None


def is_full_export(path: Path) -> bool:
    return read_header(path) is not None


def _checked_header(path: Path) -> dict[str, Any]:
    header = read_header(path)
    if header is None:
        raise BackupFileError(f"{path}: not a full export (its first line is no {FORMAT!r} header)")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise BackupFileError(f"{path}: the header has no valid format version")
    if version > FORMAT_VERSION:
        raise BackupFileError(f"{path}: format version {version} is newer than this powermem reads "
                              f"({FORMAT_VERSION}); upgrade powermem to import it")
    embedding = header.get("embedding")
    if not isinstance(embedding, dict) or not isinstance(embedding.get("dims"), int):
        raise BackupFileError(f"{path}: the header does not say which embedder made the embeddings")
    return header


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of every line after the header."""
    with path.open(encoding="utf-8") as handle:
        handle.readline()
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BackupFileError(f"{path} line {number}: invalid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise BackupFileError(f"{path} line {number}: expected a JSON object")
            yield number, record


def _row(section: Section, record: dict[str, Any], where: str) -> Row:
    """A record as a store row, every field checked."""
    missing = [key for key in _FIELDS[section] if key not in record]
    if missing:
        raise BackupFileError(f"{where}: a {_TYPE_OF[section]} record needs {missing[0]!r}")
    row: Row = {}
    for key in _FIELDS[section]:
        value = record[key]
        if key in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise BackupFileError(f"{where}: {key!r} must be an integer")
        if key in _ID_LIST_FIELDS and not (isinstance(value, list) and all(
                isinstance(i, int) and not isinstance(i, bool) for i in value)):
            raise BackupFileError(f"{where}: {key!r} must be a list of integer ids")
        if key in _REQUIRED_TEXT and not isinstance(value, str):
            raise BackupFileError(f"{where}: {key!r} must be a string")
        if key == "metadata" and not isinstance(value, dict):
            raise BackupFileError(f"{where}: 'metadata' must be an object")
        row[key] = _decode_vector(value, where) if key == "embedding" else value
    if section == "relations":
        times = row["times"]
        if not isinstance(times, dict) or not all(isinstance(v, (str, type(None))) for v in times.values()):
            raise BackupFileError(f"{where}: 'times' must be an object of timestamps (or null)")
        unknown = sorted(set(times) - set(RELATION_TIMES))
        if unknown:
            raise BackupFileError(f"{where}: relation time field {unknown[0]!r} is unknown to this powermem "
                                  f"(it keeps {', '.join(RELATION_TIMES)}); upgrade powermem to import it")
        if times.get("family") is not None and times["family"] not in FAMILIES:
            # Stores keep only the allow-listed families: the lane of invalidation compares them.
            raise BackupFileError(f"{where}: relation family {times['family']!r} is not one of {', '.join(FAMILIES)}")
    return row


def _scan(path: Path, dims: int) -> dict[str, int]:
    """Check every record (order, fields, embedding sizes) and the end record; the counts."""
    counts: dict[str, int] = dict.fromkeys(SECTIONS, 0)
    position, end = 0, None
    known: dict[str, set[int]] = {"entities": set(), "memories": set()}
    for number, record in _lines(path):
        where = f"{path} line {number}"
        if end is not None:
            raise BackupFileError(f"{where}: a record after the end record")
        kind = record.get("kind")
        if kind == "end":
            end = record.get("counts")
            continue
        section = _SECTION_OF.get(kind) if isinstance(kind, str) else None
        if section is None:
            raise BackupFileError(f"{where}: unknown record kind {kind!r}")
        if SECTIONS.index(section) < position:
            raise BackupFileError(f"{where}: a {kind} record after the {SECTIONS[position]} section")
        position = SECTIONS.index(section)
        row = _row(section, record, where)
        vector = row.get("embedding")
        if vector is not None and vector.shape[0] != dims:
            raise BackupFileError(f"{where}: the embedding has {vector.shape[0]} values, the header says {dims}")
        _check_references(section, row, known, where)
        counts[section] += 1
    if end is None:
        raise BackupFileError(f"{path}: no end record: the file is truncated")
    if end != counts:
        raise BackupFileError(f"{path}: the end record counts {end}, the file holds {counts}")
    return counts


def _check_references(section: Section, row: Row, known: dict[str, set[int]], where: str) -> None:
    """Mentions and relations name entities and memories of the file (which come before them)."""
    if section in known:
        known[section].add(row["id"])
    cited: list[tuple[str, str, list[int]]] = []
    if section == "memories":
        cited.append(("entity", "entities", row["entity_ids"]))
    elif section == "relations":
        cited += [("entity", "entities", [row["source_id"], row["destination_id"]]),
                  ("memory", "memories", row["memory_ids"])]
    for what, pool, ids in cited:
        missing = next((i for i in ids if i not in known[pool]), None)
        if missing is not None:
            raise BackupFileError(f"{where}: it names {what} {missing}, which the file does not hold")


# -- import ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreOptions:
    batch_size: int = 500  # rows per transaction
    resume: bool = False  # allow a non-empty target: finish (or repeat) an import of this file
    reembed: Reembed = "auto"  # auto: only when the target's embedder differs from the file's


@dataclass
class ImportReport:
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    reembedded: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def import_full(memory: AsyncMemory, path: Path, options: RestoreOptions | None = None) -> ImportReport:
    """Restore a full export into ``memory``'s store (see the module's docstring)."""
    options = options or RestoreOptions()
    if not 1 <= options.batch_size <= 10_000:
        raise InvalidInputError("batch size must be within 1..10,000")
    if options.reembed not in ("auto", "always", "never"):
        raise InvalidInputError("reembed must be 'auto', 'always' or 'never'")
    started = time.perf_counter()
    header = _checked_header(path)
    counts = _scan(path, header["embedding"]["dims"])
    store, embedder = await _parts(memory)
    reembed = _must_reembed(header["embedding"], _embedding_identity(memory, embedder), options.reembed)
    if not options.resume:
        held = {k: v for k, v in (await store.content_counts()).items() if v}
        if held:
            what = ", ".join(f"{n} {k}" for k, n in held.items())
            raise InvalidInputError(
                f"the target store is not empty ({what}): a full import restores into an empty store. "
                "Use a new store, or pass resume=True (--resume) to finish an interrupted import of this file"
            )
    for section, rows in _batches(path, options.batch_size):
        await _load(store, embedder, section, rows, reembed)
    return ImportReport(str(path), counts, reembed, time.perf_counter() - started)


def _batches(path: Path, size: int) -> Iterator[tuple[Section, list[Row]]]:
    """The file's rows in batches of up to ``size`` rows of one section, in file order."""
    batch: list[Row] = []
    current: Section = SECTIONS[0]
    for number, record in _lines(path):
        if record["kind"] == "end":
            break
        section = _SECTION_OF[record["kind"]]
        if batch and (section != current or len(batch) >= size):
            yield current, batch
            batch = []
        current = section
        batch.append(_row(section, record, f"{path} line {number}"))
    if batch:
        yield current, batch


def _must_reembed(made_by: dict[str, Any], target: dict[str, Any], choice: Reembed) -> bool:
    same = all(made_by.get(key) == target[key] for key in ("provider", "model", "dims"))
    if choice == "never" and not same:
        raise InvalidInputError(
            f"the file's embeddings were made by {made_by}, the target's embedder is {target}; "
            "re-embedding is needed (reembed='auto')"
        )
    return choice == "always" or (choice == "auto" and not same)


async def _load(store: GraphStore, embedder: Embedder, section: Section, rows: list[Row], reembed: bool) -> None:
    if reembed and section in ("memories", "entities"):
        texts = [row["memory" if section == "memories" else "name"] for row in rows]
        vectors = await embedder.embed(texts)
        rows = [{**row, "embedding": vectors[i]} for i, row in enumerate(rows)]
    await store.load_rows(section, rows)


# -- a copy of a live embedded store -------------------------------------------------------------


def copy_sqlite(source: Path, dest: Path, pages_per_step: int = -1,
                progress: Callable[[int, int, int], object] | None = None) -> int:
    """Copy a SQLite file that other processes may be writing, with SQLite's online backup API.

    The copy is one consistent snapshot (committed transactions only, WAL included); writers
    are never blocked for longer than one step. ``dest`` must not exist. Returns its page count.
    """
    if dest.exists():
        raise InvalidInputError(f"{dest} exists: a backup never overwrites a file")
    if not source.is_file():
        raise InvalidInputError(f"{source}: no such store file")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        copy = sqlite3.connect(tmp)
        try:
            src.backup(copy, pages=pages_per_step, progress=progress)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
        finally:
            copy.close()
    finally:
        src.close()
    tmp.replace(dest)
    return pages


async def copy_embedded(memory: AsyncMemory, dest: Path) -> int:
    """``copy_sqlite`` of ``memory``'s embedded store (a Neo4j store: use neo4j-admin dump)."""
    store = memory.config.store
    if store.provider != "embedded":
        raise InvalidInputError("powermem backup copies an embedded store; for Neo4j use "
                                "'neo4j-admin database dump' or export_full (docs/operations.md)")
    await memory._ready()  # opened (and migrated) first: the copy has the current schema
    source = Path(store.path).expanduser() if store.path else default_embedded_path()
    return await asyncio.to_thread(copy_sqlite, source, dest)
