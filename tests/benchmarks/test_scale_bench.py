"""benchmarks/scale_bench.py at a tiny scale on the embedded store: it builds each case,
prints every row of issue 17's table it can measure with numbers, and reuses what it built."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale_bench.py"
NUMBER = r"[\d,.]+"
ROWS = [
    rf"one: built {NUMBER} memories in {NUMBER} s: {NUMBER} memories/s",
    rf"hybrid search, the tenant of 500: p50 {NUMBER} ms, p95 {NUMBER} ms",
    rf"recall@10 of the vector search against an exact numpy scan: {NUMBER}",
    rf"peak resident memory of a process that opens the store and searches: {NUMBER} GB",
    rf"hybrid search, tenants of 100 \(5 tenants\): p50 {NUMBER} ms, p95 {NUMBER} ms",
    rf"hybrid search, the hard tenant of 100: p50 {NUMBER} ms, p95 {NUMBER} ms; exact numpy top-10 scan "
    rf"p50 {NUMBER} ms, p95 {NUMBER} ms \(each after a search\); hybrid p95 / exact p95 {NUMBER}",
]


def run(cache: Path, cases: str) -> str:
    command = [sys.executable, str(SCRIPT), "--scale", "0.0005", "--queries", "5", "--cases", cases,
               "--cache-dir", str(cache)]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=300).stdout


def test_every_embedded_row_is_printed_with_numbers_and_the_stores_are_reused(tmp_path: Path) -> None:
    first = run(tmp_path, "one,many,hard")
    for pattern in ROWS:
        assert re.search(pattern, first), f"no line matching {pattern!r} in:\n{first}"
    recall = float(re.search(rf"exact numpy scan: ({NUMBER})", first).group(1))  # type: ignore[union-attr]
    assert recall == 1.0  # 500 memories: below the sketch pre-scan, the search is the exact scan
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["hard-100-seed7.db", "many-500-seed7.db",
                                                               "one-500-seed7.db"]
    again = run(tmp_path, "hard")
    assert "hard: reusing" in again and "built" not in again
    assert re.search(ROWS[-1], again)
