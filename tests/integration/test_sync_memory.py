"""The sync Memory facade from a plain script, from threads, and inside a running loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from powermem import Memory


def config(tmp_path: Path) -> dict:
    return {"store": {"path": str(tmp_path / "sync.db")}, "embedding": {"provider": "hashing"}}


def test_plain_script(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from powermem import Memory
        m = Memory({config(tmp_path)!r})
        added = m.add("Jack builds boats", user_id="jack", infer=False)
        print(m.search("boats", user_id="jack")["results"][0]["memory"])
        print(m.get_all(user_id="jack")["total"])
        m.close()
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == ["Jack builds boats", "1"]


def test_inside_a_running_event_loop(tmp_path: Path) -> None:
    async def notebook_cell() -> list[str]:
        with Memory(config(tmp_path)) as m:  # as in Jupyter: a loop is already running here
            m.add("Kate paints murals", user_id="kate", infer=False)
            return [r["memory"] for r in m.search("murals", user_id="kate")["results"]]

    assert asyncio.run(notebook_cell()) == ["Kate paints murals"]


def test_many_threads_share_one_memory(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Memory(config(tmp_path)) as m:

        def worker(n: int) -> None:
            try:
                for i in range(10):
                    m.add(f"thread {n} note {i}", user_id="threads", infer=False)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert m.get_all(user_id="threads", limit=200)["total"] == 80


def test_sync_methods_mirror_async(tmp_path: Path) -> None:
    with Memory(config(tmp_path)) as m:
        added = m.add("Leo swims", user_id="leo", infer=False)["results"][0]
        assert m.update(added["id"], content="Leo swims daily", user_id="leo")["memory"] == "Leo swims daily"
        assert [e["event"] for e in m.history(added["id"])] == ["ADD", "UPDATE"]
        assert m.delete(added["id"], user_id="leo") is True
        assert m.delete_all(user_id="leo") == {"deleted": 0}
        with pytest.raises(ValueError):
            m.delete_all()
        m.reset()
