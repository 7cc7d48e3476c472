"""Every error is JSON that says what went wrong, never how the code looks inside.

The error responses are declared in the OpenAPI schema too, so clients (and schemathesis) can
hold the service to them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from service.access import SECURITY_SCHEMES
from service.middleware import SECURITY_HEADERS

log = logging.getLogger("roleqa")


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None = None


class ErrorOut(BaseModel):
    detail: str
    errors: list[ErrorItem] | None = None
    request_id: str | None = None


def error_response(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"model": ErrorOut, "description": description}
    if retry_after:
        response["headers"] = {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        }
    return response


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: error_response("The request cannot be read (a bad Content-Length, a body not UTF-8)."),
    401: error_response("An API key is required, or the one given is not valid."),
    413: error_response("The body is larger than the limit."),
    422: error_response("A parameter or the body is not valid; `detail` says which and why."),
    429: error_response("Too many requests from this client.", retry_after=True),
    500: error_response("An internal error; `request_id` identifies it in the logs."),
    503: error_response("Too much work in flight.", retry_after=True),
    504: error_response("The request took longer than the time limit."),
}


_PATH = re.compile(r"(?:/[^\s/'\"():,;]+)+/?")


def without_paths(message: str) -> str:
    """A message fit for a response: every absolute path cut down to its last part."""
    return _PATH.sub(lambda m: m.group().rstrip("/").rsplit("/", 1)[-1], message)


def body_problem(errors: Sequence[Any], content_type: str | None) -> str | None:
    """A plain reason when the body as a whole is wrong: absent, not JSON, not an object."""
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    if not loc or loc[0] != "body":
        return None
    if first.get("type") == "json_invalid":
        reason = first.get("ctx", {}).get("error", "it cannot be decoded")
        return f"the body is not valid JSON: {reason} (at character {loc[-1]})"
    if len(loc) > 1:
        return None
    if first.get("type") == "missing":
        return "the body is missing: send a JSON object as application/json"
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return f"the body must be JSON sent as application/json, not {media or 'untyped'}"
    return "the body must be a JSON object"


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own handling, with a reason instead of 'error parsing the body' where known."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        exc = HTTPException(400, "the body is not valid UTF-8")
    elif exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        exc = HTTPException(400, "the body's JSON is nested too deeply")
    return await http_exception_handler(request, exc)


async def _internal_error(request: Request, exc: Exception) -> Response:
    rid = str(getattr(request.state, "request_id", "unknown"))
    log.error("request %s failed: %s", rid, type(exc).__name__)
    return JSONResponse(
        {"detail": f"internal error: quote request id {rid} to the operator", "request_id": rid},
        500,
        headers={**SECURITY_HEADERS, "x-request-id": rid},
    )


def install(app: FastAPI, open_paths: Collection[str]) -> None:
    """Register the handlers, and declare in the schema where a key is needed: everywhere but
    the paths open to all, which can be refused neither for a key nor for their rate."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if path not in open_paths:
                    operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
                    continue
                for status in ("401", "429"):
                    operation["responses"].pop(status, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
