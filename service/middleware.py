"""Pure ASGI middleware that keeps the service answerable and accountable under any load.

Pure ASGI rather than `BaseHTTPMiddleware`, so the body is streamed through untouched and a
request can be answered (413, 503, 504) before the app ever sees it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import metrics

# Headers for every response; a route that sets its own (the search page's CSP) keeps its own.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# JSON is never a document to render: it may load nothing and be framed by nobody.
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

log = logging.getLogger("roleqa")
access_log = logging.getLogger("roleqa.access")


def request_id(scope: Scope) -> str:
    """The caller's X-Request-ID if it is sane (so ids join up across services), else a new one."""
    given = Headers(scope=scope).get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


async def refuse(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await JSONResponse({"detail": detail}, status, headers)(scope, nothing, send)


class RequestContext:
    """Gives each request an id; on the way out adds the id, the index version and security
    headers to the response, counts it, and writes one JSON access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status = 500  # what the client gets if the app raises before answering

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = rid
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("application/json"):
                    headers.setdefault("content-security-policy", JSON_CSP)
                if version := state.get("index_version"):
                    headers["x-index-version"] = version
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.record_request(scope["method"], route, status, seconds)
            access_log.info(
                json.dumps(
                    {
                        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client": scope["client"][0] if scope.get("client") else None,
                        "index_version": state.get("index_version"),
                    }
                )
            )


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodyLimit:
    """Refuses a body over `max_bytes`: at once if Content-Length says so, else while it streams
    in (a chunked body has no length to check), so no more than the limit is ever read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            await refuse(scope, send, 400, "the Content-Length header is not a number")
            return
        if declared is not None and int(declared) > self.max_bytes:
            await refuse(scope, send, 413, BodyTooLarge(self.max_bytes).detail)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)  # rendered by the app's HTTP error handler
            return message

        await self.app(scope, counted, send)


@dataclass
class Load:
    """The requests being worked on now (probes aside): counted by `WorkLimit`, read by what
    may do more while the service has nothing else to do."""

    in_flight: int = 0


class WorkLimit:
    """Bounds the requests worked on at once, and how long a client waits for one.

    Past `max_in_flight`, a request is turned away at once with 503 and Retry-After: overload
    shows as quick refusals, not as a queue that grows without end. A request still running
    after `timeout_s` gets 504; its work (a thread, which cannot be interrupted) runs on to its
    end, unheard, and holds its place until then, so the bound counts the work really running.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        timeout_s: float,
        exempt: Collection[str] = (),
        load: Load | None = None,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self.exempt = frozenset(exempt)
        self.load = load or Load()
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.load.in_flight >= self.max_in_flight:
            metrics.record_rejection("busy")
            await refuse(
                scope, send, 503, "the service is busy: try again shortly", {"Retry-After": "1"}
            )
            return
        started = abandoned = False

        async def send_unless_abandoned(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, send_unless_abandoned))
        self._begin(task)
        done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        if done or started:
            await task
            return
        abandoned = True
        task.add_done_callback(_report_failure)
        metrics.record_rejection("timeout")
        await refuse(
            scope,
            send,
            504,
            f"the request took longer than the limit of {self.timeout_s:g} s: ask something "
            "smaller or try again later",
        )

    def _begin(self, task: asyncio.Task[None]) -> None:
        self.load.in_flight += 1
        metrics.record_in_flight(+1)
        self._running.add(task)
        task.add_done_callback(self._end)

    def _end(self, task: asyncio.Task[None]) -> None:
        self.load.in_flight -= 1
        metrics.record_in_flight(-1)
        self._running.discard(task)


def _report_failure(task: asyncio.Task[None]) -> None:
    """An abandoned request has nobody left to tell of its failure but the log."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("a request abandoned at its time limit failed", exc_info=exc)
