"""Copies the write-ahead log into the database file on a thread of its own.

SQLite's automatic checkpoint runs inside the COMMIT of whichever write crosses its threshold,
so the writer waits while every page it wrote is copied a second time (an add of 1,000
messages writes ~3 MB of log, most of a checkpoint's worth). A PASSIVE checkpoint on another
connection does the same copy beside the writer and never waits for it: measured 2026-12-04 on
2 cores (``benchmarks/store_bench.py --sizes 100000 --batch 100|1000``), ``add(infer=False)``
went from 14,777 to 16,176 memories/s in batches of 100 and from 16,002 to 18,523 in batches
of 1,000. The writer keeps SQLite's own checkpoint at a larger threshold (``FALLBACK_PRAGMA``),
so the log stays bounded even if this thread falls behind or fails.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

logger = logging.getLogger("powermem.store")

# The writer's own checkpoint threshold: 16,384 pages of 4 KiB (64 MiB of log), 16x SQLite's default.
FALLBACK_PRAGMA = "PRAGMA wal_autocheckpoint=16384"
# Commits landing while a pass runs wait for the next one; passes are at least this far apart
# so that a stream of small adds does not cost two fsyncs each.
MIN_INTERVAL_S = 0.2


class BackgroundCheckpoint:
    """One daemon thread that checkpoints ``path`` after the writes reported by ``wrote()``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._changed = threading.Condition()
        self._requested = 0  # writes reported so far
        self._covered = 0  # writes committed before the last finished pass began
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="powermem-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> int:
        """Reports a committed write; returns its number for ``wait_covered``."""
        with self._changed:
            self._requested += 1
            self._changed.notify_all()
            return self._requested

    def wait_covered(self, write: int, timeout: float) -> bool:
        """Whether a pass that began after write number ``write`` finished within ``timeout`` s."""
        with self._changed:
            return self._changed.wait_for(lambda: self._covered >= write, timeout)

    def close(self) -> None:
        """Stops the thread; the last connection to close checkpoints what is left."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join()

    def _loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while (target := self._next_request()) is not None:
                conn = self._checkpoint(conn)
                with self._changed:
                    self._covered = target
                    self._changed.notify_all()
                self._stop.wait(MIN_INTERVAL_S)
        finally:
            if conn is not None:
                conn.close()

    def _next_request(self) -> int | None:
        """Waits for writes the last pass did not cover; None once stopping."""
        with self._changed:
            self._changed.wait_for(lambda: self._stop.is_set() or self._requested > self._covered)
            return None if self._stop.is_set() else self._requested

    def _checkpoint(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One PASSIVE pass; the connection to reuse for the next one (None after an error)."""
        try:
            conn = conn or sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            return conn
        except sqlite3.Error as exc:  # the writer's own checkpoint still bounds the log
            logger.warning("background WAL checkpoint of %s failed: %s", self._path, exc)
            if conn is not None:
                conn.close()
            return None
