"""Who may call the API, and how often: optional API keys and a per-client rate limit."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Collection, Iterable

import limits
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.middleware import refuse


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


class Guard:
    """Pure ASGI middleware every request passes but those to `open_paths`: the rate limit,
    then the key.

    `keyless_paths` need no key but count against the caller's rate. A client is its key when
    it shows a valid one, else its address, so wrong keys are counted too. Middleware rather
    than a FastAPI dependency, which costs every request a round of FastAPI's parameter
    solving (with the searcher no dependency either, the app's own time around a remembered
    answer went from 0.47 to 0.40 ms); the schema declares the headers (`errors.install`).
    """

    def __init__(
        self,
        app: ASGIApp,
        keys: KeyRing,
        rate: RateLimit,
        open_paths: Collection[str],
        keyless_paths: Collection[str],
    ) -> None:
        self.app = app
        self.keys = keys
        self.rate = rate
        self.open_paths = frozenset(open_paths)
        self.keyless_paths = frozenset(keyless_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        presented = presented_key(Headers(scope=scope))
        key = self.keys.match(presented) if presented else None
        client = f"key:{key}" if key else f"address:{client_host(scope)}"
        if (wait := self.rate.hit(client)) is not None:
            limit = ", ".join(map(str, self.rate.items))
            await refuse(
                scope,
                send,
                429,
                f"too many requests: the limit is {limit}; try again in {wait} s",
                {"Retry-After": str(wait)},
            )
        elif self.keys.required and key is None and scope["path"] not in self.keyless_paths:
            await refuse(
                scope,
                send,
                401,
                "the API key is not valid"
                if presented
                else "an API key is required: send it as `Authorization: Bearer KEY` or "
                "`X-API-Key: KEY`",
                {"WWW-Authenticate": "Bearer"},
            )
        else:
            await self.app(scope, receive, send)


def presented_key(headers: Headers) -> str | None:
    """The key in `X-API-Key`, else the token of `Authorization: Bearer ...`, if any."""
    if key := headers.get("x-api-key"):
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# How the schema tells clients to send a key (`Guard` reads it from either header).
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


def client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
