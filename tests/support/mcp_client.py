"""The official ``mcp`` client, held open on a background event loop so sync tests share one.

A module-scoped fixture starts one ``powermem mcp`` per store and transport; every test of the
module calls tools through the same session (``McpClient.call``), so the server's start-up
(and, on Neo4j, its schema check) is paid once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TextIO, TypeVar

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a spawned server: this checkout importable, no stray store settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "POWERMEM_", "LLM_", "EMBEDDING_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["POWERMEM_ENV_FILE"] = os.devnull  # no .env of the machine leaks in
    env.update(extra or {})
    return env


def mcp_command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "powermem.cli", "mcp", "--config", str(config), *extra]


@contextlib.asynccontextmanager
async def stdio_session(command: list[str], env: dict[str, str], errlog: TextIO) -> AsyncIterator[ClientSession]:
    """The server's stderr goes to ``errlog`` (a real file: the child process writes to it)."""
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(ROOT))
    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


class HttpServer:
    """``powermem mcp --transport http --port 0``: started, its URL read from stderr, stopped."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen([*command, "--transport", "http", "--port", "0"], env=env, cwd=ROOT,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.stderr: list[str] = []
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            if "serving http://" in line:
                url = line.split("serving ", 1)[1].strip()
                threading.Thread(target=self._drain, daemon=True).start()
                return url
        raise AssertionError(f"powermem mcp --transport http exited {self.process.wait()}: {''.join(self.stderr)}")

    def _drain(self) -> None:
        assert self.process.stderr is not None
        self.stderr.extend(self.process.stderr)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it: uvicorn shuts down and the store is closed."""
        self.process.terminate()
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


class McpClient:
    """One ClientSession on a private event loop thread; ``call`` is synchronous."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[ClientSession]]) -> None:
        self._connect = connect
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.session: ClientSession | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with self._connect() as session:
                self.session = session
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._failed = exc
            self._ready.set()

    def __enter__(self) -> McpClient:
        self._thread.start()
        self._ready.wait(timeout=120)
        if self._failed is not None or self.session is None:
            raise RuntimeError("the MCP session did not start") from self._failed
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        self._loop.close()

    def run(self, work: Callable[[ClientSession], Awaitable[T]], timeout: float = 120) -> T:
        assert self.session is not None
        session = self.session

        async def job() -> T:
            return await work(session)

        return asyncio.run_coroutine_threadsafe(job(), self._loop).result(timeout)

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return self.run(lambda s: s.call_tool(name, arguments or {}))


@contextlib.contextmanager
def stdio_client_thread(command: list[str], env: dict[str, str], errlog: Path) -> Iterator[McpClient]:
    with errlog.open("w") as log, McpClient(lambda: stdio_session(command, env, log)) as client:
        yield client
