"""``powermem serve``: the HTTP API (FastAPI), for agents in any runtime.

Routes under ``/v1`` call the one AsyncMemory of the process and return the Python API's
records through :func:`powermem.cli.wire.to_wire` (ids as strings). Errors are JSON
``{"error": {"type", "message"}}``: 400 bad input, 401/403 keys, 404 missing, 413 body
too large, 422 a body of the wrong shape, 503 store or model unreachable. See docs/http.md.

``powermem serve`` also serves the MCP tools (``powermem.cli.mcp``) at ``/mcp`` over the same
AsyncMemory, behind the same keys and body limit (``create_app(..., mcp=True)``). A key
bound to user ids reaches only those users there too: the tools check each call's scope
against the request's key (``mcp_authorizer``).

Mounting another ASGI app on the same server::

    app = create_app(config, mounts=[Mount("/extra", extra_app, extra_lifespan)])

``Mount.lifespan`` is a factory of an async context manager that runs inside the app's
lifespan, after the memory is open and before it closes. The memory is initialized and
closed by the app, whoever built it. A mounted app that cannot check users itself
(``checks_users`` False) is reached only with keys not bound to user ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from powermem import __version__
from powermem._admin import graph_of, store_of
from powermem._memory import AsyncMemory
from powermem._validate import page_size, scope_of
from powermem.cli.http_guard import ApiError, BodyLimit, Caller, GuardedMount, KeyRing, caller_of, error_response
from powermem.cli.http_models import (
    AddBody,
    AddOut,
    DeletedAllOut,
    DeletedOut,
    ErrorBody,
    GraphOut,
    HistoryOut,
    ListOut,
    MemoryOut,
    SearchBody,
    SearchOut,
    UpdateBody,
)
from powermem.cli.wire import error_status, error_type, to_wire
from powermem.config import MemoryConfig
from powermem.errors import InvalidFilterError, InvalidInputError, PowermemError, StoreError
from powermem.ids import parse_id
from powermem.limits import MAX_GET_ALL_LIMIT
from powermem.records import memory_record
from powermem.stores.base import Scope

__all__ = ["Mount", "ServerState", "create_app", "mcp_authorizer", "mcp_mount", "serve"]

logger = logging.getLogger("powermem.http")


@dataclass
class ServerState:
    """What the server shares between requests (and with mounted apps): the one AsyncMemory."""

    memory: AsyncMemory


@dataclass(frozen=True)
class Mount:
    """An ASGI app served at ``path``, with an optional lifespan run inside the server's."""

    path: str
    app: ASGIApp
    lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None
    checks_users: bool = False  # True: bound keys pass, and the app checks ``caller_of`` itself


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 422, 503)
}


# -- the app --------------------------------------------------------------------------------------


def create_app(config: MemoryConfig | dict[str, Any], *, state: ServerState | None = None,
               mounts: Sequence[Mount] = (), mcp: bool = False, host: str | None = None) -> FastAPI:
    """The API over ``state.memory`` (a new AsyncMemory of ``config`` when None).

    ``mcp``: also the MCP tools at ``/mcp``; ``host`` is the address served (default
    ``server.host``), which decides the MCP endpoint's DNS-rebinding protection.
    """
    cfg = MemoryConfig.from_any(config)
    shared = state or ServerState(AsyncMemory(cfg))
    keys = KeyRing(cfg.server.api_keys)
    if mcp:
        mounts = [*mounts, mcp_mount(cfg, shared, host or cfg.server.host)]

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(shared.memory.close)
            await _open(shared.memory)
            for mount in mounts:
                if mount.lifespan is not None:
                    await stack.enter_async_context(mount.lifespan())
            # Everything built at startup lives as long as the server: out of the collector's
            # sight, a full collection during a request walks only what requests made.
            gc.freeze()
            yield

    app = FastAPI(title="powermem", version=__version__, lifespan=lifespan,
                  description="A graph + vector memory store for AI agents. Ids are decimal strings.")
    app.state.powermem = shared  # for mounted apps and tests: the one AsyncMemory
    app.state.keys = keys
    app.include_router(_routes(shared), prefix="/v1", responses=_ERRORS)
    app.add_api_route("/healthz", _healthz(shared, cfg), methods=["GET"], tags=["health"],
                      summary="200 when the store answers, 503 when it does not")
    for mount in mounts:
        app.mount(mount.path, GuardedMount(mount.app, keys, checks_users=mount.checks_users))
    _error_handlers(app)
    app.add_middleware(BodyLimit, limit=cfg.server.max_body_bytes)
    app.add_middleware(_MountRoots, paths=[m.path.rstrip("/") for m in mounts])
    return app


def mcp_mount(config: MemoryConfig, state: ServerState, host: str) -> Mount:
    """The MCP streamable-HTTP endpoint over the server's memory, checking keys' user binding."""
    from powermem.cli.mcp import build_mcp_server, mcp_http_endpoint

    server = build_mcp_server(state.memory, default_user_id=config.server.user_id, authorize=mcp_authorizer)
    endpoint = mcp_http_endpoint(server, host=host, max_body_bytes=config.server.max_body_bytes)
    return Mount("/mcp", endpoint.app, endpoint.lifespan, checks_users=True)


def mcp_authorizer(request: Any, scope: Scope) -> None:
    """Refuse an MCP tool call whose scope the request's API key may not touch."""
    caller = caller_of(request.scope) if request is not None else None
    if caller is None:  # no keys configured, or a call made in process
        return
    try:
        caller.check(scope.user_id)
    except ApiError as exc:
        raise PermissionError(exc.detail) from None


class _MountRoots:
    """``/mcp`` is served as ``/mcp/``: a client POSTing to the bare path must not get a redirect."""

    def __init__(self, app: ASGIApp, paths: list[str]) -> None:
        self.app, self.paths = app, frozenset(paths)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] in self.paths:
            scope = {**scope, "path": scope["path"] + "/", "raw_path": scope.get("raw_path", b"").rstrip(b"/") + b"/"}
        await self.app(scope, receive, send)


async def _open(memory: AsyncMemory) -> None:
    """Open the store at start-up; an unreachable one is retried on each request (healthz: 503)."""
    try:
        await memory.initialize()
    except StoreError as exc:
        logger.warning("the store is not reachable yet (%s); requests will retry", exc)


# -- routes ---------------------------------------------------------------------------------------


def _caller(request: Request) -> Caller:
    """Who the request acts as (401 without a known key when keys are configured)."""
    keys: KeyRing = request.app.state.keys
    return keys.caller(request.headers)


# Module level: FastAPI resolves these (string) annotations in the module's namespace.
Who = Annotated[Caller, Depends(_caller)]
User = Annotated[str | None, Query(description="Scope: user id")]
Agent = Annotated[str | None, Query(description="Scope: agent id")]
Run = Annotated[str | None, Query(description="Scope: run id")]


def _routes(state: ServerState) -> APIRouter:
    router = APIRouter(tags=["memories"])
    mem = state.memory

    @router.post("/memories", response_model=AddOut, summary="Add messages as memories")
    async def add(body: AddBody, who: Who) -> JSONResponse:
        who.check(body.user_id)
        result = await mem.add(body.messages, body.user_id, body.agent_id, body.run_id, body.metadata,
                               body.filters, body.infer, body.timestamp)
        return _json(result)

    @router.post("/memories/search", response_model=SearchOut, summary="Hybrid search, best first")
    async def search(body: SearchBody, who: Who) -> JSONResponse:
        who.check(body.user_id)
        return _json(await mem.search(body.query, body.user_id, body.agent_id, body.run_id, body.filters,
                                      body.limit, body.threshold, body.as_of))

    @router.get("/memories", response_model=ListOut, summary="List a scope's memories (get_all)")
    async def list_memories(
        who: Who, user_id: User = None, agent_id: Agent = None, run_id: Run = None, limit: int = 100,
        offset: int = 0, filters: Annotated[str | None, Query(description="JSON filter object")] = None,
        sort_by: str = "created_at", order: str = "desc",
        as_of: Annotated[str | None, Query(description="ISO-8601: as things were then")] = None,
        include_invalidated: Annotated[bool, Query(description="superseded relations too, with their times")] = False,
    ) -> JSONResponse:
        who.check(user_id)
        return _json(await mem.get_all(user_id, agent_id, run_id, limit, offset, _filters(filters), sort_by, order,
                                       as_of, include_invalidated))

    @router.delete("/memories", response_model=DeletedAllOut, summary="Delete every memory of a scope")
    async def delete_all(who: Who, user_id: User = None, agent_id: Agent = None, run_id: Run = None) -> JSONResponse:
        who.check(user_id)
        if user_id is None and agent_id is None and run_id is None:
            raise InvalidInputError("DELETE /v1/memories needs user_id, agent_id or run_id")
        return _json(await mem.delete_all(user_id, agent_id, run_id))

    @router.get("/memories/{memory_id}", response_model=MemoryOut, summary="One memory")
    async def get(memory_id: str, who: Who, user_id: User = None, agent_id: Agent = None) -> JSONResponse:
        who.check(user_id)
        return _json(_found(await mem.get(memory_id, user_id, agent_id), memory_id))

    @router.put("/memories/{memory_id}", response_model=MemoryOut, operation_id="update_memory",
                summary="Change a memory's text and/or merge its metadata")
    @router.patch("/memories/{memory_id}", response_model=MemoryOut, operation_id="patch_memory",
                  summary="The same as PUT: content replaces, metadata merges")
    async def update(memory_id: str, body: UpdateBody, who: Who, user_id: User = None,
                     agent_id: Agent = None) -> JSONResponse:
        who.check(user_id)
        record = await mem.update(memory_id, body.content, user_id, agent_id, body.metadata)
        return _json(_found(record, memory_id))

    @router.delete("/memories/{memory_id}", response_model=DeletedOut, summary="Delete one memory")
    async def delete(memory_id: str, who: Who, user_id: User = None, agent_id: Agent = None) -> JSONResponse:
        who.check(user_id)
        if not await mem.delete(memory_id, user_id, agent_id):
            raise _not_found(memory_id)
        return _json({"id": parse_id(memory_id), "deleted": True})

    @router.get("/memories/{memory_id}/history", response_model=list[HistoryOut],
                summary="A memory's ADD/UPDATE/DELETE events, oldest first")
    async def history(memory_id: str, who: Who, user_id: User = None, agent_id: Agent = None) -> JSONResponse:
        who.check(user_id)
        # Every memory that ever existed has its ADD event: none at all means no such memory.
        return _json(_found(await mem.history(memory_id, user_id, agent_id) or None, memory_id))

    @router.get("/graph", response_model=GraphOut, tags=["graph"],
                summary="A scope's graph: memories, entities, mentions and relations (invalidated ones too)")
    async def graph(who: Who, user_id: User = None, agent_id: Agent = None, run_id: Run = None,
                    limit: Annotated[int, Query(description="At most this many memories, oldest first")] = 1000,
                    ) -> JSONResponse:
        who.check(user_id)
        scope = scope_of(user_id, agent_id, run_id, required=True)
        return _json(await _graph(mem, scope, page_size(limit, "limit", MAX_GET_ALL_LIMIT, "graph")))

    return router


def _json(result: Any) -> JSONResponse:
    return JSONResponse(to_wire(result))


def _found(value: Any, memory_id: str) -> Any:
    if value is None:
        raise _not_found(memory_id)
    return value


def _not_found(memory_id: str) -> ApiError:
    return ApiError(404, "NotFound", f"no memory {memory_id.strip()[:40]!r} in this scope")


def _filters(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFilterError(f"filters is not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InvalidFilterError(f"filters must be a JSON object, not {type(value).__name__}")
    return value


async def _graph(memory: AsyncMemory, scope: Scope, limit: int) -> dict[str, Any]:
    g = await graph_of(memory, scope, limit)
    return {
        "memories": [memory_record(m) for m in g.memories],
        "entities": [{"id": e.id, "name": e.name, "type": e.type} for e in g.entities.values()],
        "mentions": [{"memory_id": m, "entity_id": str(e)} for m, e in g.mentions],
        "relations": [{"id": r.id, "source": r.source, "relationship": r.relationship,
                       "destination": r.destination, "source_id": str(r.source_id),
                       "destination_id": str(r.destination_id), "fact": r.fact, "memory_ids": list(r.memory_ids),
                       "valid_at": r.valid_at, "invalid_at": r.invalid_at, "origin": r.origin,
                       "family": r.family} for r in g.relations],
        "truncated": g.truncated,
    }


def _healthz(state: ServerState, cfg: MemoryConfig) -> Callable[[], Any]:
    async def healthz() -> JSONResponse:
        try:
            store = await store_of(state.memory)
            # One cheap read: a store that answers it is reachable (id 1 need not exist).
            await asyncio.wait_for(store.get(1, Scope()), cfg.store.connection_timeout)
        except (PowermemError, TimeoutError) as exc:
            kind = "StoreError" if isinstance(exc, TimeoutError) else error_type(exc)
            body = {"status": "unavailable", "error": {"type": kind, "message": str(exc) or "store timed out"}}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "store": cfg.store.provider})

    return healthz


# -- errors ---------------------------------------------------------------------------------------


def _error_handlers(app: FastAPI) -> None:
    async def powermem_error(_: Request, exc: Exception) -> JSONResponse:
        status = error_status(exc)
        if status >= 500:
            logger.warning("%s: %s", error_type(exc), exc)
        return error_response(status, error_type(exc), str(exc))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        kind = exc.kind if isinstance(exc, ApiError) else HTTPStatus(exc.status_code).phrase.replace(" ", "")
        return error_response(exc.status_code, kind, str(exc.detail), exc.headers)

    async def invalid_body(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Field names are the client's text: each problem is clipped, so a 4 MiB key is not echoed.
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"[:300] for e in exc.errors()[:10]]
        return error_response(422, "RequestValidationError", "; ".join(problems))

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error", exc_info=exc)
        return error_response(500, "InternalError", "internal server error")

    app.add_exception_handler(PowermemError, powermem_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_body)
    app.add_exception_handler(Exception, unexpected)


# -- serving --------------------------------------------------------------------------------------


def serve(config: MemoryConfig, host: str | None = None, port: int | None = None, *, access_log: bool = False) -> None:
    """Run the API with uvicorn until interrupted (``powermem serve``; ``-v`` logs each request)."""
    server = config.server
    uvicorn.run(create_app(config, mcp=True, host=host), host=host or server.host, port=server.port if port is None else port,
                server_header=False, log_level="info", access_log=access_log)
