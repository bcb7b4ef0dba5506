"""Reliability figures: run the reliability suite in long mode and print what it generated,
what faults it injected, and what was lost or leaked (the goal is zero).

    .venv/bin/python benchmarks/reliability_report.py                 # both stores, long mode
    .venv/bin/python benchmarks/reliability_report.py --stores embedded
    .venv/bin/python benchmarks/reliability_report.py --quick         # the default (short) sizes
    .venv/bin/python benchmarks/reliability_report.py --fuzz-examples 500
    .venv/bin/python benchmarks/reliability_report.py --stores neo4j --own-neo4j   # a private server

It runs ``pytest tests/reliability --run-slow`` with ``POWERMEM_RELIABILITY_REPORT`` pointing
at a JSON file the suite's tally writes (tests/reliability/helpers.py), then summarises it.
Neo4j: uses NEO4J_URI when set, else the tests start ``scripts/neo4j-local`` themselves; with
``--own-neo4j`` a private server on a free port is started for the run and stopped after it,
so nothing else sharing a development server can disturb the fuzzer's canary tenant.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_suite(stores: list[str], quick: bool, examples: int | None, extra: list[str],
              own_neo4j: bool) -> tuple[dict[str, Any], str, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "reliability.json"
        env = {**os.environ, "POWERMEM_RELIABILITY_REPORT": str(report), "OPENBLAS_NUM_THREADS": "1",
               "PYTHONPATH": str(ROOT)}
        server = None
        if own_neo4j and "neo4j" in stores:
            sys.path.insert(0, str(ROOT))
            from tests.reliability.test_faults_neo4j import PASSWORD, OwnNeo4j, free_port

            server = OwnNeo4j(Path(tmp) / "neo4j", free_port())
            print(f"starting a private Neo4j on port {server.port} ...", flush=True)
            server.start()
            env.update(NEO4J_URI=f"bolt://127.0.0.1:{server.port}", NEO4J_USERNAME="neo4j", NEO4J_PASSWORD=PASSWORD,
                       NEO4J_DATABASE="neo4j")
        if examples is not None:
            env["POWERMEM_FUZZ_EXAMPLES"] = str(examples)
        command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider",
                   "--show-capture=no", "-W", "ignore::hypothesis.errors.HypothesisWarning"]
        if not quick:
            command.append("--run-slow")
        if stores == ["embedded"]:
            command += ["-m", "not neo4j"]
        elif stores == ["neo4j"]:
            command += ["-m", "neo4j"]
        command += extra
        started = time.monotonic()
        try:
            proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        finally:
            if server is not None:
                server.kill(15)
        elapsed = time.monotonic() - started
        data = json.loads(report.read_text()) if report.exists() else {}
    return data, proc.stdout + proc.stderr, proc.returncode, elapsed


def by_store(section: dict[str, int]) -> dict[str, dict[str, int]]:
    grouped: dict[str, dict[str, int]] = defaultdict(dict)
    for key, n in section.items():
        store, _, kind = key.partition("/")
        grouped[store][kind or "-"] = n
    return grouped


def print_limits(section: dict[str, int]) -> None:
    """Calls one under, at and one over each limit, per store (keys store/limit/position)."""
    grouped: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for key, n in section.items():
        store, limit, position = key.split("/")
        grouped[store][limit][position] = n
    print("\ncalls around each limit per store (under / at / over; over must be refused):")
    for store in sorted(grouped):
        counts = grouped[store]
        total = sum(sum(c.values()) for c in counts.values())
        print(f"  {store:9s} {total:7d}")
        for limit in sorted(counts):
            c = counts[limit]
            print(f"      {limit:20s} {c.get('under', 0):5d} {c.get('at', 0):5d} {c.get('over', 0):5d}")


def print_report(data: dict[str, Any], output: str, code: int, elapsed: float, command: str) -> None:
    print(f"command: {command}")
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    print(f"pytest: {summary[-1] if summary else '(no summary)'} (exit {code}, {elapsed:.0f} s)")
    failed = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    for line in failed[:20]:
        print(f"  {line}")
    errors = [line for line in output.splitlines() if line.startswith("E   ")]
    for line in errors[:12]:
        print(f"    {line[:200]}")
    cases = by_store(data.get("cases", {}))
    examples = by_store(data.get("examples", {}))
    print("\ncases generated per store (API calls with generated or hostile input):")
    for store in sorted(cases):
        total = sum(cases[store].values())
        print(f"  {store:9s} {total:7d}   fuzz examples: {sum(examples.get(store, {}).values())}")
        for kind, n in sorted(cases[store].items(), key=lambda kv: -kv[1]):
            print(f"      {kind:28s} {n:7d}")
    rejected = data.get("rejected", {})
    statements = data.get("statements", {})
    injected = data.get("injected", {})
    print("\nstatements recorded and checked for pasted values:")
    for store in sorted(set(statements) | set(injected)):
        print(f"  {store:9s} {statements.get(store, 0):8d} statements, {injected.get(store, 0)} with a generated value "
              f"in their text; {rejected.get(store, 0)} calls rejected as invalid input (InvalidInputError)")
    print_limits(data.get("limits", {}))
    faults = data.get("faults", {})
    print("\nfaults injected (by kind):")
    for key, n in sorted(faults.items()):
        print(f"  {key:40s} {n:5d}")
    print(f"  {'total':40s} {sum(faults.values()):5d}")
    lost, leaked = data.get("lost", {}), data.get("leaked", {})
    print("\nlost or half-written memories (goal 0):")
    for key, n in sorted(lost.items()):
        print(f"  {key:40s} {n:5d}")
    print("leaked across tenants (goal 0):")
    for key, n in sorted(leaked.items()):
        print(f"  {key:40s} {n:5d}")
    bad = sum(lost.values()) + sum(leaked.values()) + sum(injected.values())
    print(f"\nlost + leaked + injected: {bad}; failing tests: {len(failed)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", default="embedded,neo4j", help="comma-separated: embedded, neo4j")
    parser.add_argument("--quick", action="store_true", help="default sizes instead of --run-slow")
    parser.add_argument("--fuzz-examples", type=int, default=None, help="POWERMEM_FUZZ_EXAMPLES for every fuzz test")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw counters here")
    parser.add_argument("--own-neo4j", action="store_true",
                        help="run the Neo4j tests on a private server (scripts/neo4j-local's launcher on a free port)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    stores = sorted(s.strip() for s in args.stores.split(",") if s.strip())
    data, output, code, elapsed = run_suite(stores, args.quick, args.fuzz_examples, args.pytest_args, args.own_neo4j)
    print_report(data, output, code, elapsed, " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    if args.json is not None:
        args.json.write_text(json.dumps(data, indent=2, sort_keys=True))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
