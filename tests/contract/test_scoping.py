"""Tenants never see each other's memories; another tenant's id behaves as missing."""

from __future__ import annotations

import asyncio

from powermem import AsyncMemory


async def test_user_agent_and_run_scopes(memory: AsyncMemory) -> None:
    await memory.add("u1 general", user_id="u1", infer=False)
    await memory.add("u1 with agent", user_id="u1", agent_id="a1", infer=False)
    await memory.add("u1 in run", user_id="u1", agent_id="a1", run_id="r1", infer=False)
    await memory.add("u2 general", user_id="u2", infer=False)
    await memory.add("agent only", agent_id="a1", infer=False)

    async def texts(**scope: str) -> set[str]:
        return {r["memory"] for r in (await memory.get_all(**scope))["results"]}

    assert await texts(user_id="u1") == {"u1 general", "u1 with agent", "u1 in run"}
    assert await texts(user_id="u1", agent_id="a1") == {"u1 with agent", "u1 in run"}
    assert await texts(run_id="r1") == {"u1 in run"}
    assert await texts(agent_id="a1") == {"u1 with agent", "u1 in run", "agent only"}
    assert await texts(user_id="u2") == {"u2 general"}
    found = await memory.search("general", user_id="u2")
    assert {r["memory"] for r in found["results"]} == {"u2 general"}
    in_run = await memory.search("u1", user_id="u1", run_id="r1")
    assert {r["memory"] for r in in_run["results"]} == {"u1 in run"}


async def test_other_tenants_memory_behaves_as_missing(memory: AsyncMemory) -> None:
    mine = (await memory.add("Ivy's secret recipe uses saffron", user_id="ivy", infer=False))["results"][0]
    assert await memory.get(mine["id"], user_id="eve") is None
    assert await memory.get(mine["id"], user_id="ivy", agent_id="spy") is None
    assert await memory.update(mine["id"], content="hacked", user_id="eve") is None
    assert await memory.delete(mine["id"], user_id="eve") is False
    assert await memory.history(mine["id"], user_id="eve") == []
    assert (await memory.search("saffron recipe", user_id="eve"))["results"] == []
    assert (await memory.get_all(user_id="eve"))["total"] == 0
    assert await memory.delete_all(user_id="eve") == {"deleted": 0}
    still = await memory.get(mine["id"], user_id="ivy")
    assert still is not None and still["memory"] == "Ivy's secret recipe uses saffron"
    assert [e["event"] for e in await memory.history(mine["id"], user_id="ivy")] == ["ADD"]


async def test_fifty_concurrent_adds_all_persist(memory: AsyncMemory) -> None:
    results = await asyncio.gather(
        *(memory.add(f"Concurrent memory {i} mentions Zoe", user_id="load", infer=False) for i in range(50))
    )
    ids = {r["results"][0]["id"] for r in results}
    assert len(ids) == 50
    listed = await memory.get_all(user_id="load", limit=100)
    assert listed["total"] == 50 and {r["id"] for r in listed["results"]} == ids
