"""Where a search runs: alone on the event loop, beside others on worker threads; and the same
answers either way."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from service.api import Searches, create_app
from service.encoder import may_use_all_cores
from service.engine import Engine
from service.middleware import Load
from service.settings import Settings

QUESTIONS = [
    "Who represents the customer?",
    "who prioritizes the backlog",
    "What does a SAFe Product Manager do?",
    "Who accepts stories?",
]


def where() -> tuple[str, bool]:
    """The thread a search runs on, and whether it may encode on every core."""
    return threading.current_thread().name, may_use_all_cores()


def test_a_search_alone_runs_on_the_loop_and_searches_together_on_the_threads() -> None:
    searches = Searches(threads=2, load=Load())  # an idle service

    async def scenario() -> tuple[tuple[str, bool], list[tuple[str, bool]], tuple[str, bool]]:
        alone = await searches.run(where)
        together = await asyncio.gather(*(searches.run(where) for _ in range(3)))
        after = await searches.run(where)
        return alone, together, after

    alone, together, after = asyncio.run(scenario())
    loop_thread = threading.current_thread().name
    assert alone == (loop_thread, True)
    assert all(name.startswith("search") and not wide for name, wide in together), together
    assert after == (loop_thread, True)  # the count of searches about went back to none
    assert not may_use_all_cores()  # only while the lone search ran


def test_a_search_alone_among_other_requests_keeps_to_one_core() -> None:
    searches = Searches(threads=2, load=Load(in_flight=3))
    assert asyncio.run(searches.run(where)) == (threading.current_thread().name, False)


def test_the_only_request_in_flight_encodes_on_every_core(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work limit's count of requests is what the searches read: a search alone, but
    asked while a batch is being answered, keeps to one core."""
    app = create_app(settings.model_copy(update={"rate_limit": ""}), engine)
    seen: list[bool] = []
    find = engine.find

    def watched_find(*args: object, **kwargs: object) -> object:
        seen.append(may_use_all_cores())
        return find(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "find", watched_find)
    batch = {"questions": [f"what happens in planning round {i}?" for i in range(300)]}

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roleqa") as c:
            alone = await c.get("/search", params={"q": "who decides what the ART builds next?"})
            answering = asyncio.create_task(c.post("/ask/batch", json=batch))
            await asyncio.sleep(0.1)  # the batch is being answered, on a thread
            beside = await c.get("/search", params={"q": "who accepts the stories?"})
            assert not answering.done()
            return [alone, beside, await answering]

    assert [r.status_code for r in asyncio.run(scenario())] == [200, 200, 200]
    assert seen == [True, False]


def test_searches_asked_together_answer_as_they_do_alone(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": ""}), engine)

    async def scenario() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roleqa") as c:
            alone = [await c.get("/search", params={"q": q}) for q in QUESTIONS]
            together = await asyncio.gather(*(c.get("/search", params={"q": q}) for q in QUESTIONS))
        return alone, list(together)

    alone, together = asyncio.run(scenario())
    for one, other in zip(alone, together, strict=True):
        assert one.status_code == other.status_code == 200
        a, b = one.json(), other.json()
        assert a["answer_role"] == b["answer_role"]
        assert [p["id"] for p in a["passages"]] == [p["id"] for p in b["passages"]]
        assert [p["score"] for p in a["passages"]] == [p["score"] for p in b["passages"]]
