"""``powermem mcp``: the memory as Model Context Protocol tools (official ``mcp`` SDK, 2.x).

An agent in Claude Desktop, Cursor, Claude Code or any MCP client gets nine tools:
``add_memory``, ``search_memories``, ``get_memory``, ``update_memory``, ``delete_memory``,
``delete_all_memories``, ``list_memories``, ``memory_history`` and ``related_entities``.
Every result is compact JSON text (what the model reads) plus the same value as structured
content (what the application reads), ids as decimal strings (``cli.wire``). Bad input, a
missing memory or an unreachable store comes back as a tool error (``isError``) whose message
says what was wrong; the server keeps serving.

Scope: ``default_user_id`` (``--user-id`` / ``POWERMEM_USER_ID``) is the user of every call
that names none, so a desktop agent need not pass one. ``delete_all_memories`` acts only on a
scope the call names itself: the default alone never empties a store.

Mounting the streamable-HTTP endpoint in another ASGI server (``powermem serve`` does)::

    from powermem.cli.mcp import build_mcp_server, mcp_http_endpoint

    endpoint = mcp_http_endpoint(build_mcp_server(shared_memory, default_user_id=config.server.user_id),
                                 host=config.server.host, max_body_bytes=config.server.max_body_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with endpoint.lifespan():          # the session manager's task group; once per process
            yield

    app = FastAPI(lifespan=lifespan)
    app.add_route("/mcp", endpoint.app, methods=["GET", "POST", "DELETE"], include_in_schema=False)

``endpoint.app`` answers the MCP endpoint at whatever path it is routed to (an exact route at
``/mcp`` serves ``POST /mcp`` without a slash redirect; ``app.mount("/mcp", endpoint.app)``
serves ``/mcp/``). ``shared_memory`` is an ``AsyncMemory`` or an async function returning the
host's shared one, called on each tool call. The host authenticates the HTTP request; to
restrict which users a request may touch, pass ``authorize=`` to ``build_mcp_server``: it gets
the transport's request (a Starlette ``Request`` over HTTP, ``None`` over stdio) and the scope
a tool is about to use, and raises ``PermissionError`` to refuse (a tool error, nothing done).
"""

import asyncio
import contextlib
import inspect
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from powermem import __version__
from powermem._admin import Neighbourhood, entity_neighbourhood
from powermem._memory import AsyncMemory
from powermem._validate import scope_of
from powermem.cli.wire import error_type, to_wire
from powermem.config import MemoryConfig
from powermem.errors import ConfigError, PowermemError
from powermem.records import memory_record
from powermem.stores.base import EntityRow, RelationRow, Scope

__all__ = ["Authorizer", "McpHttpEndpoint", "MemorySource", "build_mcp_server", "mcp_http_endpoint", "serve_http",
           "serve_stdio"]

logger = logging.getLogger("powermem")

MemorySource = AsyncMemory | Callable[[], Awaitable[AsyncMemory]]
Authorizer = Callable[[Any, Scope], None]

INSTRUCTIONS = """\
Long-term memory for this user, kept across conversations (powermem: a graph + vector store).
A memory is one short fact or preference in plain language ("Prefers window seats",
"Works at Acme in Berlin"); entities and relations between them are extracted into a graph.
- Before answering anything personal or about earlier work, call search_memories with the
  user's question; use what it returns, and do not claim to remember what it did not return.
- When the user states something worth remembering later (a preference, a plan, a fact about
  themself, their work or people they know), call add_memory with it. Skip small talk,
  one-off requests and anything the user asked you not to keep.
- If a stored memory is wrong or outdated, update_memory (or delete_memory) it by id.
- related_entities shows what is known around a person, place or thing.
Ids are strings: pass them back exactly as returned. The scope (user_id, agent_id, run_id)
defaults to the configured user; pass one only to act for someone else or one session."""


# -- argument types: descriptions are what the model reads -------------------------------------


def _id_text(value: object) -> object:
    # Ids are 64-bit: a model that sends one as a JSON number gets it back as the string it means.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


MemoryId = Annotated[str, BeforeValidator(_id_text), Field(
    description="The memory's id, a decimal string exactly as a previous result returned it (e.g. \"7391024480123904001\").")]
UserId = Annotated[str | None, Field(
    description="Whose memories: the end user's id. Omit to use the server's default user.")]
AgentId = Annotated[str | None, Field(
    description="Optional: the agent or assistant the memories belong to, when several agents share a user.")]
RunId = Annotated[str | None, Field(
    description="Optional: one conversation or session; omit to reach all of the user's sessions.")]
Filters = Annotated[dict[str, Any] | None, Field(
    description='Optional metadata filter, e.g. {"category": "food"}, {"priority": {"gte": 2}}, '
                '{"tag": {"in": ["a", "b"]}}, {"AND": [f1, f2]}. Operators: eq ne gt gte lt lte in nin '
                "contains icontains exists.")]
Metadata = Annotated[dict[str, Any] | None, Field(
    description='Optional JSON object stored with the memory, e.g. {"category": "travel"}; usable in filters.')]
AsOf = Annotated[str | None, Field(
    description="Optional ISO-8601 date or time, e.g. \"2023-05-31\": answer as things were then (memories "
                "stored by then, relations true then). Omit for now.")]


# -- result shapes (the tools' output schemas) --------------------------------------------------


class MemoryOut(TypedDict):
    id: str
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    score: NotRequired[float]
    scores: NotRequired[dict[str, float]]
    event: NotRequired[str]
    previous_memory: NotRequired[str | None]


class RelationOut(TypedDict):
    source: str
    relationship: str
    destination: str
    score: NotRequired[float]


class AddedRelations(TypedDict):
    added_entities: list[RelationOut]
    deleted_entities: list[RelationOut]


class AddOut(TypedDict):
    results: list[MemoryOut]
    relations: AddedRelations


class SearchOut(TypedDict):
    results: list[MemoryOut]
    relations: list[RelationOut]


class ListOut(TypedDict):
    results: list[MemoryOut]
    relations: list[RelationOut]
    total: int


class DeletedOut(TypedDict):
    deleted: int
    id: NotRequired[str]


class HistoryEventOut(TypedDict):
    id: str
    memory_id: str
    event: str
    old_memory: str | None
    new_memory: str | None
    created_at: str


class HistoryOut(TypedDict):
    memory_id: str
    events: list[HistoryEventOut]


class EntityOut(TypedDict):
    name: str
    type: str


class FactOut(TypedDict):
    source: str
    relationship: str
    destination: str
    fact: str
    valid_at: str
    memory_ids: list[str]
    origin: str  # "llm", or "offline" (read without an LLM)
    family: str | None  # its type family ("residence", "employment", ...) when the LLM named one


class RelatedOut(TypedDict):
    name: str
    matched_by: str
    entities: list[EntityOut]
    relations: list[FactOut]
    neighbours: list[EntityOut]
    memories: list[MemoryOut]


# -- the tools ------------------------------------------------------------------------------------


def _result(value: Any) -> CallToolResult:
    wire = to_wire(value)
    text = json.dumps(wire, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=wire)


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Anticipated failures become tool errors the model can read; anything else is a crash."""
    try:
        yield
    except PowermemError as exc:
        raise ToolError(f"{error_type(exc)}: {exc}") from exc
    except PermissionError as exc:
        raise ToolError(f"forbidden: {exc}") from exc


def _owner(scope: Scope) -> str:
    parts = [f"{k}={v}" for k, v in (("user_id", scope.user_id), ("agent_id", scope.agent_id),
                                     ("run_id", scope.run_id)) if v is not None]
    return " and ".join(parts)


def _missing(memory_id: str, scope: Scope) -> ToolError:
    return ToolError(f"NotFound: no memory {memory_id} for {_owner(scope)} "
                     "(deleted, never stored, or owned by another scope)")


def _entity(row: EntityRow) -> dict[str, Any]:
    return {"name": row.name, "type": row.type}


def _fact(row: RelationRow) -> dict[str, Any]:
    return {"source": row.source, "relationship": row.relationship, "destination": row.destination,
            "fact": row.fact, "valid_at": row.valid_at, "memory_ids": [str(i) for i in row.memory_ids],
            "origin": row.origin, "family": row.family}


def _neighbourhood(name: str, found: Neighbourhood) -> dict[str, Any]:
    return {"name": name, "matched_by": found.matched_by, "entities": [_entity(e) for e in found.entities],
            "relations": [_fact(r) for r in found.relations], "neighbours": [_entity(e) for e in found.neighbours],
            "memories": [memory_record(m) for m in found.memories]}


def _request_of(ctx: Context | None) -> Any:
    """The transport's request (HTTP), or None: stdio, or a call made in process."""
    try:
        return ctx.request_context.request if ctx is not None else None
    except ValueError:  # the SDK's "Context is not available outside of a request"
        return None


class _Tools:
    """The nine tools over one memory source; each resolves the scope, then calls the API."""

    def __init__(self, source: MemorySource, default_user_id: str | None, authorize: Authorizer | None) -> None:
        self._source = source
        self._default_user = scope_of(default_user_id, None, None, required=False).user_id
        self._authorize = authorize

    async def _memory(self) -> AsyncMemory:
        return self._source if isinstance(self._source, AsyncMemory) else await self._source()

    def _scope(self, ctx: Context | None, user_id: str | None, agent_id: str | None, run_id: str | None,
               *, explicit: bool = False) -> Scope:
        """The call's scope: the default user fills in a missing user_id (never for ``explicit``)."""
        if explicit and user_id is None and agent_id is None and run_id is None:
            raise ToolError("delete_all_memories needs an explicit user_id, agent_id or run_id "
                            "(the server's default user is never enough to delete a whole scope)")
        scope = scope_of(user_id if user_id is not None else self._default_user, agent_id, run_id, required=True)
        if self._authorize is not None:
            self._authorize(_request_of(ctx), scope)
        return scope

    def _need_scope(self, user_id: str | None, agent_id: str | None, run_id: str | None) -> None:
        if user_id is None and agent_id is None and run_id is None and self._default_user is None:
            raise ToolError("no scope: pass user_id (or agent_id / run_id); this server has no default user "
                            "(start it with --user-id or POWERMEM_USER_ID)")

    async def add_memory(
        self,
        content: Annotated[str, Field(description="What to remember, in plain language: a fact, a preference, or a "
                                                  "short exchange to distil (up to 64 KiB).")],
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        metadata: Metadata = None,
        infer: Annotated[bool, Field(description="true (default): let the configured LLM distil facts and "
                                                 "reconcile them with what is stored (updating or retiring "
                                                 "contradicted memories); false: store the text as given.")] = True,
        timestamp: Annotated[str | None, Field(
            description="Optional ISO-8601 time it was said or happened, when not now (e.g. importing an old "
                        "conversation); relative dates in it are read against that time.")] = None,
    ) -> Annotated[CallToolResult, AddOut]:
        """Remember something about the user for later conversations.

        Call it when the user states a durable fact or preference about themself, their work,
        plans or people they know. Returns the memories written, each with event ADD, UPDATE
        (with previous_memory) or DELETE, and the graph relations added or retired. Without an
        LLM configured the text is stored as one memory as given."""
        self._need_scope(user_id, agent_id, run_id)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, run_id)
            memory = await self._memory()
            added = await memory.add({"role": "user", "content": content}, user_id=scope.user_id,
                                     agent_id=scope.agent_id, run_id=scope.run_id, metadata=metadata, infer=infer,
                                     timestamp=timestamp)
        return _result(added)

    async def search_memories(
        self,
        query: Annotated[str, Field(description="What you want to know, in natural language (e.g. \"where does "
                                                "the user work?\") or keywords and names.")],
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        filters: Filters = None,
        limit: Annotated[int, Field(description="Most results to return (1 to 1000).", ge=1, le=1000)] = 10,
        threshold: Annotated[float | None, Field(description="Optional minimum score in [0, 1]; 0.5 drops what is unrelated to the query.")] = None,
        as_of: AsOf = None,
    ) -> Annotated[CallToolResult, SearchOut]:
        """Find the stored memories most relevant to a question, best first.

        Hybrid search (meaning, words and the entity graph); each result has a score in [0, 1].
        relations lists graph facts (source, relationship, destination) that connect them. Call
        it before answering anything that depends on what the user told you earlier."""
        self._need_scope(user_id, agent_id, run_id)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, run_id)
            memory = await self._memory()
            found = await memory.search(query, user_id=scope.user_id, agent_id=scope.agent_id, run_id=scope.run_id,
                                        filters=filters, limit=limit, threshold=threshold, as_of=as_of)
        return _result(found)

    async def get_memory(self, memory_id: MemoryId, ctx: Context, user_id: UserId = None,
                         agent_id: AgentId = None) -> Annotated[CallToolResult, MemoryOut]:
        """Read one memory by id: its text, metadata, scope and timestamps. Ids come from
        search_memories, list_memories or add_memory."""
        self._need_scope(user_id, agent_id, None)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, None)
            record = await (await self._memory()).get(memory_id, user_id=scope.user_id, agent_id=scope.agent_id)
        if record is None:
            raise _missing(memory_id, scope)
        return _result(record)

    async def update_memory(
        self,
        memory_id: MemoryId,
        ctx: Context,
        content: Annotated[str | None, Field(description="The corrected text, replacing the old one.")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(
            description="Keys to merge into the memory's metadata; a key set to null is removed.")] = None,
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> Annotated[CallToolResult, MemoryOut]:
        """Correct a stored memory: new text and/or metadata (at least one). The change is kept in
        its history. Use it when the user says something stored is wrong or has changed."""
        self._need_scope(user_id, agent_id, None)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, None)
            record = await (await self._memory()).update(memory_id, content, user_id=scope.user_id,
                                                         agent_id=scope.agent_id, metadata=metadata)
        if record is None:
            raise _missing(memory_id, scope)
        return _result(record)

    async def delete_memory(self, memory_id: MemoryId, ctx: Context, user_id: UserId = None,
                            agent_id: AgentId = None) -> Annotated[CallToolResult, DeletedOut]:
        """Forget one memory by id (and graph relations only it supported). Use it when the user
        asks you to forget something or a memory is plainly wrong."""
        self._need_scope(user_id, agent_id, None)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, None)
            deleted = await (await self._memory()).delete(memory_id, user_id=scope.user_id, agent_id=scope.agent_id)
        if not deleted:
            raise _missing(memory_id, scope)
        return _result({"deleted": 1, "id": memory_id})

    async def delete_all_memories(self, ctx: Context, user_id: UserId = None, agent_id: AgentId = None,
                                  run_id: RunId = None) -> Annotated[CallToolResult, DeletedOut]:
        """Forget EVERY memory of a scope, with its graph and history. Irreversible.

        Only when the user explicitly asks to erase everything (or one whole session). It needs
        an explicit user_id, agent_id or run_id in the call: the default user is never assumed."""
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, run_id, explicit=True)
            result = await (await self._memory()).delete_all(user_id=scope.user_id, agent_id=scope.agent_id,
                                                             run_id=scope.run_id)
        return _result(result)

    async def list_memories(
        self,
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        filters: Filters = None,
        limit: Annotated[int, Field(description="Page size (1 to 10000).", ge=1, le=10000)] = 20,
        offset: Annotated[int, Field(description="How many to skip, for the next page.", ge=0)] = 0,
        sort_by: Annotated[Literal["created_at", "updated_at", "id", "memory"], Field(
            description="Order by this field.")] = "created_at",
        order: Annotated[Literal["asc", "desc"], Field(description="desc: newest first.")] = "desc",
        as_of: AsOf = None,
    ) -> Annotated[CallToolResult, ListOut]:
        """List stored memories page by page (not ranked; use search_memories to find something).
        total is how many the scope holds; relations are its graph facts (up to 100)."""
        self._need_scope(user_id, agent_id, run_id)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, run_id)
            page = await (await self._memory()).get_all(user_id=scope.user_id, agent_id=scope.agent_id,
                                                        run_id=scope.run_id, limit=limit, offset=offset,
                                                        filters=filters, sort_by=sort_by, order=order, as_of=as_of)
        return _result(page)

    async def memory_history(self, memory_id: MemoryId, ctx: Context, user_id: UserId = None,
                             agent_id: AgentId = None) -> Annotated[CallToolResult, HistoryOut]:
        """How a memory changed over time: its ADD, UPDATE and DELETE events with the old and new
        text of each, oldest first (also after the memory was deleted)."""
        self._need_scope(user_id, agent_id, None)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, None)
            events = await (await self._memory()).history(memory_id, user_id=scope.user_id, agent_id=scope.agent_id)
        if not events:
            raise _missing(memory_id, scope)
        return _result({"memory_id": memory_id, "events": events})

    async def related_entities(
        self,
        name: Annotated[str, Field(description="A person, place, organisation or thing, e.g. \"Acme\" or "
                                               "\"Bob\"; matched by normalised name, else by similarity.")],
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        hops: Annotated[int, Field(description="How far to follow relations: 1 = direct neighbours (1 to 3).",
                                   ge=1, le=3)] = 1,
        limit: Annotated[int, Field(description="Most memories mentioning it to return, newest first (1 to 1000).",
                                    ge=1, le=1000)] = 20,
    ) -> Annotated[CallToolResult, RelatedOut]:
        """What the memory graph knows around one entity: its current relations to other entities
        (facts such as alice WORKS_AT Acme, with the ids of the memories that assert them), the
        entities they lead to, and the memories that mention it. Empty lists when it is unknown."""
        self._need_scope(user_id, agent_id, run_id)
        with _tool_errors():
            scope = self._scope(ctx, user_id, agent_id, run_id)
            found = await entity_neighbourhood(await self._memory(), scope, name, hops=hops, limit=limit)
        return _result(_neighbourhood(name, found))


_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_CHANGE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
_TOOLS: tuple[tuple[str, str, ToolAnnotations], ...] = (
    ("add_memory", "Remember a fact", _WRITE),
    ("search_memories", "Search memories", _READ),
    ("get_memory", "Read a memory", _READ),
    ("update_memory", "Correct a memory", _CHANGE),
    ("delete_memory", "Forget a memory", _CHANGE),
    ("delete_all_memories", "Forget a whole scope", _CHANGE),
    ("list_memories", "List memories", _READ),
    ("memory_history", "A memory's history", _READ),
    ("related_entities", "An entity's neighbourhood", _READ),
)


def build_mcp_server(memory_source: MemorySource, *, default_user_id: str | None = None,
                     authorize: Authorizer | None = None, log_level: str = "WARNING") -> MCPServer[Any]:
    """The MCP server with the nine memory tools over ``memory_source`` (see the module docstring)."""
    tools = _Tools(memory_source, default_user_id, authorize)
    server: MCPServer[Any] = MCPServer(
        "powermem", title="powermem memory", version=__version__, instructions=INSTRUCTIONS,
        log_level=log_level,  # type: ignore[arg-type]
    )
    for name, title, annotations in _TOOLS:
        method = getattr(tools, name)
        server.add_tool(method, name=name, title=title, description=inspect.cleandoc(method.__doc__ or ""),
                        annotations=annotations)
    return server


# -- streamable HTTP --------------------------------------------------------------------------------

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class McpHttpEndpoint:
    """The streamable-HTTP endpoint: an ASGI app and the lifespan its host must run (once)."""

    app: StreamableHTTPASGIApp
    session_manager: StreamableHTTPSessionManager

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.session_manager.run()


def _security(host: str) -> TransportSecuritySettings | None:
    # DNS-rebinding protection where a browser page could reach a loopback server: only
    # loopback Host and Origin headers are served. A server bound wider relies on its API keys.
    if host not in _LOOPBACK:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def mcp_http_endpoint(server: MCPServer[Any], *, host: str = "127.0.0.1",
                      max_body_bytes: int = 4 * 1024 * 1024) -> McpHttpEndpoint:
    """The endpoint to route at ``/mcp`` of a host ASGI app (see the module docstring)."""
    server.streamable_http_app(host=host, transport_security=_security(host), max_request_body_size=max_body_bytes)
    manager = server.session_manager
    return McpHttpEndpoint(StreamableHTTPASGIApp(manager), manager)


# -- the command --------------------------------------------------------------------------------


async def serve_stdio(config: MemoryConfig, default_user_id: str | None, log_level: str = "WARNING") -> None:
    """Serve one client over stdin/stdout until it closes stdin; stdout carries protocol only."""
    async with contextlib.AsyncExitStack() as stack:
        # Opening the store may load models and print; none of it may reach the protocol stream.
        with contextlib.redirect_stdout(sys.stderr):
            memory = await stack.enter_async_context(AsyncMemory(config))
            server = build_mcp_server(memory, default_user_id=default_user_id, log_level=log_level)
        logger.info("mcp: serving on stdio (store %s, default user %s)", config.store.provider, default_user_id)
        await server.run_stdio_async()


def _uvicorn_server() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Stop gracefully on SIGINT/SIGTERM and return, so the caller closes the store;
            # uvicorn's own version raises the signal again once stopped, killing the process first.
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server


async def serve_http(config: MemoryConfig, default_user_id: str | None, host: str, port: int,
                     log_level: str = "WARNING") -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted (loopback only)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route

    if host not in _LOOPBACK:
        raise ConfigError(f"powermem mcp serves without authentication, so only on loopback (not {host}); "
                          "to reach it from other machines run `powermem serve`, which has API keys and "
                          "serves the same tools at /mcp")
    async with AsyncMemory(config) as memory:
        endpoint = mcp_http_endpoint(build_mcp_server(memory, default_user_id=default_user_id, log_level=log_level),
                                     host=host, max_body_bytes=config.server.max_body_bytes)
        app = Starlette(routes=[Route("/mcp", endpoint.app, methods=["GET", "POST", "DELETE"])],
                        lifespan=lambda _: endpoint.lifespan())
        server = _uvicorn_server()(uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(),
                                               lifespan="on"))
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound = server.servers[0].sockets[0].getsockname()[1]
            # Port 0 picks a free port: this line tells the caller which one.
            print(f"powermem mcp: serving http://{host}:{bound}/mcp", file=sys.stderr, flush=True)
        await serving
