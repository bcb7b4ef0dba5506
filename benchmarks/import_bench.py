"""Bulk import throughput of ``powermem import``, run as a user runs it (the CLI, in a subprocess).

Imports the LoCoMo conversations (../shared/data/locomo-dev.json: 5 conversations, 2,760
turns, one memory per turn) into a fresh store and prints wall time and memories/s. The
import's own progress lines (stderr is not a terminal here) go to this script's stderr, so
they show in the log.

    .venv/bin/python benchmarks/import_bench.py                         # embedded store, local MiniLM
    .venv/bin/python benchmarks/import_bench.py --store neo4j           # NEO4J_* env vars (scripts/neo4j-local)
    .venv/bin/python benchmarks/import_bench.py --batch-sizes 16,64,256 --embedding hashing

On Neo4j the conversations' users (conv-26, ...) are deleted before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def default_data() -> Path:
    shared = os.environ.get("POWERMEM_SHARED_DIR")
    return (Path(shared) if shared else ROOT.parent / "shared" / "data") / "locomo-dev.json"


def cli(env: dict[str, str], *argv: str, stream: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "powermem.cli", *argv]
    # stderr passes through when streaming: the progress lines belong in the benchmark's log.
    return subprocess.run(command, env=env, cwd=ROOT, text=True, check=True, stdout=subprocess.PIPE,
                          stderr=None if stream else subprocess.PIPE)


def environment(store: str, folder: Path, embedding: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "EMBEDDING_PROVIDER": embedding, "PYTHONPATH": path, "HOME": str(folder),
           "POWERMEM_ENV_FILE": str(folder / "absent.env")}
    if store == "embedded":
        env.pop("NEO4J_URI", None)
        env.update({"POWERMEM_STORE": "embedded", "POWERMEM_PATH": str(folder / "bench.db")})
    else:
        if not env.get("NEO4J_URI"):
            raise SystemExit("--store neo4j needs NEO4J_URI (and NEO4J_USERNAME/NEO4J_PASSWORD); "
                             "scripts/neo4j-local start && . .neo4j/5.26/env")
        env["POWERMEM_STORE"] = "neo4j"
    return env


def run_once(store: str, data: Path, batch_size: int, embedding: str, users: list[str]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="import-bench-"))
    env = environment(store, folder, embedding)
    if store == "neo4j":
        for user in users:
            cli(env, "delete-all", "--user", user)
    print(f"\n$ powermem import {data.name} --batch-size {batch_size}   (store={store}, embedding={embedding})",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = cli(env, "import", str(data), "--batch-size", str(batch_size), "--fresh", "--json", stream=True)
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    stats = json.loads(cli(env, "stats", "--json").stdout)["tenants"]
    stored = sum(t["memories"] for t in stats if t["user_id"] in users)
    return {"store": store, "embedding": embedding, "batch": batch_size, "memories": report["memories"],
            "stored": stored, "import_s": report["seconds"], "wall_s": wall,
            "per_s": report["memories"] / report["seconds"], "wall_per_s": report["memories"] / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--batch-sizes", default="256")
    parser.add_argument("--embedding", default="local", choices=["local", "hashing"])
    args = parser.parse_args()
    users = [str(s["sample_id"]) for s in json.loads(args.data.read_text())]
    rows = [run_once(args.store, args.data, int(b), args.embedding, users) for b in args.batch_sizes.split(",")]
    print("\n| store | embedding | batch | memories | import s | memories/s | wall s (incl. start-up) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        assert r["stored"] == r["memories"], f"stored {r['stored']} != imported {r['memories']}"
        print(f"| {r['store']} | {r['embedding']} | {r['batch']} | {r['memories']} | {r['import_s']:.1f} | "
              f"{r['per_s']:.0f} | {r['wall_s']:.1f} |")


if __name__ == "__main__":
    main()
