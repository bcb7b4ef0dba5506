"""``powermem serve`` also serves the MCP tools at ``/mcp``: the same memory, the same keys.

A key bound to user ids reaches only those users through the tools too (each call's scope is
checked against the request's key); an unbound key reaches any; no key gets 401. On both
stores, with the official MCP client over a real uvicorn on a loopback port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from powermem import Memory
from powermem.cli.http import create_app
from tests.support.http_server import serving

ADMIN, ALICE_KEY = "admin-key-0123", "alice-key-4567"


@pytest.fixture
def base_url(memory_config: dict[str, Any]) -> Iterator[str]:
    config = {**memory_config, "server": {"user_id": "alice",
                                          "api_keys": [{"key": ADMIN}, {"key": ALICE_KEY, "user_ids": ["alice"]}]}}
    with Memory(config) as m:
        m.reset()
    with serving(create_app(config, mcp=True)) as url:
        yield url


@contextlib.asynccontextmanager
async def mcp_session(base_url: str, key: str) -> AsyncIterator[ClientSession]:
    async with httpx.AsyncClient(headers={"X-API-Key": key}, timeout=60) as client, \
            streamable_http_client(f"{base_url}/mcp", http_client=client) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


def http_add(base_url: str, text: str, user_id: str) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/v1/memories", headers={"X-API-Key": ADMIN},
                          json={"messages": text, "user_id": user_id, "infer": False})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]  # type: ignore[no-any-return]


def http_texts(base_url: str, user_id: str) -> list[str]:
    response = httpx.get(f"{base_url}/v1/memories", params={"user_id": user_id}, headers={"X-API-Key": ADMIN})
    assert response.status_code == 200, response.text
    return sorted(r["memory"] for r in response.json()["results"])


async def test_the_tools_and_the_api_share_one_memory(base_url: str) -> None:
    added_over_http = http_add(base_url, "Bob plays the cello", "bob")
    async with mcp_session(base_url, ADMIN) as session:
        assert len((await session.list_tools()).tools) == 9
        found = await session.call_tool("search_memories", {"query": "cello", "user_id": "bob"})
        assert not found.is_error
        assert [r["id"] for r in found.structured_content["results"]] == [added_over_http["id"]]
        added = await session.call_tool("add_memory", {"content": "Alice hikes on Sundays", "infer": False})
        assert not added.is_error and added.structured_content["results"][0]["user_id"] == "alice"  # server.user_id
    assert http_texts(base_url, "alice") == ["Alice hikes on Sundays"]


async def test_a_bound_key_reaches_only_its_users_through_the_tools(base_url: str) -> None:
    bobs = http_add(base_url, "Bob plays the cello", "bob")
    async with mcp_session(base_url, ALICE_KEY) as session:
        added = await session.call_tool("add_memory", {"content": "Alice likes rye bread", "infer": False})
        assert not added.is_error, added.content
        mine = await session.call_tool("list_memories", {"user_id": "alice"})
        assert [r["memory"] for r in mine.structured_content["results"]] == ["Alice likes rye bread"]
        for tool, arguments in [("search_memories", {"query": "cello", "user_id": "bob"}),
                                ("list_memories", {"user_id": "bob"}),
                                ("delete_all_memories", {"user_id": "bob"}),
                                ("add_memory", {"content": "Bob is mine now", "user_id": "bob", "infer": False}),
                                ("memory_history", {"memory_id": bobs["id"], "user_id": "bob"}),
                                ("delete_memory", {"memory_id": bobs["id"], "user_id": "bob"})]:
            refused = await session.call_tool(tool, arguments)
            assert refused.is_error, (tool, refused.content)
            assert "bound to user ids" in refused.content[0].text or "may not act" in refused.content[0].text
    assert http_texts(base_url, "bob") == ["Bob plays the cello"]  # the refused calls changed nothing


def test_the_tools_need_a_known_key(base_url: str) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    for key in (None, "not-a-key"):
        sent = {**headers, **({"X-API-Key": key} if key else {})}
        response = httpx.post(f"{base_url}/mcp", json=initialize, headers=sent)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["type"] == "Unauthorized"
    assert httpx.post(f"{base_url}/mcp", json=initialize, headers={**headers, "X-API-Key": ADMIN}).status_code == 200
