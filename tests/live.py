"""A real `roleqa serve` in a child process, on a free loopback port, for tests that need one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str = ""
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


def roleqa(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m service.cli ARGS` with this checkout's code first on the path."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {}), "PYTHONPATH": path},
    )


def _drain(stream: IO[str], into: list[str]) -> None:
    for line in stream:  # read to the end, so a full pipe never stalls the server
        into.append(line.rstrip("\n"))


@contextmanager
def serving(
    index: Path, env: dict[str, str] | None = None, start_s: float = 180
) -> Iterator[Server]:
    server = Server(
        roleqa("serve", "--index", str(index), "--host", "127.0.0.1", "--port", "0", env=env)
    )
    assert server.process.stdout is not None and server.process.stderr is not None
    readers = [
        threading.Thread(target=_drain, args=(server.process.stdout, server.stdout), daemon=True),
        threading.Thread(target=_drain, args=(server.process.stderr, server.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + start_s
        while not server.url:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("roleqa serve did not start:\n" + "\n".join(server.stderr))
            found = [m for line in list(server.stderr) if (m := _LISTENING.search(line))]
            server.url = found[0].group(1) if found else ""
            time.sleep(0.1)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        for reader in readers:
            reader.join(timeout=5)
