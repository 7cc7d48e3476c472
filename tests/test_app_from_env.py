"""`service.api:app_from_env`, the factory uvicorn runs in the Docker image: settings from the
environment, the index they name, and a refused index stopping the start in one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from uvicorn.config import STARTUP_FAILURE

from service.api import app_from_env
from service.index import resolve
from service.settings import get_settings
from tests.conftest import ROOT


@pytest.fixture()
def fresh_settings() -> Iterator[None]:
    """get_settings() is cached per process; read the environment this test sets."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings")
def test_the_app_serves_the_index_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, index_dir: Path
) -> None:
    monkeypatch.setenv("ROLEQA_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("ROLEQA_MAX_QUESTION_CHARS", "40")
    with TestClient(app_from_env()) as client:
        ready = client.get("/readyz").json()
        assert ready["version"] == resolve(index_dir).name
        answer = client.get("/search", params={"q": "Who prioritizes the backlog?"}).json()
        assert answer["passages"] and answer["answer_role"]
        too_long = client.get("/search", params={"q": "Who prioritizes the backlog? " * 2})
        assert too_long.status_code == 422  # the environment's limit, not the default 1000


@pytest.mark.usefixtures("fresh_settings")
def test_a_missing_index_stops_the_start_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROLEQA_INDEX_DIR", str(tmp_path / "nothing"))
    with pytest.raises(SystemExit) as stopped:
        app_from_env()
    assert stopped.value.code == STARTUP_FAILURE
    message = capsys.readouterr().err
    assert message.startswith("roleqa: there is no index at ")
    assert message.count("\n") == 1


def test_several_workers_give_up_on_a_refused_index_rather_than_restart(tmp_path: Path) -> None:
    """uvicorn's supervisor starts a worker again when one dies, unless it failed to start."""
    command = [sys.executable, "-m", "uvicorn", "--factory", "service.api:app_from_env"]
    command += ["--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    env = {
        **os.environ,
        "ROLEQA_INDEX_DIR": str(tmp_path / "nothing"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    # Before the fix this ran until killed: each refused worker was started again.
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert "failed to start, stopping the parent process" in done.stderr
    starts = done.stderr.count("roleqa: there is no index at ")
    assert 1 <= starts <= 2, done.stderr  # one sentence per worker, and no worker restarted
    assert "Traceback" not in done.stderr
