"""The mounting contract of ``powermem.cli.mcp`` (module docstring) that ``powermem serve`` relies on.

A FastAPI app routes ``mcp_http_endpoint(...).app`` at ``/mcp``, runs its lifespan, and hands the
tools its shared AsyncMemory through an async getter; an ``authorize`` hook sees the HTTP request
and refuses a user. Driven by the official client over a real uvicorn on a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from fastapi import FastAPI
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from powermem import AsyncMemory
from powermem.cli.mcp import build_mcp_server, mcp_http_endpoint
from powermem.stores.base import Scope


def _refuse_mallory(request: Any, scope: Scope) -> None:
    assert request is not None and request.url.path == "/mcp"  # the host's HTTP request reaches the hook
    if scope.user_id == "mallory" or request.headers.get("x-user") == "blocked":
        raise PermissionError(f"this key may not touch user {scope.user_id}")


@contextlib.asynccontextmanager
async def _host(tmp_path: Path) -> AsyncIterator[str]:
    config = {"store": {"provider": "embedded", "path": str(tmp_path / "p.db")},
              "embedding": {"provider": "hashing", "dims": 64}, "llm": {"provider": "none"}}
    shared: dict[str, AsyncMemory] = {}

    async def get_memory() -> AsyncMemory:
        return shared["memory"]

    endpoint = mcp_http_endpoint(build_mcp_server(get_memory, default_user_id="alice", authorize=_refuse_mallory))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncMemory(config) as memory, endpoint.lifespan():
            shared["memory"] = memory
            yield

    app = FastAPI(lifespan=lifespan)
    app.add_route("/mcp", endpoint.app, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[assignment,method-assign]  # not the test's signals
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_mounted_endpoint_serves_the_tools_with_the_hosts_memory(tmp_path: Path) -> None:
    async with _host(tmp_path) as base:
        async with streamable_http_client(f"{base}/mcp") as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            assert len((await session.list_tools()).tools) == 9
            added = await session.call_tool("add_memory", {"content": "Likes green tea", "infer": False})
            assert not added.is_error and added.structured_content["results"][0]["user_id"] == "alice"
            found = await session.call_tool("search_memories", {"query": "green tea"})
            assert found.structured_content["results"][0]["memory"] == "Likes green tea"
            refused = await session.call_tool("search_memories", {"query": "tea", "user_id": "mallory"})
            assert refused.is_error and "forbidden: this key may not touch user mallory" in refused.content[0].text
            assert not (await session.call_tool("list_memories", {})).is_error  # still serving


async def test_a_foreign_host_header_is_refused_on_loopback(tmp_path: Path) -> None:
    """DNS-rebinding protection: a page on another origin cannot drive the loopback endpoint."""
    async with _host(tmp_path) as base, httpx2.AsyncClient() as client:
        response = await client.post(f"{base}/mcp", headers={"Host": "attacker.example", "Accept": "application/json"},
                                     json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert response.status_code in (403, 421)
