"""Load test: `roleqa serve` on a free loopback port, hammered for a while by asyncio clients.

    python scripts/loadtest.py --index index [--duration 60] [--concurrency 32]

Prints errors, latency (p50, p99), requests per second, and the server's resident memory
before the load, after a warm-up and at the end (it should stay flat). The rate limit is
turned off for the run: the load test is one client on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Who represents the customer?",
    "What does a SAFe Product Manager do?",
    "Who manages several Agile Release Trains?",
    "What is the Product Owner responsible for?",
    "How do the Product Owner and the Product Manager differ?",
    "Who sets the product strategy?",
    "Who prioritises the team backlog?",
    "Which role works with a single Agile team?",
    "What skills does a Product Owner need?",
    "Who talks to customers about the market?",
    "Who accepts stories as done?",
    "What is the capital of France?",
]
_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@contextmanager
def server(index: Path) -> Iterator[tuple[str, psutil.Process]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "ROLEQA_RATE_LIMIT": "",
    }
    args = ["serve", "--index", str(index), "--host", "127.0.0.1", "--port", "0"]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            stdout=subprocess.DEVNULL,  # the access log: one line per request
            stderr=log,
            env=env,
        )
        try:
            url = ""
            while not url:
                if process.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"roleqa serve did not start:\n{log.read()}")
                time.sleep(0.2)
                log.seek(0)
                found = _LISTENING.search(log.read())
                url = found.group(1) if found else ""
            yield url, psutil.Process(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


async def client(url: str, worker: int, until: float, results: Results) -> None:
    n = worker
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        while time.monotonic() < until:
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            started = time.perf_counter()
            try:
                if n % 2:
                    r = await http.get("/search", params={"q": question})
                else:
                    r = await http.post("/ask", json={"question": question})
            except httpx.HTTPError as exc:
                results.errors[type(exc).__name__] += 1
                continue
            if r.status_code == 200:
                results.latencies.append(time.perf_counter() - started)
            else:
                results.errors[f"HTTP {r.status_code}"] += 1


async def load(url: str, concurrency: int, seconds: float) -> Results:
    results = Results()
    until = time.monotonic() + seconds
    await asyncio.gather(*(client(url, w, until, results) for w in range(concurrency)))
    return results


def mib(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before")
    options = parser.parse_args()

    with server(options.index) as (url, process):
        idle = mib(process)
        asyncio.run(load(url, options.concurrency, options.warmup))
        start = mib(process)
        began = time.monotonic()
        results = asyncio.run(load(url, options.concurrency, options.duration))
        elapsed = time.monotonic() - began
        end = mib(process)

    done = len(results.latencies)
    cuts = statistics.quantiles(results.latencies, n=100) if done > 1 else [float("nan")] * 99
    print(f"server          {url}, concurrency {options.concurrency}, {elapsed:.1f} s measured")
    print(f"requests        {done} answered, {sum(results.errors.values())} errors")
    for kind, count in results.errors.most_common():
        print(f"  error         {kind}: {count}")
    print(f"throughput      {done / elapsed:.1f} requests/s")
    print(f"latency         p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")
    print(
        f"resident memory {idle:.1f} MiB idle, {start:.1f} MiB after warm-up, {end:.1f} MiB "
        f"at the end ({(end - start) / start:+.1%} over the run)"
    )


if __name__ == "__main__":
    main()
