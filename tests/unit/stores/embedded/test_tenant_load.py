"""Loading a tenant's vectors leaves no mapped table pages resident beside its matrix.

Measured in a fresh process (its resident file pages, /proc/self/status RssFile) around the
first search, which loads the tenant: read through the file mapping, every page of the
memories table stays resident, as much again as the matrix at a million memories.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from powermem import AsyncMemory

ROWS = 16_000
DIMS = 384
PROBE = """
import asyncio, json, sys
from powermem import AsyncMemory

def resident_file_kib():
    lines = open("/proc/self/status").read().splitlines()
    return int(next(line.split()[1] for line in lines if line.startswith("RssFile:")))

async def main():
    config = json.loads(sys.argv[1])
    async with AsyncMemory(config) as m:
        before = resident_file_kib()
        found = await m.search("Maya memory 17", user_id="maya", limit=5)
        mapped = m._store.engine._conn.execute("PRAGMA mmap_size").fetchone()[0]
        print(json.dumps({"grew_kib": resident_file_kib() - before, "results": len(found["results"]),
                          "mmap_size": mapped}))

asyncio.run(main())
"""


def config(path: Path) -> dict[str, object]:
    return {"store": {"provider": "embedded", "path": str(path)}, "embedding": {"provider": "hashing", "dims": DIMS},
            "llm": {"provider": "none"}, "search": {"preset": "vector"}}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
async def test_the_first_search_does_not_map_the_whole_table(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with AsyncMemory(config(path)) as m:
        for start in range(0, ROWS, 1_000):
            await m.add([{"role": "user", "content": f"Maya memory {i}"} for i in range(start, start + 1_000)],
                        user_id="maya", infer=False)
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps(config(path))], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[4])
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert probe["results"] == 5
    embeddings_kib = ROWS * DIMS * 4 // 1024  # 24,000 KiB of vectors read by the load
    assert probe["grew_kib"] < embeddings_kib // 4, probe
    assert probe["mmap_size"] == 1 << 30  # the mapping is back for the searches that follow
