"""Side-by-side benchmark: roleqa as `make run` serves it against a textbook service.

The textbook service is written below: FastAPI, the same model through sentence-transformers,
`IndexFlatIP` over the same passages, one uvicorn worker. Both run as subprocesses on loopback
and get the same stream of distinct questions, first from one client, then from several: no
answer comes from a cache (though words recur, as words do). Rounds are interleaved so that the
machine's other load falls on both alike, and the ratios come from this one run. The server's
CPU time per request is shown too: on a shared machine it is the figure least moved by others.
A bare ASGI app that does no work at all is timed alongside at concurrency 1: the floor that
the client, loopback and uvicorn set under every latency here.

    python scripts/bench.py                 # uses ./index, or builds one into a temp folder
    python scripts/bench.py --index DIR --rounds 3 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
TIMES = "\N{MULTIPLICATION SIGN}"
READY_TIMEOUT_S = 120.0
_TEMPLATES = ("{}", "{}", "What about {}?", "Who is responsible for {}?", "how does {} work")


@dataclass(frozen=True)
class Load:
    """How one server did on one batch of requests."""

    rps: float
    p50: float
    p95: float
    p99: float
    cpu_ms: float  # the server's CPU time per request: what other load on the machine hides least


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    cold_start_s: float
    log: Path

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def rss_mb(self) -> float:
        """Resident memory of the process tree."""
        return sum(int(p.memory_info().rss) for p in self.processes()) / 2**20

    def cpu_s(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.processes())


# --- the textbook baseline ----------------------------------------------------------------


def serve_baseline(index: Path, port: int) -> None:
    """The service everyone writes first: encode with torch per request, flat FAISS search."""
    import faiss
    import uvicorn
    from fastapi import FastAPI
    from sentence_transformers import SentenceTransformer

    from service.encoder import default_model_path

    version = index_version(index)
    passages = [json.loads(line) for line in (version / "passages.jsonl").open(encoding="utf-8")]
    model = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    vectors = model.encode([p["text"] for p in passages], normalize_embeddings=True)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    app = FastAPI()

    @app.get("/search")
    def search(q: str, k: int = 5) -> dict[str, object]:
        vector = model.encode([q], normalize_embeddings=True)
        scores, ids = flat.search(vector, k)
        hits = [
            {"id": passages[i]["id"], "score": float(s), "text": passages[i]["text"]}
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]
        return {"question": q, "passages": hits}

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning")


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """No work at all: what a request costs the client, loopback and uvicorn alone."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"status":"ready"}'})


def serve_floor(port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app, host="127.0.0.1", port=port, log_level="warning")


# --- set-up -------------------------------------------------------------------------------


def index_version(index: Path) -> Path:
    """The version folder an index root (or a version folder) stands for."""
    if (index / "manifest.json").is_file():
        return index
    return index / (index / "CURRENT").read_text(encoding="utf-8").strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def ensure_index(index: Path | None, tmp: Path) -> Path:
    """The given index if it is built, else a fresh build of the bundled corpus."""
    if index is not None and (index / "CURRENT").is_file():
        return index
    built = tmp / "index"
    print(f"building an index of {ROOT / 'corpus'} into {built} ...", file=sys.stderr)
    corpus = str(ROOT / "corpus")
    subprocess.run(
        [sys.executable, "-m", "service.cli", "build", "--corpus", corpus, "--index", str(built)],
        check=True,
        env=environment(),
        cwd=ROOT,
    )
    return built


def start(name: str, command: list[str], port: int, log: Path, env: dict[str, str]) -> Server:
    """Start a server and time it from process start to the first `/readyz` 200."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = started + READY_TIMEOUT_S
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return Server(name, process, url, time.perf_counter() - started, log)
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    process.kill()
    raise SystemExit(f"{name} was not ready within {READY_TIMEOUT_S:.0f} s")


@contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for s in servers:
            s.process.terminate()
        for s in servers:
            try:
                s.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s.process.kill()


def question_stream(version: Path, seed: int = 5) -> Iterator[str]:
    """Endless distinct search-box questions: word windows of the corpus, some as questions."""
    rng = random.Random(seed)
    words = [
        re.findall(r"[A-Za-z][A-Za-z'-]*", json.loads(line)["text"])
        for line in (version / "passages.jsonl").open(encoding="utf-8")
    ]
    seen: set[str] = set()
    while True:
        text = rng.choice(words)
        length = rng.randint(3, 10)
        at = rng.randrange(max(len(text) - length, 1))
        question = rng.choice(_TEMPLATES).format(" ".join(text[at : at + length]))
        if question not in seen:
            seen.add(question)
            yield question


# --- load ---------------------------------------------------------------------------------


def drive(server: Server, questions: list[str], concurrency: int) -> Load:
    cpu = server.cpu_s()
    rps, p50, p95, p99 = asyncio.run(send(server.url, questions, concurrency))
    return Load(rps, p50, p95, p99, (server.cpu_s() - cpu) / len(questions) * 1000)


async def send(url: str, questions: list[str], concurrency: int) -> tuple[float, ...]:
    """Send every question once, `concurrency` at a time: requests/s and latency percentiles."""
    latencies: list[float] = []
    pending = iter(questions)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as client:

        async def worker() -> None:
            for q in pending:
                # Built before the clock starts: what is timed is the round trip.
                request = client.build_request("GET", "/search", params={"q": q, "k": 5})
                t0 = time.perf_counter()
                response = await client.send(request)
                latencies.append(time.perf_counter() - t0)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return (len(ms) / elapsed, *(float(p) for p in np.percentile(ms, [50, 95, 99])))


def median_load(runs: list[Load]) -> Load:
    return Load(*(statistics.median(getattr(r, f.name) for r in runs) for f in fields(Load)))


# --- report -------------------------------------------------------------------------------


def table(
    base: Server, fast: Server, loads: dict[tuple[str, int], Load], rss: dict[str, float]
) -> list[str]:
    """Markdown rows: baseline, roleqa, and how many times better roleqa is."""
    rows = ["| metric | baseline | roleqa | roleqa better by |", "| --- | ---: | ---: | ---: |"]

    def row(metric: str, b: float, f: float, fmt: str, higher_is_better: bool) -> None:
        ratio = f / b if higher_is_better else b / f
        rows.append(f"| {metric} | {b:{fmt}} | {f:{fmt}} | {ratio:.1f}{TIMES} |")

    for c in sorted({c for _, c in loads}):
        b, f = loads[base.name, c], loads[fast.name, c]
        row(f"concurrency {c}: requests/s", b.rps, f.rps, ".0f", True)
        for p in ("p50", "p95", "p99"):
            row(f"concurrency {c}: {p} (ms)", getattr(b, p), getattr(f, p), ".2f", False)
        row(f"concurrency {c}: server CPU per request (ms)", b.cpu_ms, f.cpu_ms, ".2f", False)
    row("cold start to /readyz (s)", base.cold_start_s, fast.cold_start_s, ".2f", False)
    row("resident memory after the run (MB)", rss[base.name], rss[fast.name], ".0f", False)
    return rows


def targets(
    base: Server,
    fast: Server,
    loads: dict[tuple[str, int], Load],
    rss: dict[str, float],
    workers: int,
) -> list[str]:
    hi = max(c for _, c in loads)
    b1, f1, bh, fh = (
        loads[base.name, 1],
        loads[fast.name, 1],
        loads[base.name, hi],
        loads[fast.name, hi],
    )
    checks = [
        (f"concurrency 1 p50 at least 5{TIMES} lower", b1.p50 / f1.p50 >= 5),
        (f"concurrency {hi} requests/s at least 5{TIMES}", fh.rps / bh.rps >= 5),
        (f"concurrency {hi} p99 under 50 ms", fh.p99 < 50),
        ("cold start at most 2 s", fast.cold_start_s <= 2),
        ("resident memory at most 300 MB per worker", rss[fast.name] / workers <= 300),
    ]
    return [f"- {'met' if ok else 'MISSED'}: {what}" for what, ok in checks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="a built index root")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--requests", type=int, default=200, help="requests per round at c=1")
    parser.add_argument("--concurrency", type=int, default=8, help="the concurrent level")
    parser.add_argument("--warmup", type=int, default=100, help="requests before measuring")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="roleqa-bench-") as tmp:
        index = ensure_index(args.index, Path(tmp))
        version = index_version(index)
        python = sys.executable
        base_port, fast_port, floor_port = free_port(), free_port(), free_port()
        floor = start(
            "floor",
            [python, __file__, "--serve-floor", "--port", str(floor_port)],
            floor_port,
            Path(tmp) / "floor.log",
            environment(),
        )
        base = start(
            "baseline",
            [python, __file__, "--serve-baseline", str(index), "--port", str(base_port)],
            base_port,
            Path(tmp) / "baseline.log",
            environment(),
        )
        fast = start(
            "roleqa",
            [python, "-m", "service.cli", "serve", "--index", str(index), "--port", str(fast_port)],
            fast_port,
            Path(tmp) / "roleqa.log",
            # The per-client rate limit is a policy, not a capacity: one load generator is one
            # client, so it is lifted here; everything else is as `make run` serves it.
            environment(ROLEQA_RATE_LIMIT=""),
        )
        with running([floor, base, fast]):
            stream = question_stream(version)
            warm = [next(stream) for _ in range(args.warmup)]
            for server in (floor, base, fast):
                drive(server, warm, 1)
            runs: dict[tuple[str, int], list[Load]] = {}
            levels = {1: args.requests, args.concurrency: args.requests * 3}
            for r in range(args.rounds):
                for c, n in levels.items():
                    questions = [next(stream) for _ in range(n)]
                    pair = (base, fast) if r % 2 == 0 else (fast, base)
                    for server in (floor, *pair) if c == 1 else pair:
                        runs.setdefault((server.name, c), []).append(drive(server, questions, c))
            loads = {key: median_load(v) for key, v in runs.items()}
            rss = {server.name: server.rss_mb() for server in (base, fast)}
            workers = max(len(fast.processes()) - 1, 1)  # several workers have a supervisor

    cpu = platform.processor() or platform.machine()
    print(
        f"\n`python scripts/bench.py --rounds {args.rounds} --requests {args.requests} "
        f"--concurrency {args.concurrency}` on {os.cpu_count()} cores ({cpu}), load average "
        f"{os.getloadavg()[0]:.1f}: medians of {args.rounds} interleaved rounds of "
        f"{args.requests} distinct questions at concurrency 1 and {args.requests * 3} at "
        f"{args.concurrency}, after {args.warmup} to warm up; roleqa ran {workers} worker(s).\n"
    )
    print("\n".join(table(base, fast, loads, rss)))
    b1, f1, floor1 = loads[base.name, 1].p50, loads[fast.name, 1].p50, loads[floor.name, 1].p50
    print(
        f"\nThe floor: a bare ASGI app that does nothing, on the same client and questions, "
        f"answers in {floor1:.2f} ms p50 at concurrency 1 (the client, loopback and uvicorn). "
        f"Above it, roleqa takes {f1 - floor1:.2f} ms and the baseline {b1 - floor1:.2f} ms: "
        f"{(b1 - floor1) / (f1 - floor1):.1f}{TIMES} less."
    )
    print("\nTargets:\n" + "\n".join(targets(base, fast, loads, rss, workers)))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-baseline" and sys.argv[3] == "--port":
        serve_baseline(Path(sys.argv[2]), int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1:3] == ["--serve-floor", "--port"]:
        serve_floor(int(sys.argv[3]))
    else:
        main()
