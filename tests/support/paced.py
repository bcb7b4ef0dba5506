"""Killing a child process on its progress, never on the clock.

The child reports each unit of work it has committed as one stdout line (``batch 7``) and then
takes a credit: a line on its stdin (``take_credit``). The parent grants ``window`` credits
ahead and one more per report it reads, and SIGKILLs the child as soon as it has read
``kill_after`` reports (``kill_on_progress``). So the kill always comes after exactly that much
progress, and the child can never be more than ``window`` units further on: on a fast machine
it cannot finish first, on a slow or loaded one it is not killed before it started.

With credits in hand the child is writing the next unit when the signal comes. To land it
anywhere in that write, not always at its start, the parent first pauses for a random part
of the mean time between two reports so far: a fraction of the child's own pace, so the same
on any machine (and pass or fail never depends on it: the credits bound the child anyway).

A child whose stdin is at end of file (run by hand, ``</dev/null``) runs free.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Killed", "kill_on_progress", "take_credit"]

# Only a hung child meets this: it fails the test instead of hanging the suite.
HANG_SECONDS = 900.0
_free = False


def take_credit() -> None:
    """In the child, after reporting a unit: wait until the parent allows the next one."""
    global _free
    if not _free and not sys.stdin.readline():
        _free = True  # no parent pacing us


@dataclass
class Killed:
    reports: list[str]  # every report line the child printed, the ones after the kill point included
    finished: bool  # it printed ``done`` (it was never killed)
    returncode: int


def kill_on_progress(argv: Sequence[str], *, kill_after: int, window: int = 4, prefix: str = "batch ",
                     cwd: Path | None = None, env: Mapping[str, str] | None = None, seed: int = 0) -> Killed:
    """Run ``argv``; SIGKILL it during the unit after its ``kill_after``-th line starting with ``prefix``."""
    assert kill_after >= 1 and window >= 1
    rng = random.Random(seed)
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    watchdog = threading.Timer(HANG_SECONDS, proc.kill)
    watchdog.start()
    reports: list[str] = []
    arrived: list[float] = []
    finished = False
    try:
        _grant(proc, window)
        for line in proc.stdout:
            if line.startswith(prefix):
                reports.append(line.strip())
                arrived.append(time.monotonic())
                if len(reports) == kill_after:
                    pace = (arrived[-1] - arrived[0]) / (len(arrived) - 1) if len(arrived) > 1 else 0.0
                    time.sleep(rng.uniform(0, pace))  # where in the next unit: a share of the child's pace
                    proc.send_signal(signal.SIGKILL)
                    break
                _grant(proc, 1)
            elif line.strip() == "done":
                finished = True
        # What it printed before the signal landed: committed too, so reported.
        reports += [line.strip() for line in proc.stdout.read().splitlines() if line.startswith(prefix)]
        returncode = proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        proc.stdout.close()
    assert finished or returncode == -signal.SIGKILL, f"the child failed on its own (status {returncode})"
    return Killed(reports, finished, returncode)


def _grant(proc: subprocess.Popen[str], count: int) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):  # it died: the read loop sees the end of its output
        proc.stdin.write("go\n" * count)
        proc.stdin.flush()
