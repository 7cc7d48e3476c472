"""The FastAPI app factory: a thin HTTP layer over the engine."""

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from service.engine import Engine
from service.index import IndexRefused
from service.schemas import (
    MAX_TOP_K,
    AnswerOut,
    AskIn,
    Health,
    Ready,
    RoleOut,
    RolesOut,
    check_question,
)
from service.search import Searcher
from service.settings import Settings, get_settings
from service.web import router as web_router


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI(
        title="roleqa",
        version="0.1.0",
        description="Answers questions with passages of the source documents, each attributed "
        "to the role it is about.",
    )
    app.state.engine = engine
    app.state.settings = settings
    if settings.cors_origins:
        # Intranet pages on these origins may call the API from a browser; by default none may.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    app.include_router(web_router())

    def searcher(request: Request) -> Searcher:
        return request.app.state.engine.searcher  # type: ignore[no-any-return]

    SearcherDep = Annotated[Searcher, Depends(searcher)]

    def resolve_role(s: Searcher, role: str | None) -> str | None:
        if role is None or not role.strip():
            return None
        canonical = s.index.roles.canonical(role)
        if canonical is None:
            known = ", ".join(s.index.roles.names)
            raise HTTPException(422, f"unknown role {role!r}; known roles: {known}")
        return canonical

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(x) for x in first["loc"] if x not in ("body", "query"))
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.get("/search", response_model=AnswerOut, tags=["search"])
    def search(
        s: SearcherDep,
        q: Annotated[str, Query(description="the question")],
        k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description="passages to return")] = 5,
        role: Annotated[str | None, Query(description="only passages about this role")] = None,
        explain: Annotated[bool, Query(description="add the parts of each score")] = False,
    ) -> AnswerOut:
        """Search-box query: GET, so browsers and proxies may cache it."""
        try:
            question = check_question(q, settings.max_question_chars)
        except ValueError as exc:
            raise HTTPException(422, f"q: {exc}") from None
        answer = s.search(question, k, resolve_role(s, role))
        return AnswerOut.from_answer(answer, explain)

    @app.post("/ask", response_model=AnswerOut, tags=["search"])
    def ask(s: SearcherDep, body: AskIn) -> AnswerOut:
        """Ask a question; the same answer as `/search`, as JSON in and out."""
        answer = s.search(body.question, body.top_k, resolve_role(s, body.role))
        return AnswerOut.from_answer(answer, body.explain)

    @app.get("/roles", response_model=RolesOut, tags=["corpus"])
    def roles(s: SearcherDep) -> RolesOut:
        """The role book, with how many passages are about each role."""
        counts: dict[str | None, int] = {}
        for p in s.index.passages:
            counts[p.role] = counts.get(p.role, 0) + 1
        return RolesOut(
            roles=[
                RoleOut(
                    name=r.name,
                    aliases=list(r.aliases),
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
    def readyz(s: SearcherDep) -> Ready:
        """Readiness, with a summary of the index being served."""
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

    return app


def app_from_env() -> FastAPI:
    """The app as `uvicorn --factory service.api:app_from_env` builds it (the Docker image, or
    several workers, each building its own): settings from ROLEQA_* and the index they name.
    A refused index stops the start with its one sentence rather than a traceback."""
    settings = get_settings()
    try:
        engine = Engine.open(settings.index_dir, settings.model_path)
    except IndexRefused as exc:
        raise SystemExit(f"roleqa: {exc}") from None
    return create_app(settings, engine)
