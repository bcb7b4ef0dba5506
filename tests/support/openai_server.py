"""A scripted OpenAI-compatible HTTP server for tests and benchmarks (standard library only).

Serves ``POST /v1/chat/completions`` and ``POST /v1/embeddings`` on 127.0.0.1 from a
background thread; anything else is a 404. Every request is recorded. Chat content comes
from, in order: a fault's content, the scripted queue (``script``), the ``responder``
callable, else the smallest object valid for the requested JSON schema (``"{}"`` without
one). Embeddings come from :class:`HashingEmbedder`, so they are deterministic.

Faults (``fail``) are consumed one per request, in order:

- ``("status", code)``, ``("status", code, headers)``, ``("status", code, body)`` or
  ``("status", code, headers, body)``: an error response; ``headers`` is a dict (e.g.
  ``{"Retry-After": "1"}``), ``body`` a message string or a JSON-able dict.
- ``("stall", seconds)``: hold the answer until the client gives up and closes the
  connection (its timeout: a stall cannot end before it, however loaded the machine);
  answer after ``seconds`` if the client never does. Give ``seconds`` well past the timeout.
- ``("drop",)``: close the connection without any response.
- ``("raw", text)`` / ``("content", text)``: a 200 completion whose message content is
  ``text`` (not JSON, or JSON of the wrong shape).

A persona (``act_as``) reproduces how a real server answers chat requests: it may reject a
request by the way it asks for JSON (``response_format``, ``tools``), and shapes the content
the script produced as that server would (fences, prose, trailing commas, a cut at the token
limit, a tool call, an empty choice list). See ``PERSONAS``.

Usage::

    with ScriptedOpenAIServer(delay=0.2) as server:
        server.script('{"facts": []}')
        server.fail(("status", 429, {"Retry-After": "1"}))
        server.act_as(PERSONAS["code-fences"]())
        client = AsyncOpenAI(base_url=server.base_url, api_key="x")
"""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import numpy as np

from powermem.embeddings.hashing import HashingEmbedder

__all__ = ["PERSONAS", "Fault", "Persona", "RecordedRequest", "Rejection", "Reply", "Responder", "ScriptedOpenAIServer",
           "requested_mode"]

Fault = tuple[Any, ...]
Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]  # keys lowercased
    body: Any  # the parsed JSON body, or None when it was not JSON

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a chat completion request (empty for other requests)."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def text(self) -> str:
        """Every message content joined, to assert on what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


class ScriptedOpenAIServer:
    """The server; use as a context manager or call ``start()`` / ``close()``."""

    persona: Persona | None  # how chat requests are answered; reset() restores None

    def __init__(
        self,
        *,
        delay: float = 0.0,
        embedding_dims: int = 64,
        responder: Responder | None = None,
    ) -> None:
        self._initial = (delay, embedding_dims, responder)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._embedders: dict[int, HashingEmbedder] = {}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
            self._thread = threading.Thread(
                # A short poll interval keeps close() (and so each test's teardown) fast.
                target=self._httpd.serve_forever,
                args=(0.02,),
                name="scripted-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes stalled and delayed handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- scripting ---------------------------------------------------------------------

    def script(self, *contents: str | dict[str, Any]) -> None:
        """Queue chat contents, answered in order before the responder is consulted."""
        with self._lock:
            self._contents.extend(json.dumps(c) if isinstance(c, dict) else c for c in contents)

    def respond_with(self, responder: Responder | None) -> None:
        """Compute chat content from the request JSON when nothing is scripted."""
        self.responder = responder

    def act_as(self, persona: Persona | None) -> None:
        """Answer chat requests as ``persona`` (``None``: a server that does what is asked)."""
        self.persona = persona

    def fail(self, *faults: Fault, path: str | None = None) -> None:
        """Queue faults; with ``path`` (e.g. ``"embeddings"``) only requests to paths ending so use them."""
        for fault in faults:
            if not fault or fault[0] not in ("status", "stall", "drop", "raw", "content"):
                raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._faults.extend((path, fault) for fault in faults)

    def reset(self) -> None:
        """Forget requests, scripts, faults and the persona; restore delay, dims and responder."""
        with self._lock:
            self.delay, self.embedding_dims, self.responder = self._initial
            self._requests: list[RecordedRequest] = []
            self._contents: deque[str] = deque()
            self._faults: deque[tuple[str | None, Fault]] = deque()
            self.persona = None

    # -- inspection --------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # -- used by the handler -------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, (only, fault) in enumerate(self._faults):
                if only is None or path.endswith(only):
                    del self._faults[i]
                    return fault
        return None

    def _chat_content(self, body: dict[str, Any]) -> str:
        with self._lock:
            scripted = self._contents.popleft() if self._contents else None
        if scripted is not None:
            return scripted
        if self.responder is not None:
            answer = self.responder(body)
            return answer if isinstance(answer, str) else json.dumps(answer)
        return json.dumps(_minimal_instance(_requested_schema(body)))

    def _embed(self, texts: list[str], dims: int) -> list[list[float]]:
        with self._lock:
            embedder = self._embedders.setdefault(dims, HashingEmbedder(dims))
            matrix = embedder.embed_sync(texts)
        return [row.tolist() for row in matrix]

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: ScriptedOpenAIServer):
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or vanish mid-answer are the point of several tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real providers
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._read_body()
        self._send_json(404, _error_body(f"no route for GET {self.path}", "not_found"))

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self._read_body()
        body = _json_or_none(raw)
        owner._record(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        fault = owner._next_fault(self.path)
        owner._pause(owner.delay)
        if fault is not None and self._apply_fault(fault):
            return
        self._route(body, content=fault[1] if fault is not None and fault[0] in ("raw", "content") else None)

    def _apply_fault(self, fault: Fault) -> bool:
        """Act out ``fault``; True when the response (or lack of one) is complete."""
        kind = fault[0]
        if kind == "status":
            self._send_status_fault(fault)
            return True
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if kind == "stall":
            return self._stall(float(fault[1]))
        return False

    def _stall(self, seconds: float) -> bool:
        """Wait for the client to hang up (True: nothing to answer) or ``seconds`` (False)."""
        owner = self.server.owner
        deadline = time.monotonic() + seconds
        while not owner._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
            if readable and self._client_closed():
                self.close_connection = True
                return True
            if readable:  # bytes from a client still there: wait without spinning
                owner._pause(min(left, 0.05))
        return False

    def _client_closed(self) -> bool:
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _send_status_fault(self, fault: Fault) -> None:
        code, rest = int(fault[1]), fault[2:]
        headers: dict[str, str] = {}
        body: Any = f"scripted error {code}"
        if len(rest) == 2:
            headers, body = rest
        elif len(rest) == 1 and isinstance(rest[0], dict) and "error" not in rest[0]:
            headers = rest[0]
        elif len(rest) == 1:
            body = rest[0]
        payload = body if isinstance(body, dict) else _error_body(str(body), _error_type(code))
        self._send_json(code, payload, headers)

    def _route(self, body: Any, content: str | None) -> None:
        if not isinstance(body, dict):
            self._send_json(400, _error_body("request body must be a JSON object", "invalid_request_error"))
        elif self._route_path.endswith("/chat/completions"):  # /v1/... or Azure's /openai/deployments/D/...
            self._chat(body, content)
        elif self._route_path.endswith("/embeddings"):
            self._embeddings(body, content)
        else:
            self._send_json(404, _error_body(f"no route for POST {self.path}", "not_found"))

    @property
    def _route_path(self) -> str:
        return self.path.partition("?")[0].rstrip("/")

    def _chat(self, body: dict[str, Any], content: str | None) -> None:
        owner = self.server.owner
        persona = owner.persona
        rejection = persona.reject(body) if persona is not None and content is None else None
        if rejection is not None:
            self._send_json(rejection.status, _error_body(rejection.message, _error_type(rejection.status)),
                            rejection.headers)
            return
        text = content if content is not None else owner._chat_content(body)
        reply = persona.reply(body, text) if persona is not None and content is None else Reply(text)
        prompt_tokens = sum(_words(m.get("content")) for m in body.get("messages", []) if isinstance(m, dict))
        completion_tokens = _words(reply.content) + _words(reply.tool_arguments)
        self._send_json(
            200,
            {
                "id": f"chatcmpl-{time.monotonic_ns()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [] if reply.no_choices else [_choice(reply)],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    def _embeddings(self, body: dict[str, Any], content: str | None) -> None:
        if content is not None:
            self._send_raw(200, content.encode())
            return
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            self._send_json(400, _error_body("input must be a string or a list of strings", "invalid_request_error"))
            return
        dims = int(body.get("dimensions") or self.server.owner.embedding_dims)
        rows = self.server.owner._embed(texts, dims)
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": i, "embedding": _b64(row) if as_base64 else row}
            for i, row in enumerate(rows)
        ]
        tokens = sum(_words(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._send_json(200, {"object": "list", "data": data, "model": body.get("model", "scripted"), "usage": usage})

    # -- plumbing ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(code, json.dumps(payload).encode(), headers, "application/json")

    def _send_raw(
        self, code: int, data: bytes, headers: dict[str, str] | None = None, content_type: str = "text/plain"
    ) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (timeout) before we answered


def _choice(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_arguments is not None:
        call = {"name": reply.tool_name, "arguments": reply.tool_arguments}
        message["tool_calls"] = [{"id": f"call_{time.monotonic_ns()}", "type": "function", "function": call}]
    return {"index": 0, "message": message, "finish_reason": reply.finish_reason}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _error_type(code: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found",
        429: "rate_limit_exceeded",
    }.get(code, "server_error")


def _words(content: Any) -> int:
    return len(str(content).split()) if content else 0


def _b64(row: list[float]) -> str:
    return base64.b64encode(np.asarray(row, dtype=np.float32).tobytes()).decode("ascii")


def _requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema", {}).get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _minimal_instance(schema: dict[str, Any] | None) -> Any:
    """The smallest value valid for ``schema``: empty lists, nulls, zeros, first enum values."""
    if not schema:
        return {}
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = schema["anyOf"]
        null = next((o for o in options if o.get("type") == "null"), None)
        return None if null is not None else _minimal_instance(options[0])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _minimal_instance(props[name]) for name in schema.get("required", props)}
    defaults: dict[str, Any] = {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}
    return defaults.get(str(kind))


# -- personas: how real servers answer ---------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A 200 completion: ``content``, or a tool call, or no choice at all."""

    content: str | None
    finish_reason: str = "stop"
    tool_arguments: str | None = None
    tool_name: str = "answer"
    no_choices: bool = False


@dataclass(frozen=True)
class Rejection:
    """An error answer instead of a completion."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def requested_mode(body: dict[str, Any]) -> str:
    """How the request asks for JSON: json_schema, json_object, tools or prompt."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object"):
        return str(fmt["type"])
    return "tools" if body.get("tools") else "prompt"


class Persona:
    """A server that does what it is asked; subclasses reproduce real servers' quirks."""

    def reject(self, body: dict[str, Any]) -> Rejection | None:
        return None

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        if requested_mode(body) == "tools":
            return Reply(None, "tool_calls", tool_arguments=content, tool_name=_tool_name(body))
        return Reply(content)


class RejectsJsonSchema(Persona):
    """DeepSeek: ``response_format`` json_schema answers 400; json_object works."""

    def reject(self, body: dict[str, Any]) -> Rejection | None:
        if requested_mode(body) == "json_schema":
            return Rejection(400, "This response_format type is unavailable now")
        return None


class JsonObjectOnly(Persona):
    """An older Ollama: json_schema is silently ignored (the model chats), tools are refused,
    json_object is honoured."""

    def reject(self, body: dict[str, Any]) -> Rejection | None:
        if requested_mode(body) == "tools":
            return Rejection(400, "tools are not supported by this model")
        return None

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        if requested_mode(body) in ("json_schema", "prompt"):
            return Reply("Sure! Here is what I remember about the conversation: nothing unusual.")
        return Reply(content)


class CodeFences(Persona):
    """Many instruction-tuned models: the JSON in a Markdown code block."""

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(f"```json\n{content}\n```")


class Prose(Persona):
    """A chatty model: prose (with a stray brace) before the JSON and after it."""

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(f"Here is the JSON you asked for {{as requested}}:\n\n{content}\n\nLet me know if you need more!")


class TrailingCommas(Persona):
    """A small local model: a comma after the last member of every object and list."""

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(_with_trailing_commas(json.loads(content)))


class PythonDict(Persona):
    """A model printing a Python dict: single quotes, ``None``."""

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(repr(json.loads(content)))


class Truncates(Persona):
    """A server with a small max_tokens: every answer cut mid-JSON, finish_reason length."""

    def __init__(self, keep: int = 30) -> None:
        self.keep = keep

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(content[: self.keep], "length")


class ToolCallsInstead(Persona):
    """A server (or proxy) that answers with a tool call whatever was asked, content null."""

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(None, "tool_calls", tool_arguments=content, tool_name=_tool_name(body))


class EmptyChoices(Persona):
    """A gateway that, under load or a content filter, answers 200 with ``choices: []``."""

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        return Reply(None, no_choices=True)


class RateLimited(Persona):
    """OpenAI's rate limiter: the first ``times`` requests get 429 with Retry-After."""

    def __init__(self, times: int = 1, retry_after: str = "0") -> None:
        self.left = times
        self.retry_after = retry_after
        self._lock = threading.Lock()

    def reject(self, body: dict[str, Any]) -> Rejection | None:
        with self._lock:
            if self.left <= 0:
                return None
            self.left -= 1
        return Rejection(429, "Rate limit reached for requests", {"Retry-After": self.retry_after})


class WrongSchema(Persona):
    """A model that answers its own idea of the format: wrong keys, ``times`` times in a row."""

    def __init__(self, times: int = 2) -> None:
        self.left = times
        self._lock = threading.Lock()

    def reply(self, body: dict[str, Any], content: str) -> Reply:
        with self._lock:
            wrong = self.left > 0
            self.left -= 1
        return Reply(json.dumps({"memories": [{"text": "alice likes tea"}]}) if wrong else content)


PERSONAS: dict[str, Callable[[], Persona]] = {
    "rejects-json-schema": RejectsJsonSchema,
    "json-object-only": JsonObjectOnly,
    "code-fences": CodeFences,
    "prose": Prose,
    "trailing-commas": TrailingCommas,
    "python-dict": PythonDict,
    "truncates": Truncates,
    "tool-calls-instead": ToolCallsInstead,
    "empty-choices": EmptyChoices,
    "rate-limited": RateLimited,
    "wrong-schema-twice": WrongSchema,
}


def _tool_name(body: dict[str, Any]) -> str:
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        return str(tools[0].get("function", {}).get("name", "answer"))
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return str(fmt.get("json_schema", {}).get("name", "answer"))
    return "answer"


def _with_trailing_commas(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + "".join(f"{json.dumps(k)}: {_with_trailing_commas(v)}, " for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + "".join(f"{_with_trailing_commas(v)}, " for v in value) + "]"
    return json.dumps(value)
