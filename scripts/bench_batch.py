"""Batch FAQ answering against a loop of single `/ask` calls: throughput, and identical answers.

Generates FAQ-style questions from the dev questions (other prefixes, templates, case,
punctuation and spacing; some asked more than once), then in one run answers them

- through the CLI path: `service.batch` reads a .txt FAQ file, answers it, writes a .csv;
- through a loop of single `POST /ask` calls to the real app (FastAPI's TestClient);

in alternating rounds (the whole file in batch, then a slice of it in single calls), so that both
paths see the same neighbours on a shared machine. Prints both throughputs (batch: its median
round; loop: all slices together), their ratio, and whether every answer agrees (same passage
ids in the same order, same answer role). Exits 1 when an answer differs.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python scripts/bench_batch.py [--index DIR] [-n 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from service import batch
from service.api import create_app
from service.api import open_engine as serving_engine
from service.engine import Engine
from service.index import IndexRefused
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "seed_dev.jsonl"
TOP_K = 3
TARGET = 5.0

PREFIXES = ("", "", "FAQ: ", "Quick question: ", "Q: ", "Hi! ", "Can you tell me: ", "Team asks: ")
TEMPLATES = ("{q}", "{q}", "{q}", "Tell me about {q}", "What about {q}", "{q} - any guidance")
CASES: tuple[Callable[[str], str], ...] = (str, str, str.lower, str.upper, str.capitalize)
ENDINGS = ("", "?", "??", " ?", "!", ".")
SPACING = ("{}", "{}", "  {}", "{}  ", "{}\t")


def faq_questions(dev: list[str], n: int, repeat_share: float, rng: random.Random) -> list[str]:
    """n questions: distinct rewordings of the dev questions, plus repeats of some of them."""
    distinct = round(n * (1 - repeat_share))
    pool: dict[str, None] = {}
    while len(pool) < distinct:
        q = rng.choice(dev).rstrip("?!. ")
        q = rng.choice(TEMPLATES).format(q=q)
        q = rng.choice(CASES)(rng.choice(PREFIXES) + q) + rng.choice(ENDINGS)
        pool.setdefault(rng.choice(SPACING).format(q))
    questions = list(pool)
    questions += rng.choices(questions, k=n - distinct)
    rng.shuffle(questions)
    return questions


def open_engine(index: Path | None, scratch: Path) -> Engine:
    """The given (or configured) index as `roleqa serve` opens it (its ONNX encoder); else the
    bundled corpus, built into `scratch` by `roleqa build`. Nothing is remembered between
    calls (no answer or vector cache): the rounds repeat the same questions, and what is
    measured is the work of answering them."""
    settings = Settings(cache_size=0)
    try:
        return serving_engine(settings, index)
    except IndexRefused as exc:
        if index is not None:
            raise SystemExit(f"bench_batch: {exc}") from None
    print(f"no usable index at {settings.index_dir}: building one in {scratch}", file=sys.stderr)
    command = [sys.executable, "-m", "service.cli", "build", "--corpus", str(settings.corpus_dir)]
    subprocess.run([*command, "--index", str(scratch)], check=True, cwd=ROOT)
    return serving_engine(settings, scratch)


def _unslice(n: int, k: int) -> list[int]:
    """Where item i of a list ends up when it is answered slice by slice, `[r::k]` for each r."""
    order = [i for r in range(k) for i in range(r, n, k)]
    position = {item: at for at, item in enumerate(order)}
    return [position[i] for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="index folder")
    parser.add_argument("-n", type=int, default=1000, help="questions to answer")
    parser.add_argument("--repeats", type=float, default=0.25, help="share of repeated questions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two paths")
    args = parser.parse_args()

    dev = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    questions = faq_questions(dev, args.n, args.repeats, random.Random(args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(args.index, Path(tmp) / "index")
        unique = len({q.strip() for q in questions})
        print(f"{len(questions)} questions ({unique} distinct) from {len(dev)} dev questions")
        faq, answers = Path(tmp) / "faq.txt", Path(tmp) / "answers.csv"
        faq.write_text("\n".join(questions) + "\n", encoding="utf-8")
        # No rate limit: the loop would otherwise meet it (600/minute) rather than the search.
        with TestClient(create_app(Settings(rate_limit=""), engine)) as http:
            batch.answer(engine.searcher, questions[:8], top_k=TOP_K)  # warm both paths alike
            for q in questions[:8]:
                http.post("/ask", json={"question": q, "top_k": TOP_K})

            batch_runs: list[tuple[float, float]] = []
            loop_s = loop_cpu = 0.0
            singles = []
            for r in range(args.rounds):
                started, cpu = time.perf_counter(), time.process_time()
                results = batch.answer_rows(engine.searcher, batch.read_faq(faq), top_k=TOP_K)
                batch.write_results(answers, results)
                batch_runs.append((time.perf_counter() - started, time.process_time() - cpu))

                started, cpu = time.perf_counter(), time.process_time()
                singles += [
                    http.post("/ask", json={"question": q, "top_k": TOP_K})
                    for q in questions[r :: args.rounds]
                ]
                loop_s += time.perf_counter() - started
                loop_cpu += time.process_time() - cpu
            batch_s, batch_cpu = sorted(batch_runs)[len(batch_runs) // 2]  # the median run
            singles = [singles[order] for order in _unslice(len(questions), args.rounds)]

    differ = []
    for q, result, response in zip(questions, results, singles, strict=True):
        got = result.answer
        want = response.json()
        same = (
            response.status_code == 200
            and got.error is None
            and [h.passage.id for h in got.hits] == [p["id"] for p in want["passages"]]
            and got.answer_role == want["answer_role"]
        )
        if not same:
            differ.append(q)

    batch_qps, loop_qps = len(questions) / batch_s, len(questions) / loop_s
    ratio = batch_qps / loop_qps
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"batch (CLI path): {batch_qps:8.1f} questions/s  ({batch_s:.2f} s, CPU {batch_cpu:.2f} s)"
    )
    print(f"loop of /ask:     {loop_qps:8.1f} questions/s  ({loop_s:.2f} s, CPU {loop_cpu:.2f} s)")
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"ratio: {ratio:.1f}x ({verdict} the {TARGET:.0f}x target)")
    # On a shared machine wall time swings with the neighbours' load; CPU time much less.
    cores = os.cpu_count()
    print(f"CPU-time ratio: {loop_cpu / batch_cpu:.1f}x; load average {load} on {cores} cores")
    if differ:
        print(f"{len(differ)} answers differ, e.g. {differ[:3]}")
        return 1
    print(f"answers identical: {len(questions)} of {len(questions)} (top {TOP_K} ids and role)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
