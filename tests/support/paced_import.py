"""``powermem import ...`` paced for kill tests: ``python -m tests.support.paced_import ARGS``.

Runs the real command line (``powermem.cli.main``) with one addition: after each save of the
import's progress file it prints ``progress <committed>`` and takes a credit from stdin, so a
test can SIGKILL it after a given number of batches (tests/support/paced.py).
"""

from __future__ import annotations

import sys

from powermem import importing
from powermem.cli import main
from tests.support.paced import take_credit

_save = importing.Progress.save


def _paced_save(self: importing.Progress) -> None:
    _save(self)
    print(f"progress {self.committed}", flush=True)
    take_credit()


if __name__ == "__main__":
    importing.Progress.save = _paced_save  # type: ignore[method-assign]
    raise SystemExit(main(sys.argv[1:]))
