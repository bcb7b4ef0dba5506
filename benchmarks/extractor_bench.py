"""Worst-case time of the offline name extractor on hostile texts (tests/support/hostile_text.py).

Prints one line per pattern: the slowest of ``--repeat`` runs on a ``--kib`` KiB text, wall
clock and CPU time of this process (the two differ when other processes share the cores).
``--root`` picks the source tree whose extractor is timed (default: this repository); a
tree from before issue 13 (``powermem/ingest/offline.py``) works too, for the before figures.

    python benchmarks/extractor_bench.py [--kib 64] [--repeat 3] [--root PATH] [--only TEXT] [--no-cap]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--only", default="", help="time only the patterns whose name contains this")
    parser.add_argument("--no-cap", action="store_true", help="read the whole text (shows the scan is linear)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.hostile_text import hostile_texts

    sys.path.insert(0, str(args.root.resolve()))
    for name in [m for m in sys.modules if m == "powermem" or m.startswith("powermem.")]:
        del sys.modules[name]
    try:
        module = importlib.import_module("powermem.text.extract")
    except ModuleNotFoundError:
        module = importlib.import_module("powermem.ingest.offline")
    if args.no_cap and hasattr(module, "MAX_EXTRACT_CHARS"):
        module.MAX_EXTRACT_CHARS = sys.maxsize
    print(f"extractor: {module.__file__}; {args.kib} KiB inputs; worst of {args.repeat}"
          f"; cap {getattr(module, 'MAX_EXTRACT_CHARS', 'none')}")
    for name, text in hostile_texts(args.kib * 1024).items():
        if args.only not in name:
            continue
        wall = cpu = 0.0
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            module.extract_entities(text)
            wall = max(wall, time.perf_counter() - start)
            cpu = max(cpu, time.process_time() - start_cpu)
        print(f"{wall * 1000:10.1f} ms wall {cpu * 1000:10.1f} ms cpu  {name}")


if __name__ == "__main__":
    main()
