"""The FastAPI app factory: a thin HTTP layer over the engine.

The search endpoints are `async`. While other requests are about, a search (encoder and scoring,
a few ms of CPU) runs on a worker thread, at most `search_threads` at once, so the loop goes on
accepting and answering meanwhile, and the threads do not outnumber the cores; a search alone
runs on the loop (see `Searches`). An answer remembered from before costs no work and is given
from the loop.
"""

import asyncio
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from functools import partial
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from threadpoolctl import threadpool_limits
from uvicorn.config import STARTUP_FAILURE

from service import batch, metrics
from service.access import Guard, KeyRing, RateLimit, client_host, is_loopback
from service.encoder import all_cores
from service.engine import Engine
from service.errors import ERROR_RESPONSES, body_problem, error_response, install, without_paths
from service.extras import ExtraMissing
from service.index import CURRENT, IndexRefused
from service.middleware import BodyLimit, Load, RequestContext, WorkLimit
from service.questions import check_question
from service.schemas import (
    MAX_TOP_K,
    AnswerOut,
    AskBatchIn,
    AskBatchOut,
    AskIn,
    Health,
    Ready,
    ReloadOut,
    RoleOut,
    RolesOut,
)
from service.search import Answer, Searcher
from service.settings import Settings, get_settings
from service.web import router as web_router

log = logging.getLogger("roleqa")
T = TypeVar("T")

# Open to all, without key or rate limit: probes, and the search page with its script.
# /docs and /openapi.json are open too (FastAPI serves them outside the routes): the schema
# is no secret.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/", "/widget.js"})
# Cheap and needed most when the service is busiest: never turned away by the work limit.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    keys = KeyRing(k.get_secret_value() for k in settings.api_keys)
    keyless = {"/search"} if settings.public_search else set()
    app = FastAPI(
        title="roleqa",
        version="0.1.0",
        description="Answers questions with passages of the source documents, each attributed "
        "to the role it is about.",
        responses=ERROR_RESPONSES,
        lifespan=_watching(engine, settings.watch_index_s),
    )
    app.state.engine = engine
    app.state.settings = settings
    install(app, OPEN_PATHS)
    metrics.serve_index(lambda: engine.searcher.index)
    load = Load()
    app.add_middleware(
        WorkLimit,
        max_in_flight=settings.max_in_flight,
        timeout_s=settings.request_timeout_s,
        exempt=PROBE_PATHS,
        load=load,
    )
    docs = {app.docs_url, app.redoc_url, app.openapi_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(
        Guard,
        keys=keys,
        rate=RateLimit(settings.rate_limit),
        open_paths=OPEN_PATHS | {p for p in docs if p},
        keyless_paths=keyless,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        # Intranet pages on these origins may call the API from a browser; by default none may.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(RequestContext)
    app.include_router(web_router())
    searches = Searches(settings.search_threads, load)

    async def answer(s: Searcher, question: str, top_k: int, role: str | None) -> Answer:
        engine: Engine = app.state.engine
        if (known := engine.recall(question, top_k, role, searcher=s)) is not None:
            return known
        return await searches.run(partial(engine.find, question, top_k, role, searcher=s))

    def resolve_role(s: Searcher, role: str | None) -> str | None:
        if role is None or not role.strip():
            return None
        canonical = s.index.roles.canonical(role)
        if canonical is None:
            known = ", ".join(s.index.roles.names)
            raise HTTPException(422, f"unknown role {role!r}; known roles: {known}")
        return canonical

    def limited_k(top_k: int, name: str) -> int:
        """The configured cap (ROLEQA_MAX_TOP_K) under the schema's own bound."""
        if top_k > settings.max_top_k:
            raise HTTPException(422, f"{name}: at most {settings.max_top_k} passages, not {top_k}")
        return top_k

    def limited_question(question: str, name: str) -> str:
        try:
            return check_question(question, settings.max_question_chars)
        except ValueError as exc:
            raise HTTPException(422, f"{name}: {exc}") from None

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(x) for x in first["loc"] if x not in ("body", "query"))
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        detail = body_problem(exc.errors(), request.headers.get("content-type")) or detail
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.get("/search", response_model=AnswerOut, tags=["search"])
    async def search(
        request: Request,
        q: Annotated[str, Query(description="the question")],
        k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description="passages to return")] = 5,
        role: Annotated[str | None, Query(description="only passages about this role")] = None,
        explain: Annotated[bool, Query(description="add the parts of each score")] = False,
    ) -> AnswerOut:
        """Search-box query: GET, so browsers and proxies may cache it."""
        s = searcher(request)
        question = limited_question(q, "q")
        found = await answer(s, question, limited_k(k, "k"), resolve_role(s, role))
        return AnswerOut.from_answer(found, explain)

    @app.post("/ask", response_model=AnswerOut, tags=["search"])
    async def ask(request: Request, body: AskIn) -> AnswerOut:
        """Ask a question; the same answer as `/search`, as JSON in and out."""
        s = searcher(request)
        question = limited_question(body.question, "question")
        top_k = limited_k(body.top_k, "top_k")
        found = await answer(s, question, top_k, resolve_role(s, body.role))
        return AnswerOut.from_answer(found, body.explain)

    @app.post("/ask/batch", response_model=AskBatchOut, tags=["search"])
    def ask_batch(request: Request, body: AskBatchIn) -> AskBatchOut:
        """Ask many questions at once: one answer each, in order, the same as `/ask` gives.

        An invalid item does not fail the batch: its answer carries `error` and no passages.
        """
        s = searcher(request)
        if len(body.questions) > settings.max_batch:
            raise HTTPException(
                413,
                f"questions: {len(body.questions)} in one batch; the limit is "
                f"{settings.max_batch}: send them in several batches",
            )
        answers = batch.answer(
            s,
            body.questions,
            top_k=limited_k(body.top_k, "top_k"),
            role=resolve_role(s, body.role),
            max_chars=settings.max_question_chars,
        )
        return AskBatchOut(results=[AnswerOut.from_answer(a, body.explain) for a in answers])

    @app.get("/roles", response_model=RolesOut, tags=["corpus"])
    def roles(request: Request) -> RolesOut:
        """The role book, with how many passages are about each role."""
        s = searcher(request)
        counts: dict[str | None, int] = {}
        for p in s.index.passages:
            counts[p.role] = counts.get(p.role, 0) + 1
        return RolesOut(
            roles=[
                RoleOut(
                    name=r.name,
                    aliases=list(r.aliases),
                    people=[n for n, role in s.index.roles.people.items() if role == r.name],
                    description=r.description,
                    passages=counts.get(r.name, 0),
                )
                for r in s.index.roles.roles
            ]
        )

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Ready, tags=["ops"])
    def readyz(request: Request) -> Ready:
        """Readiness, with a summary of the index being served."""
        s = searcher(request)
        m = s.index.manifest
        corpus = m["corpus"]
        assert isinstance(corpus, dict)
        return Ready(
            status="ready",
            version=s.index.version,
            passages=len(s.index.passages),
            model=str(m["model"]["id"]),  # type: ignore[index]
            built_at=str(m["built_at"]),
            corpus=str(corpus["dir"]),
            files=sorted(corpus["files"]),
        )

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
    def metrics_text() -> Response:
        """Prometheus text format: requests, latency, answers, cache, the index in use."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/admin/reload",
        response_model=ReloadOut,
        tags=["admin"],
        responses={
            403: error_response("Reloading from this address is not allowed."),
            409: error_response("The new index was refused; the old one still serves."),
        },
    )
    def reload(request: Request) -> ReloadOut:
        """Serve the index version the index pointer names now (after `roleqa build`).

        The new version must load and pass a self-check; if it does not, it is refused and the
        one in use goes on serving. Needs an API key; while none are set, only this machine
        (loopback) may reload.
        """
        if not keys.required and not is_loopback(client_host(request.scope)):
            raise HTTPException(
                403, "reloading is allowed only from this machine while ROLEQA_API_KEYS is unset"
            )
        try:
            done = request.app.state.engine.reload()
            settle()
        except IndexRefused as exc:
            metrics.record_reload("refused")
            log.warning("reload refused: %s", exc)
            serving = request.app.state.engine.searcher.index.version
            raise HTTPException(
                409, f"{without_paths(str(exc))}; still serving {serving}"
            ) from None
        metrics.record_reload("changed" if done.changed else "unchanged")
        return ReloadOut(
            previous=done.previous,
            version=done.current,
            passages=done.passages,
            changed=done.changed,
        )

    return app


class Searches:
    """Runs each search on a worker thread, unless it is the only one about: then on the loop,
    and, if it is the only request in flight, with its question encoded on every core.

    A search handed to a thread, and its answer handed back, wake a sleeping core each way: 0.3
    ms of a 4 ms request at concurrency 1, where the loop has nothing else to do meanwhile. So a
    search runs on the loop when no other is running or starting; one yield first lets requests
    that arrived with it show themselves. With others about, the loop stays free to take in and
    answer the rest while the threads search. (On the loop, a search holds off whatever arrives
    meanwhile, and the time limit's 504, until it ends: a few milliseconds, and 0.15 s for the
    longest question allowed, made of words the corpus does not know.)

    Every core is for a search with no other request in flight at all: the encoder's threads
    then wait on nothing else. With other requests about (answered on the loop between
    searches), a core they need could stall the encoder's threads and add to the tail latency.
    """

    def __init__(self, threads: int, load: Load) -> None:
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="search")
        self._about = 0  # searches running on the threads, or deciding where to run
        self._load = load  # the requests in flight, as `WorkLimit` counts them

    async def run(self, search: Callable[[], T]) -> T:
        if not self._about:
            self._about += 1
            try:
                await asyncio.sleep(0)
                alone = self._about == 1
            finally:
                self._about -= 1
            if alone:
                with all_cores() if self._load.in_flight <= 1 else nullcontext():
                    return search()
        self._about += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, search)
        finally:
            self._about -= 1


def searcher(request: Request) -> Searcher:
    """The searcher this request keeps to its end, whatever reloads meanwhile."""
    s: Searcher = request.app.state.engine.searcher
    request.state.index_version = s.index.version
    return s


def app_from_env() -> FastAPI:
    """The app as `uvicorn --factory service.api:app_from_env` builds it (the Docker image, or
    several workers, each building its own): settings from ROLEQA_* and the index they name.

    A refused index stops the start with its one sentence rather than a traceback, and with
    uvicorn's start-up failure status, so that its supervisor gives up at once rather than
    starting worker after worker on an index that will be refused every time.
    """
    settings = get_settings()
    try:
        engine = open_engine(settings)
    except (IndexRefused, ExtraMissing) as exc:
        print(f"roleqa: {exc}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from None
    return create_app(settings, engine)


def open_engine(settings: Settings, index: Path | None = None) -> Engine:
    """The engine the settings describe, for `index` (default: theirs); IndexRefused if none."""
    # numpy's BLAS (and faiss's OpenMP) would start a thread per core for each of the small
    # matrix-vector products of a search, and spin in them: twice the CPU for no gain.
    threadpool_limits(limits=1)
    return Engine.open(
        index or settings.index_dir,
        settings.model_path,
        backend=settings.encoder,
        threads=settings.encoder_threads,
        alone_threads=settings.search_threads,
        cache_size=settings.cache_size,
        on_cache=metrics.record_cache,
    )


def settle() -> None:
    """Collect what is garbage now, then leave all that is left (the index, the encoder, the
    app) out of the cyclic garbage collector's scans, which it would otherwise join as it ages.

    A full scan took 68 ms here after 3,000 questions (5 ms with the served state frozen),
    holding the GIL: every request in flight waited for it, so one scan during a run at
    concurrency 8 set the p99. Called at start and after each reload, so what a reload dropped
    is collected (in one such pause) rather than kept.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _watching(
    engine: Engine, every_s: float
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that, if `every_s` > 0, polls the index pointer and reloads when it moves."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settle()
        task = asyncio.create_task(_watch(engine, every_s)) if every_s > 0 else None
        yield
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _watch(engine: Engine, every_s: float) -> None:
    """A refused version is logged once, and tried again only when the pointer moves again."""
    pointer = engine.index_dir / CURRENT
    seen = _stamp(pointer)
    while True:
        await asyncio.sleep(every_s)
        if (stamp := _stamp(pointer)) == seen:
            continue
        seen = stamp
        try:
            done = await asyncio.to_thread(engine.reload)
            settle()
        except IndexRefused as exc:
            metrics.record_reload("refused")
            log.warning("reload refused: %s", exc)
            continue
        metrics.record_reload("changed" if done.changed else "unchanged")
        log.info("serving index %s (was %s)", done.current, done.previous)


def _stamp(path: Path) -> tuple[int, int] | None:
    """Changes whenever the pointer is replaced (a new inode) or rewritten (a new mtime)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns
