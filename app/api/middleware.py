"""Pure ASGI middlewares: they open and close scopes, they decide nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logging_setup import request_id
from app.metrics import HTTP_METHODS, Metrics

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("helionyx.access")


class RequestIdMiddleware:
    """Gives each request an id (the client's X-Request-ID if sane) for logs and the reply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_request_id(scope["headers"]) or os.urandom(16).hex()
        token = request_id.set(rid)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def _given_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if _VALID_REQUEST_ID.fullmatch(given) else None
    return None


def full_templates(routes: Iterable[Any]) -> dict[int, str | None]:
    """Each endpoint's whole path template, keyed by the identity of its route object.

    FastAPI 0.16x nests included routers: the route a request matched knows only its own
    path (`/events/{seq}`), not the prefixes above it (`/api/v1`).
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI flattens included routers: path_format is whole
        return {}
    return {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(list(routes))
    }


def route_template(scope: Scope, templates: dict[int, str | None]) -> str:
    """The matched route's template (`/api/v1/events/{seq}`), never the raw path: raw
    paths would give every seq its own time series."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    return templates.get(id(route)) or getattr(route, "path_format", None) or "unmatched"


class MetricsMiddleware:
    """Counts and times each request by route template, and logs one access line for it.

    Sits inside RequestIdMiddleware, so the access line carries the request id.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._templates: dict[int, str | None] | None = None  # read off the app on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts a reply

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            if self._templates is None:
                self._templates = full_templates(getattr(scope.get("app"), "routes", ()))
            route = route_template(scope, self._templates)
            method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
            self.metrics.observe_request(method, route, status, seconds)
            access_log.info("%s %s %d %.1f ms", method, route, status, seconds * 1000)


class BodyLimitMiddleware:
    """Refuses request bodies over the limit with 413 before any handler reads them.

    FastAPI has no limit of its own. A body framed by Content-Length is as long as it
    says (the HTTP server reads no more of it than that), so a declared length within
    the limit passes straight through. A chunked body is read here (it is small by
    definition) and handed on in one piece.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope["headers"])
        if declared is not None:
            if declared > self.max_bytes:
                await self._refuse(send)
            else:
                await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _refuse(
            send,
            413,
            "request-body-too-large",
            "Request body too large",
            f"the request body is larger than {self.max_bytes} bytes",
        )


class BodyTimeoutMiddleware:
    """Answers 408 when a request body stops arriving, and never keeps a connection alive
    for a body that nobody reads.

    uvicorn waits for the rest of a body as long as the client keeps the connection open:
    a client that sends its headers and part of a body holds a connection and a request
    task forever. Here each read of the body waits `seconds` at most: the time between
    two reads, as nginx's client_body_timeout (nginx.org/en/docs/http/
    ngx_http_core_module.html#client_body_timeout), so a slow but steady client gets
    through. On a stall the app is told the client has gone, as on a real disconnect, and
    what it answers then is dropped: the 408 is already on its way.

    A reply that starts before the body is complete (the 408; a 401 or 415 sent without
    reading it) carries `connection: close`, so uvicorn closes the socket once it is
    written. Otherwise uvicorn reads on through the unread body to keep the connection,
    and every byte of it cancels the keep-alive timer that would close it. Once the body
    is complete, reads (a streamed reply listening for a disconnect) are not timed.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = not _expects_body(scope["headers"])
        replied = timed_out = False

        async def receive_in_time() -> Message:
            nonlocal body_done, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout(self.seconds):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not replied:
                    await _refuse(
                        send,
                        408,
                        "request-timeout",
                        "Request timeout",
                        f"no part of the request body arrived for {self.seconds:g} s",
                    )
                return {"type": "http.disconnect"}
            body_done = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def send_in_time(message: Message) -> None:
            nonlocal replied
            if timed_out:
                return
            if message["type"] == "http.response.start":
                replied = True
                headers = list(message.get("headers", ()))
                if not body_done and all(name != b"connection" for name, _ in headers):
                    message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_in_time)
        except ClientDisconnect:
            if not timed_out:  # a real disconnect: the server's business, as before
                raise


async def _refuse(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    """A problem+json answer sent before the body has been read whole; the connection is
    closed after it, since the rest of the body would otherwise have to be read."""
    body = json.dumps(
        {"type": f"urn:helionyx:problem:{slug}", "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _expects_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a body follows the headers: chunked, or a Content-Length above 0."""
    for name, value in headers:
        if name == b"transfer-encoding" or (
            name == b"content-length" and value.isdigit() and int(value) > 0
        ):
            return True
    return False


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """Content-Length, when it frames the body: not beside a Transfer-Encoding."""
    length = None
    for name, value in headers:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            return None
    return length
