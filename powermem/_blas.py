"""One BLAS thread in a process that runs powermem's numpy work.

OpenBLAS starts a thread per core and its threads spin between calls. powermem's matrix work
(a vector scan, one embedding batch) is small, and powermem already overlaps it with SQLite and
the event loop on threads of its own: BLAS threads on top fight them for the cores. Measured on
2 cores (2026-12-03), a search beside a second process doing the same went from 20 to 10 ms at
p50 with one BLAS thread; issue 17 reports the LoCoMo search p95 going from 25 to 13.5 ms.

The setting is process-wide, and OpenBLAS only lets the main thread raise it again, so it cannot
be lowered around each matmul and restored: powermem lowers it once, when it opens an embedded
store or loads the local model. An application that wants more BLAS threads for its own work
raises it again afterwards (``threadpoolctl.threadpool_limits``); powermem's searches then
share the cores with it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger("powermem")

_lock = threading.Lock()
_lowered = False


def _blas_libraries() -> list[Any]:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # an install without it: BLAS keeps its own setting
        return []
    return list(ThreadpoolController().select(user_api="blas").lib_controllers)


def use_one_blas_thread() -> None:
    """Lower every loaded BLAS library to one thread, once per process."""
    global _lowered
    with _lock:
        if _lowered:
            return
        _lowered = True
        for library in _blas_libraries():
            if library.get_num_threads() > 1:
                logger.debug("powermem: %s set to one BLAS thread (was %d)", library.internal_api,
                             library.get_num_threads())
                library.set_num_threads(1)


def blas_threads() -> list[int]:
    """The thread count each loaded BLAS library is set to now (for tests and diagnostics)."""
    return [library.get_num_threads() for library in _blas_libraries()]
