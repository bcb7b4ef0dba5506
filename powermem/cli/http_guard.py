"""What stands in front of the HTTP API: API keys, their user binding, and the body limit.

Both are plain ASGI so they also guard apps mounted beside the API (the MCP endpoint), which
FastAPI's dependencies never see.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powermem.config import ApiKeyConfig

__all__ = ["CALLER_SCOPE_KEY", "BodyLimit", "Caller", "GuardedMount", "KeyRing", "caller_of", "error_response"]


def error_response(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The one error shape of the API: ``{"error": {"type", "message"}}``."""
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


class ApiError(HTTPException):
    """An HTTP error with the API's ``type`` name (Unauthorized, Forbidden, NotFound...)."""

    def __init__(self, status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, message, dict(headers) if headers else None)
        self.kind = kind


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    """Who a request acts as: ``users`` None may touch any user; else only those user ids."""

    users: frozenset[str] | None = None

    def check(self, user_id: str | None) -> None:
        """403 unless this caller may act for ``user_id``.

        A key bound to users must name one of them on every call: without a user_id a call
        would reach every user's memories (or an agent-only scope that belongs to no user).
        """
        if self.users is None:
            return
        if user_id is None:
            raise ApiError(403, "Forbidden", "this API key is bound to user ids: pass user_id (one of them)")
        if user_id not in self.users:
            raise ApiError(403, "Forbidden", "this API key may not act for this user_id")


class KeyRing:
    """The configured API keys. Without any, every request is an unrestricted caller."""

    def __init__(self, keys: list[ApiKeyConfig]) -> None:
        self._keys = [(k.key.get_secret_value().encode(), None if k.user_ids is None else frozenset(k.user_ids))
                      for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def caller(self, headers: Headers) -> Caller:
        """The caller a request's key names; 401 when keys are configured and it names none."""
        if not self._keys:
            return Caller()
        presented = _presented_key(headers)
        if presented is None:
            raise ApiError(401, "Unauthorized", "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key'",
                           _CHALLENGE)
        found: Caller | None = None
        # Compare with every key, each in constant time: no early exit tells how far a guess got.
        for secret, users in self._keys:
            if hmac.compare_digest(secret, presented) and found is None:
                found = Caller(users)
        if found is None:
            raise ApiError(401, "Unauthorized", "unknown API key", _CHALLENGE)
        return found


def _presented_key(headers: Headers) -> bytes | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip().encode()
    key = headers.get("x-api-key", "").strip()
    return key.encode() if key else None


CALLER_SCOPE_KEY = "powermem.caller"


def caller_of(scope: Scope) -> Caller | None:
    """The caller a ``GuardedMount`` admitted for this request (None outside one, or without keys)."""
    found = scope.get(CALLER_SCOPE_KEY)
    return found if isinstance(found, Caller) else None


class GuardedMount:
    """An app mounted beside the API, behind the same keys.

    An app that does not check users itself (``checks_users`` False) cannot know which user a
    key is bound to, so only unbound keys pass (403 for a bound one): a bound key can never
    reach another user's memories through it. One that does (the MCP endpoint) gets every
    known key's ``Caller`` in the ASGI scope (``caller_of``) and must check each call's user.
    """

    def __init__(self, app: ASGIApp, keys: KeyRing, *, checks_users: bool = False) -> None:
        self.app, self.keys, self.checks_users = app, keys, checks_users

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys.enabled:
            try:
                caller = self.keys.caller(Headers(scope=scope))
                if caller.users is not None and not self.checks_users:
                    raise ApiError(403, "Forbidden", "this endpoint takes only API keys not bound to user ids")
                scope[CALLER_SCOPE_KEY] = caller
            except ApiError as exc:
                await error_response(exc.status_code, exc.kind, exc.detail, exc.headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "PayloadTooLarge", f"request body is limited to {limit:,} bytes (server.max_body_bytes)")


class BodyLimit:
    """413 for a body over ``limit`` bytes: at once when Content-Length says so, else as it streams.

    A streamed body (chunked, or a lying Content-Length) is counted as it is read; the
    ``BodyTooLarge`` raised from ``receive`` reaches the API's error handler, or, from a
    mounted app, is answered here if no response has started.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = BodyTooLarge(self.limit)
        # No "Connection: close": closing on unread data resets the socket, and a client still
        # writing its body would lose the 413. uvicorn reads and discards the rest instead.
        await error_response(413, exc.kind, exc.detail)(scope, receive, send)
