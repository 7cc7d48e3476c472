"""Work in flight is bounded, slow requests time out, and a failure shows no internals."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.engine import Engine
from service.settings import Settings


class Gate:
    """A route that holds its request (in a worker thread, like a search) until opened."""

    def __init__(self, app: FastAPI) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

        @app.get("/hold")
        def hold() -> dict[str, str]:
            self.entered.set()
            self.opened.wait(30)
            return {"status": "done"}


def app_with(settings: Settings, engine: Engine, **changes: object) -> tuple[FastAPI, Gate]:
    app = create_app(settings.model_copy(update={"rate_limit": "", **changes}), engine)
    return app, Gate(app)


def run(app: FastAPI, scenario: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roleqa") as c:
            await scenario(c)

    asyncio.run(main())


async def entered(gate: Gate) -> None:
    assert await asyncio.to_thread(gate.entered.wait, 30)


def test_past_the_work_limit_a_request_is_turned_away_with_retry_after(
    settings: Settings, engine: Engine
) -> None:
    app, gate = app_with(settings, engine, max_in_flight=1)

    async def scenario(c: httpx.AsyncClient) -> None:
        held = asyncio.create_task(c.get("/hold"))
        await entered(gate)
        busy = await c.get("/search", params={"q": "Who represents the customer?"})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert "busy" in busy.json()["detail"]
        assert (await c.get("/healthz")).status_code == 200  # probes are never turned away
        assert (await c.get("/readyz")).status_code == 200
        gate.opened.set()
        assert (await held).status_code == 200
        after = await c.get("/search", params={"q": "Who represents the customer?"})
        assert after.status_code == 200

    run(app, scenario)


def test_a_request_past_the_time_limit_gets_504_and_its_work_still_counts(
    settings: Settings, engine: Engine
) -> None:
    app, gate = app_with(settings, engine, max_in_flight=1, request_timeout_s=0.2)

    async def scenario(c: httpx.AsyncClient) -> None:
        late = await c.get("/hold")
        assert late.status_code == 504
        assert "longer than the limit of 0.2 s" in late.json()["detail"]
        # The abandoned work is still running in its thread, so it still holds the one place.
        assert (await c.get("/search", params={"q": "Who owns the backlog?"})).status_code == 503
        gate.opened.set()
        for _ in range(100):
            r = await c.get("/search", params={"q": "Who owns the backlog?"})
            if r.status_code != 503:
                break
            await asyncio.sleep(0.05)
        assert r.status_code == 200

    run(app, scenario)


def test_an_internal_error_is_a_generic_500_with_the_request_id(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings, engine)

    @app.get("/fail")
    def fail() -> None:
        raise RuntimeError("secret detail at /srv/roleqa/service/engine.py line 42")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/fail", headers={"X-Request-ID": "trace-me-1"})
    assert r.status_code == 500
    assert r.json() == {
        "detail": "internal error: quote request id trace-me-1 to the operator",
        "request_id": "trace-me-1",
    }
    assert r.headers["x-request-id"] == "trace-me-1"
    assert r.headers["x-content-type-options"] == "nosniff"
    for leak in ("secret", "/srv", "engine.py", "Traceback", "RuntimeError"):
        assert leak not in r.text


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("api_keys", "short", "at least 16 characters"),
        ("rate_limit", "lots", "is not a rate"),
        ("max_in_flight", "0", "greater than or equal to 1"),
        ("cors_origins", "*", "may not be '*'"),
    ],
)
def test_an_unsafe_setting_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str, says: str
) -> None:
    monkeypatch.setenv(f"ROLEQA_{setting.upper()}", value)
    with pytest.raises(ValueError, match=says):
        Settings()
