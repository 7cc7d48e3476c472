"""Who may call the API, and how often: optional API keys and a per-client rate limit."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, Collection, Iterable

import limits
from fastapi import HTTPException, Request
from starlette.datastructures import Headers


class KeyRing:
    """API keys, kept only as SHA-256 digests and compared in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(hashlib.sha256(k.encode()).digest() for k in keys)

    @property
    def required(self) -> bool:
        return bool(self._digests)

    def match(self, presented: str) -> str | None:
        """A short fingerprint of the matching key (safe to log), or None."""
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for known in self._digests:  # every one, so the time taken says nothing of which
            if hmac.compare_digest(known, digest):
                found = known
        return found.hex()[:12] if found else None


class RateLimit:
    """A moving-window limit per client, in `limits` notation ("600/minute"); "" is none."""

    def __init__(self, spec: str) -> None:
        self.items = limits.parse_many(spec) if spec else []
        self._limiter = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())

    def hit(self, client: str) -> int | None:
        """Count a request; None if it is allowed, else the seconds until the client may retry."""
        for item in self.items:
            if not self._limiter.hit(item, client):
                reset, _ = self._limiter.get_window_stats(item, client)
                return max(1, math.ceil(reset - time.time()))
        return None


def guard(
    keys: KeyRing, rate: RateLimit, open_paths: Collection[str], keyless_paths: Collection[str]
) -> Callable[[Request], Awaitable[None]]:
    """The dependency every route passes: the rate limit, then the key.

    `open_paths` (probes, the page, its script) pass freely; `keyless_paths` need no key but
    count against the caller's rate. A client is its key when it shows a valid one, else its
    address, so wrong keys are counted too. The headers are read here rather than through
    FastAPI's security classes, which would make three dependencies of one on every request;
    `errors.install` declares them in the schema instead.
    """

    async def check(request: Request) -> None:
        path = request.scope["path"]
        if path in open_paths:
            return
        presented = presented_key(request.headers)
        key = keys.match(presented) if presented else None
        client = f"key:{key}" if key else f"address:{client_host(request)}"
        if (wait := rate.hit(client)) is not None:
            raise HTTPException(
                429,
                f"too many requests: the limit is {', '.join(map(str, rate.items))}; "
                f"try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if keys.required and key is None and path not in keyless_paths:
            raise HTTPException(
                401,
                "the API key is not valid"
                if presented
                else "an API key is required: send it as `Authorization: Bearer KEY` or "
                "`X-API-Key: KEY`",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def presented_key(headers: Headers) -> str | None:
    """The key in `X-API-Key`, else the token of `Authorization: Bearer ...`, if any."""
    if key := headers.get("x-api-key"):
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# How the schema tells clients to send a key (`guard` reads it from either header).
SECURITY_SCHEMES = {
    "APIKeyHeader": {
        "type": "apiKey",
        "description": "an API key",
        "in": "header",
        "name": "X-API-Key",
    },
    "HTTPBearer": {
        "type": "http",
        "description": "an API key as a bearer token",
        "scheme": "bearer",
    },
}


def client_host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
