"""What the command line prints: aligned plain-text tables, JSON, and an import progress bar."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = [
    "ProgressBar",
    "format_duration",
    "print_json",
    "render_history",
    "render_record",
    "render_records",
    "render_relations",
    "render_stats",
    "render_table",
]


def print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else "-"
    return " ".join(str(value).split())  # one line per row, whatever the text holds


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO,
                 width: int | None = None) -> None:
    """Columns padded to their widest cell; the last column is clipped to the terminal width."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    total = width or shutil.get_terminal_size((120, 24)).columns
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = max(len(headers[-1]), min(widths[-1], total - fixed))
    lines = [headers, ["-" * w for w in widths], *cells]
    for line in lines:
        padded = [_clip(c, w).ljust(w) for c, w in zip(line, widths, strict=True)]
        out.write("  ".join(padded).rstrip() + "\n")


def _scope(record: dict[str, Any]) -> str:
    parts = [f"{k[0]}:{record[k]}" for k in ("user_id", "agent_id", "run_id") if record.get(k)]
    return " ".join(parts) or "-"


def render_records(records: Sequence[dict[str, Any]], out: TextIO, *, scores: bool = False,
                   events: bool = False) -> None:
    headers = ["id"] + (["score"] if scores else []) + (["event"] if events else []) + ["scope", "created", "memory"]
    rows = []
    for r in records:
        row: list[Any] = [r["id"]]
        row += [r.get("score")] if scores else []
        row += [r.get("event")] if events else []
        row += [_scope(r), str(r.get("created_at") or "")[:19].replace("T", " "), r["memory"]]
        rows.append(row)
    render_table(headers, rows, out)


def render_relations(relations: Sequence[dict[str, Any]], out: TextIO, title: str = "relations") -> None:
    if not relations:
        return
    out.write(f"\n{title}:\n")
    for rel in relations:
        score = f"  ({rel['score']:.3f})" if isinstance(rel.get("score"), float) else ""
        out.write(f"  {rel['source']} -[{rel['relationship']}]-> {rel['destination']}{score}\n")


def render_timed_relations(relations: Sequence[dict[str, Any]], out: TextIO) -> None:
    """Relations with the world time each was true (``until now`` while it still is)."""
    if not relations:
        return
    out.write("\nrelations (valid from .. until):\n")
    for rel in relations:
        until = rel.get("invalid_at") or "now"
        out.write(f"  {rel['source']} -[{rel['relationship']}]-> {rel['destination']}  {rel.get('valid_at')} .. {until}\n")


def render_record(record: dict[str, Any], out: TextIO) -> None:
    """One memory as ``key: value`` lines, metadata expanded."""
    keys = ["id", "memory", "user_id", "agent_id", "run_id", "created_at", "updated_at", "hash"]
    width = max(len(k) for k in keys)
    for key in keys:
        out.write(f"{key.ljust(width)}  {_cell(record.get(key))}\n")
    metadata = record.get("metadata") or {}
    out.write(("metadata".ljust(width) + "  -" if not metadata else "metadata") + "\n")
    for key, value in sorted(metadata.items()):
        out.write(f"  {key}: {json.dumps(value, ensure_ascii=False)}\n")


def render_history(events: Sequence[dict[str, Any]], out: TextIO) -> None:
    rows = [[str(e["created_at"])[:19].replace("T", " "), e["event"], e.get("old_memory"), e.get("new_memory")]
            for e in events]
    render_table(["at", "event", "before", "after"], rows, out)


def render_stats(rows: Sequence[dict[str, Any]], out: TextIO) -> None:
    table = [[r["user_id"], r["agent_id"], r["memories"], r["entities"], r["relations"]] for r in rows]
    if len(rows) > 1:
        table.append(["total", "", *(sum(int(r[k]) for r in rows) for k in ("memories", "entities", "relations"))])
    render_table(["user_id", "agent_id", "memories", "entities", "relations"], table, out)


def format_duration(seconds: float) -> str:
    hours, rest = divmod(max(0, round(seconds)), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressBar:
    """Import progress on stderr with rate and ETA.

    On a terminal it redraws one line with ``\\r``; anywhere else (CI logs, files) it prints a
    full line every 5% or 30 s, so a long import still shows life without flooding the log.
    """

    def __init__(self, out: TextIO, label: str, total: int, *, tty: bool | None = None, width: int = 24) -> None:
        self._out = out
        self._label = label
        self._total = max(total, 1)
        self._tty = out.isatty() if tty is None else tty
        self._width = width
        self._start = time.monotonic()
        self._first: int | None = None
        self._last_draw = 0.0
        self._last_step = -1
        self._done = 0
        self._drawn = 0

    def _padded(self, line: str) -> str:
        # Spaces over whatever a longer previous line left behind; no terminal escapes needed.
        padded, self._drawn = line.ljust(self._drawn), len(line)
        return padded

    def update(self, done: int, total: int | None = None) -> None:
        if total:
            self._total = max(total, 1)
        if self._first is None:
            self._first, self._start = done, time.monotonic()  # a resumed run's rate counts new work only
        self._done = done
        now = time.monotonic()
        step = 20 * done // self._total
        if self._tty and now - self._last_draw >= 0.1:
            self._out.write("\r" + self._padded(self.line()))
            self._out.flush()
            self._last_draw = now
        elif not self._tty and (step != self._last_step or now - self._last_draw >= 30) and now - self._last_draw >= 1:
            self._out.write(self.line() + "\n")
            self._out.flush()
            self._last_draw, self._last_step = now, step

    def line(self) -> str:
        fraction = min(1.0, self._done / self._total)
        filled = int(fraction * self._width)
        bar = "#" * filled + "." * (self._width - filled)
        elapsed = max(time.monotonic() - self._start, 1e-9)
        head = f"{self._label} [{bar}] {fraction * 100:3.0f}% {self._done}/{self._total}"
        rate = (self._done - (self._first or 0)) / elapsed
        if rate <= 0:
            return f"{head} starting"
        eta = format_duration((self._total - self._done) / rate)
        return f"{head} {rate:,.0f} rec/s elapsed {format_duration(elapsed)} ETA {eta}"

    def finish(self) -> None:
        line = self.line().replace(" ETA 0:00", "")
        self._out.write(("\r" + self._padded(line) + "\n") if self._tty else (line + "\n"))
        self._out.flush()
