"""Past one server: a routing URI works, and every read goes out in READ access mode, so a
cluster or Aura spreads reads over its members (writes go to the leader).

The local server is standalone, but it serves a routing table too (itself in every role), so
a ``neo4j://`` URI exercises the driver's routing path for real. The access mode of each
transaction is read where the driver takes it: the session's default mode for auto-commit
queries, the method for managed transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from neo4j import READ_ACCESS, WRITE_ACCESS, AsyncDriver, AsyncSession

from powermem import AsyncMemory

pytestmark = pytest.mark.neo4j


def routing_uri(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    assert sep and scheme in {"bolt", "neo4j"}, uri
    return f"neo4j://{rest}"


@pytest.fixture
def routed_config(neo4j_store_config: dict[str, Any]) -> dict[str, Any]:
    store = {**neo4j_store_config, "uri": routing_uri(neo4j_store_config["uri"])}
    return {"store": {"provider": "neo4j", **store}, "embedding": {"provider": "hashing", "dims": 64},
            "llm": {"provider": "none"}}


@pytest.fixture
def access_modes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The access mode of every transaction the driver runs, in order."""
    modes: list[str] = []
    defaults: dict[int, str] = {}
    open_session, run, execute_read, execute_write = (
        AsyncDriver.session, AsyncSession.run, AsyncSession.execute_read, AsyncSession.execute_write)

    def session(self: AsyncDriver, **config: Any) -> AsyncSession:
        opened = open_session(self, **config)
        defaults[id(opened)] = config.get("default_access_mode", WRITE_ACCESS)
        return opened

    async def recorded_run(self: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        modes.append(defaults.get(id(self), WRITE_ACCESS))
        return await run(self, *args, **kwargs)

    async def recorded_read(self: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        modes.append(READ_ACCESS)
        return await execute_read(self, *args, **kwargs)

    async def recorded_write(self: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        modes.append(WRITE_ACCESS)
        return await execute_write(self, *args, **kwargs)

    monkeypatch.setattr(AsyncDriver, "session", session)
    monkeypatch.setattr(AsyncSession, "run", recorded_run)
    monkeypatch.setattr(AsyncSession, "execute_read", recorded_read)
    monkeypatch.setattr(AsyncSession, "execute_write", recorded_write)
    yield modes


async def test_a_routing_uri_serves_the_whole_api(routed_config: dict[str, Any]) -> None:
    async with AsyncMemory(routed_config) as m:
        await m.reset()
        added = await m.add([{"role": "user", "content": "Maya lives in Porto"},
                             {"role": "user", "content": "Maya works at Acme"}], user_id="maya", infer=False)
        ids = [r["id"] for r in added["results"]]
        assert len(ids) == 2
        found = await m.search("where does Maya live", user_id="maya")
        assert found["results"][0]["memory"] == "Maya lives in Porto"
        await m.update(ids[1], "Maya works at Initech")
        assert (await m.get(ids[1]))["memory"] == "Maya works at Initech"
        assert [e["event"] for e in await m.history(ids[1])] == ["ADD", "UPDATE"]
        await m.delete(ids[0])
        assert [r["memory"] for r in (await m.get_all(user_id="maya"))["results"]] == ["Maya works at Initech"]


async def test_every_read_goes_out_in_read_access_mode(routed_config: dict[str, Any], access_modes: list[str]) -> None:
    async with AsyncMemory(routed_config) as m:
        await m.reset()
        added = await m.add([{"role": "user", "content": f"Maya met Daniel on day {i}"} for i in range(5)],
                            user_id="maya", infer=False)
        memory_id = added["results"][0]["id"]
        assert WRITE_ACCESS in access_modes  # the recorder sees writes: the check below can fail
        access_modes.clear()
        await m.search("when did Maya meet Daniel", user_id="maya")
        await m.search("Daniel", user_id="maya", as_of="2100-01-01")
        await m.get_all(user_id="maya")
        await m.get_all(user_id="maya", include_invalidated=True)
        await m.get(memory_id)
        await m.history(memory_id)
        assert len(access_modes) >= 10
        assert set(access_modes) == {READ_ACCESS}
