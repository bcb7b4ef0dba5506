"""50 concurrent HTTP clients x 40 requests, adds and searches mixed: no error, nothing lost.

On Neo4j the full run takes about three minutes on the 2-core test machine, so by default it
makes 10 requests per client (still 50 at once) and the full 40 with ``--run-slow``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx2 as httpx
import pytest

from powermem import Memory
from powermem.cli.http import create_app
from tests.support.http_server import serving

CLIENTS, REQUESTS = 50, 40
USER = "load"


async def one_client(url: str, n: int, requests: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    # Each client its own connection pool: 50 real keep-alive connections, as 50 agents would open.
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for i in range(requests):
            if i % 2 == 0:
                response = await client.post("/v1/memories", json={
                    "messages": f"client {n} note {i}: likes topic {(n * REQUESTS + i) % 97}", "user_id": USER,
                    "metadata": {"client": n, "i": i}, "infer": False})
                added = response.status_code == 200 and len(response.json()["results"]) == 1
                outcomes["add ok" if added else f"add {response.status_code} {response.text[:200]}"] += 1
            else:
                response = await client.post("/v1/memories/search", json={
                    "query": f"topic {(n + i) % 97}", "user_id": USER, "limit": 5})
                searched = response.status_code == 200 and isinstance(response.json()["results"], list)
                outcomes["search ok" if searched else f"search {response.status_code} {response.text[:200]}"] += 1
    return outcomes


async def test_fifty_clients_lose_nothing(memory_config: dict[str, Any], store_kind: str,
                                         request: pytest.FixtureRequest) -> None:
    requests = REQUESTS if store_kind == "embedded" or request.config.getoption("--run-slow") else 10
    with Memory(memory_config) as m:
        m.reset()
    with serving(create_app(memory_config)) as url:
        results = await asyncio.gather(*(one_client(url, n, requests) for n in range(CLIENTS)))
        total: Counter[str] = sum(results, Counter())
        adds = CLIENTS * requests // 2
        assert total == Counter({"add ok": adds, "search ok": CLIENTS * requests - adds}), total
        async with httpx.AsyncClient(base_url=url) as client:
            listed = (await client.get("/v1/memories", params={"user_id": USER, "limit": 1})).json()
            everything = (await client.get("/v1/memories", params={"user_id": USER, "limit": 10_000})).json()
    assert listed["total"] == adds
    pairs = {(r["metadata"]["client"], r["metadata"]["i"]) for r in everything["results"]}
    assert pairs == {(n, i) for n in range(CLIENTS) for i in range(0, requests, 2)}
