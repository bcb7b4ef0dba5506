"""powermem runs its numpy work on one BLAS thread without the user setting an environment variable.

The setting is process-wide, so each case runs in a fresh interpreter that starts with two BLAS
threads (raised on its main thread, as an application would, whatever this machine's cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from powermem._blas import blas_threads

pytestmark = pytest.mark.skipif(not blas_threads(), reason="numpy here links no BLAS that threadpoolctl can drive")

_PRELUDE = """
import asyncio, json, sys
from threadpoolctl import threadpool_limits
threadpool_limits(limits=2, user_api="blas")
from powermem._blas import blas_threads
before = blas_threads()
"""


def _run(body: str, tmp_path: Path) -> dict[str, list[int]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    script = textwrap.dedent(_PRELUDE) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[int]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_opening_an_embedded_store_lowers_blas_to_one_thread(tmp_path: Path) -> None:
    seen = _run("""
        from powermem import AsyncMemory
        async def main():
            config = {"store": {"provider": "embedded", "path": "m.db"}, "embedding": {"provider": "hashing"},
                      "llm": {"provider": "none"}}
            async with AsyncMemory(config) as memory:
                await memory.add("Alice likes green tea", user_id="u", infer=False)
                found = await memory.search("green tea", user_id="u")
                assert found["results"], found
                return blas_threads()
        print(json.dumps({"before": before, "open": asyncio.run(main())}))
    """, tmp_path)
    assert seen == {"before": [2] * len(seen["before"]), "open": [1] * len(seen["before"])}


def test_the_local_model_lowers_blas_when_it_loads(tmp_path: Path) -> None:
    seen = _run("""
        from powermem.embeddings.local import LocalEmbedder
        embedder = LocalEmbedder()
        constructed = blas_threads()
        vectors = embedder.encode(["Alice likes green tea"])
        assert vectors.shape == (1, 384)
        print(json.dumps({"before": before, "constructed": constructed, "encoded": blas_threads()}))
    """, tmp_path)
    two, one = [2] * len(seen["before"]), [1] * len(seen["before"])
    assert seen == {"before": two, "constructed": two, "encoded": one}


def test_an_application_that_raises_it_again_keeps_its_setting(tmp_path: Path) -> None:
    """Lowered once per process, not on every call: a later raise by the application stands."""
    seen = _run("""
        from powermem import AsyncMemory
        async def main():
            config = {"store": {"provider": "embedded", "path": "m.db"}, "embedding": {"provider": "hashing"},
                      "llm": {"provider": "none"}}
            async with AsyncMemory(config):
                pass
            threadpool_limits(limits=2, user_api="blas")
            async with AsyncMemory(config) as memory:
                await memory.search("tea", user_id="u")
                return blas_threads()
        print(json.dumps({"before": before, "after": asyncio.run(main())}))
    """, tmp_path)
    assert seen["after"] == [2] * len(seen["before"])
