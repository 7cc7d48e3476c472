"""`roleqa`: build the index, serve it, ask it (one question or a FAQ file), evaluate it."""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from service.documents import read_text
from service.engine import Engine
from service.extras import ExtraMissing, require_build_extra
from service.index import (
    CURRENT,
    NO_ROLE,
    IndexRefused,
    build,
    read_manifest,
    rebuild_reason,
    resolve,
)
from service.questions import check_question
from service.roles import SHARED
from service.settings import get_settings

app = typer.Typer(
    help="Role-attributed question answering over your documents.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)  # a refusal stays one line, whatever the width
out = Console()

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="index folder (default: ROLEQA_INDEX_DIR)")
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]roleqa:[/red] {escape(message)}")
    return typer.Exit(code=2)


def _engine(index: Path | None) -> Engine:
    from service.api import open_engine

    try:
        return open_engine(get_settings(), index)
    except (IndexRefused, ExtraMissing) as exc:
        raise _fail(str(exc)) from None


@app.command("build")
def build_cmd(
    corpus: Annotated[Path | None, typer.Option("--corpus", help="corpus folder")] = None,
    index: IndexOpt = None,
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="only build when the index is missing or stale")
    ] = False,
) -> None:
    """Build the index of a corpus folder (its .txt/.md files and roles.toml)."""
    from service.encoder import Encoder, OnnxEncoder, TorchEncoder
    from service.export import EXPORT_FORMAT, export_onnx

    settings = get_settings()
    corpus = corpus or settings.corpus_dir
    index = index or settings.index_dir
    if if_stale:
        try:
            reason = rebuild_reason(read_manifest(resolve(index)), corpus, EXPORT_FORMAT)
        except IndexRefused as exc:
            reason = str(exc) if (index / CURRENT).exists() else "there is none yet"
        if reason is None:
            err.print(f"index at {index} is up to date")
            return
        err.print(f"building the index: {reason}")
    try:
        require_build_extra("roleqa build")
        with tempfile.TemporaryDirectory(prefix="roleqa-encoder-") as tmp:
            err.print("exporting the encoder to ONNX (int8)")
            exported = export_onnx(Path(tmp) / "encoder", settings.model_path)
            # Passages are embedded by the backend that will encode the questions.
            encoder: Encoder = (
                OnnxEncoder(exported, settings.encoder_threads)
                if settings.encoder == "onnx"
                else TorchEncoder(settings.model_path)
            )
            version = build(corpus, index, encoder, progress=err.print, encoder_files=exported)
    except (IndexRefused, ValueError, ExtraMissing) as exc:
        raise _fail(str(exc)) from None
    manifest = read_manifest(version)
    err.print(f"built {version} ({manifest['passages']} passages)")
    about = manifest["about"]
    assert isinstance(about, dict)
    counts = ", ".join(f"{r} {n}" for r, n in about.items())
    err.print(f"passages about each role: {counts}", markup=False)
    people = manifest.get("people") or {}
    assert isinstance(people, dict)
    if people:
        named = ", ".join(f"{name} ({role})" for name, role in people.items())
        err.print(f"people the documents name in a role: {named}", markup=False)
    for role in (r for r, n in about.items() if n == 0 and r not in (SHARED, NO_ROLE)):
        err.print(
            f"warning: no passage is about {role}: do the documents call it by a name its "
            "aliases in roles.toml lack?",
            markup=False,
            style="yellow",
        )


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="port to listen on (0: any free one)")
    ] = None,
) -> None:
    """Serve the HTTP API (refuses a missing, corrupt, mismatched or stale index)."""
    import uvicorn

    from service.api import create_app

    settings = get_settings()
    engine = _engine(index)
    uvicorn.run(
        create_app(settings, engine),
        host=host or settings.host,
        port=settings.port if port is None else port,
        log_level="info",
        log_config=_logging_config(),
        access_log=False,  # roleqa writes its own, as JSON with the request id
    )


def _logging_config() -> dict[str, object]:
    """uvicorn's logging, plus roleqa's: JSON access lines on stdout, warnings on stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["line"] = {"format": "%(message)s"}
    config["handlers"]["roleqa.access"] = {
        "class": "logging.StreamHandler",
        "formatter": "line",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["roleqa"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"]["roleqa.access"] = {
        "handlers": ["roleqa.access"],
        "level": "INFO",
        "propagate": False,
    }
    return config


@app.command()
def ask(
    question: str,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=50)] = 3,
    role: Annotated[str | None, typer.Option(help="only passages about this role")] = None,
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the raw Answer")] = False,
) -> None:
    """Ask one question and print the answer."""
    from service.schemas import AnswerOut

    try:
        question = check_question(question, get_settings().max_question_chars)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    engine = _engine(index)
    if role is not None:
        canonical = engine.searcher.index.roles.canonical(role)
        if canonical is None:
            raise _fail(
                f"unknown role {role!r}; known: {', '.join(engine.searcher.index.roles.names)}"
            )
        role = canonical
    answer = engine.searcher.search(question, top_k, role)
    if as_json:
        sys.stdout.write(AnswerOut.from_answer(answer).model_dump_json(indent=2) + "\n")
        return
    out.print(
        f"[bold]{answer.question}[/bold]\nanswer role: [cyan]{answer.answer_role}[/cyan]  "
        f"confidence {answer.confidence:.2f}"
        + ("  [yellow](no good answer)[/yellow]" if answer.no_answer else "")
    )
    for hit in answer.hits:
        section = " › ".join(hit.passage.section) or "-"
        out.print(
            f"\n[bold]{hit.rank}.[/bold] [magenta]{hit.passage.role}[/magenta]  {section}  "
            f"[dim]score {hit.score:.3f}  {hit.passage.id}[/dim]\n   {hit.answer}"
        )


@app.command("batch")
def batch_cmd(
    faq_file: Annotated[
        str,
        typer.Argument(
            metavar="FAQ_FILE",
            help="questions: .txt (one a line), .csv/.xlsx (question column), .jsonl; - for stdin",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="answers as .csv, .jsonl, .xlsx or .md"),
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=50)] = 3,
    index: IndexOpt = None,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", help="read FAQ_FILE as txt, csv, jsonl or xlsx (for -)"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Answer every question of a FAQ file: one output row per input row, in order.

    Exits 1 when any row could not be answered (its `error` column says why).
    """
    from tqdm import tqdm

    from service import batch

    try:
        if output is not None:
            batch.writer_for(output)  # refuse an unknown output format before any work
        rows = batch.read_faq(faq_file, input_format)
    except batch.FaqFileError as exc:
        raise _fail(str(exc)) from None
    engine = _engine(index)
    settings = get_settings()
    # disable=None: tqdm stays quiet by itself when standard error is not a terminal.
    with tqdm(
        desc="answering", unit="q", file=sys.stderr, disable=True if quiet else None, delay=1.0
    ) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        results = batch.answer_rows(
            engine.searcher,
            rows,
            top_k=top_k,
            max_chars=settings.max_question_chars,
            progress=advance,
        )
    if output is not None:
        try:
            batch.write_results(output, results)
        except batch.FaqFileError as exc:
            raise _fail(str(exc)) from None
    elif sys.stdout.isatty():
        out.print(Markdown(batch.report(results)))
    else:
        sys.stdout.write(batch.report(results))
    failures = sum(r.answer.error is not None for r in results)
    if not quiet:
        where = f" to {output}" if output else ""
        err.print(f"answered {len(results) - failures} of {len(results)} rows{where}")
    if failures:
        err.print(f"[yellow]{failures} of {len(results)} rows not answered: see why[/yellow]")
        raise typer.Exit(code=1)


@app.command("eval")
def eval_cmd(
    questions: Path,
    index: IndexOpt = None,
    paragraphs: Annotated[
        Path | None, typer.Option("--paragraphs", help="gold paragraph roles (jsonl)")
    ] = None,
    ablation: Annotated[bool, typer.Option("--ablation", help="one row per variant")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    show_failures: Annotated[bool, typer.Option("--failures", help="list the misses")] = False,
) -> None:
    """Recall@k, MRR@10, role accuracy and no-answer metrics, overall and by kind."""
    from service.evaluation import (
        K_EVAL,
        calibration,
        failures,
        load_questions,
        locate_paragraphs,
        report,
    )

    engine = _engine(index)
    searcher = engine.searcher
    try:
        qs = load_questions(questions)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    asked = [q.question for q in qs]
    gold = []
    if paragraphs:
        corpus = Path(str(searcher.index.manifest["corpus"]["dir"]))  # type: ignore[index]
        texts = {p.source: read_text(corpus / p.source) for p in searcher.index.passages}
        gold = locate_paragraphs(paragraphs, texts)

    if ablation:
        full = searcher.config.weights
        plain = replace(searcher.config, expand=False)
        variants = {
            "lexical only": replace(
                plain, weights=replace(full, dense=0, sentence=0, heading=0, role=0)
            ),
            "dense only": replace(
                plain, weights=replace(full, lexical=0, sentence=0, heading=0, role=0)
            ),
            "hybrid": replace(plain, weights=replace(full, sentence=0, heading=0, role=0)),
            "+ sentences": replace(plain, weights=replace(full, heading=0, role=0)),
            "+ headings": replace(plain, weights=replace(full, role=0)),
            "+ expansion": replace(searcher.config, weights=replace(full, role=0)),
            "+ roles (full)": searcher.config,
        }
        rows = {
            name: report(qs, searcher.with_config(config).search_many(asked, K_EVAL), gold)["all"]
            for name, config in variants.items()
        }
        _print_table("variant", rows, as_json)
        return
    answers = searcher.search_many(asked, K_EVAL)
    _print_table("kind", report(qs, answers, gold), as_json)
    if not as_json:
        _print_table("confidence", calibration(qs, answers), as_json)
    if show_failures:
        for line in failures(qs, answers):
            err.print(line, markup=False, highlight=False)  # "[who]" is no markup


def _print_table(first: str, rows: dict[str, dict[str, float | int | None]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    columns = list(next(iter(rows.values())))
    table = Table(first, *columns)
    for name, row in rows.items():
        table.add_row(
            name,
            *(
                "-"
                if row[c] is None
                else f"{row[c]:.3f}"
                if isinstance(row[c], float)
                else str(row[c])
                for c in columns
            ),
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    app()
