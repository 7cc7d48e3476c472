"""Where one search's milliseconds go, in one process, without a socket: the figures behind
"near the hardware's limit".

For the distinct questions `scripts/bench.py` sends, each stage is timed on its own:

- **encoder**: one question through the served int8 encoder (tokenising, onnxruntime, pooling),
  on one core as beside other searches, and on every core as a search alone is;
- **scoring**: the rest of `Searcher.search` once the question's vectors are known (parsing,
  the five parts, ranking, answer sentences, roles);
- **HTTP app**: the whole ASGI app as `make run` serves it (middleware, key and rate checks,
  routing, validation, serialising, the access line) around an answer it need not search for,
  called directly, so neither the search nor a socket is in it;
- **onnxruntime's operators**, from its own profiler: what one encoder run is made of.

What a live request adds to these (uvicorn, the client, loopback, and caches the encoder has
just filled with its weights) is what `scripts/bench.py` shows against its bare-app floor.
Timings move with the machine's load: read them side by side, from one run.

    python scripts/breakdown.py [--index DIR] [-n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from bench import ROOT, index_version, question_stream
from starlette.types import Message, Scope

from service.api import create_app, open_engine, settle
from service.encoder import ONNX_MODEL, OnnxEncoder, all_cores, session_options
from service.engine import Engine
from service.index import ENCODER_DIR
from service.settings import Settings


def per_call_ms(run_round: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """Median over `rounds` of the mean time of one of the `calls` that `run_round` makes."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run_round()
        times.append((time.perf_counter() - started) / calls * 1000)
    return statistics.median(times)


def app_ms(engine: Engine, settings: Settings, questions: Sequence[str]) -> float:
    """The ASGI app around remembered answers: each question asked once before timing."""
    # The rate limit is a policy, not a cost: one caller sending thousands would hit it.
    app = create_app(settings.model_copy(update={"rate_limit": ""}), engine)
    access = logging.getLogger("roleqa.access")  # written, as a server writes it, to nowhere
    access.addHandler(logging.FileHandler(os.devnull))
    access.setLevel(logging.INFO)
    access.propagate = False

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    def scope(question: str) -> Scope:
        query = urllib.parse.urlencode({"q": question, "k": 5}).encode()
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/search",
            "raw_path": b"/search",
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"accept", b"*/*")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

    async def ask_all() -> None:
        for q in questions:
            await app(scope(q), receive, send)

    settle()  # as the server's start does
    asyncio.run(ask_all())  # each answer found once, so remembered
    return per_call_ms(lambda: asyncio.run(ask_all()), len(questions))


def operators(model: Path, encoder: OnnxEncoder, questions: Sequence[str]) -> dict[str, float]:
    """Microseconds per encoder run in each kind of onnxruntime operator (its profiler's)."""
    options = session_options(1)
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        for q in questions:
            e = encoder.tokenizer.encode(q)
            given = {"input_ids": e.ids, "attention_mask": e.attention_mask}
            given["token_type_ids"] = e.type_ids
            session.run(None, {n: np.array([given[n]], dtype=np.int64) for n in names})
        events = json.loads(Path(session.end_profiling()).read_text())
    spent: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"] / len(questions)
    return dict(sorted(spent.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="a built index root")
    parser.add_argument("-n", type=int, default=1000, help="distinct questions")
    args = parser.parse_args()

    settings = Settings(index_dir=args.index)
    version = index_version(args.index)
    stream = question_stream(version)
    questions = [next(stream) for _ in range(args.n)]
    engine = open_engine(settings)
    searcher = engine.searcher
    encoder = OnnxEncoder(version / ENCODER_DIR, alone_threads=settings.search_threads)
    for q in questions:  # the warm state of a running server: every vector remembered
        searcher.search(q)
    tokens = statistics.median(len(encoder.tokenizer.encode(q).ids) for q in questions)

    def encoded_alone() -> None:
        with all_cores():
            for q in questions:
                encoder.encode([q])

    alone_ms = per_call_ms(encoded_alone, args.n)
    stages = {
        "encoder: one question (tokenise, onnxruntime, pool), on one core": per_call_ms(
            lambda: [encoder.encode([q]) for q in questions], args.n
        ),
        "scoring: the rest of a search, its vectors known": per_call_ms(
            lambda: [searcher.search(q) for q in questions], args.n
        ),
        "HTTP app around a remembered answer (no socket)": app_ms(engine, settings, questions),
    }
    print(
        f"\n`python scripts/breakdown.py -n {args.n}` on {os.cpu_count()} cores: {args.n} "
        f"distinct questions (median {tokens:.0f} tokens), medians of 5 rounds.\n"
    )
    print("| stage | ms per question |\n| --- | ---: |")
    for stage, ms in stages.items():
        print(f"| {stage} | {ms:.3f} |")
    print(f"| **sum** | **{sum(stages.values()):.3f}** |")
    print(f"\nThe encoder on every core, as for a search alone: {alone_ms:.3f} ms a question.")
    print("\nonnxruntime's operators in one encoder run (its profiler, so a little slower):\n")
    print("| operator | µs per run |\n| --- | ---: |")
    for op, us in operators(version / ENCODER_DIR / ONNX_MODEL, encoder, questions).items():
        print(f"| {op} | {us:.0f} |")


if __name__ == "__main__":
    main()
