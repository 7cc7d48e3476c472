"""`service.api:app_from_env`, the factory uvicorn runs in the Docker image: settings from the
environment, the index they name, and a refused index stopping the start in one sentence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import app_from_env
from service.index import resolve
from service.settings import get_settings


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
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROLEQA_INDEX_DIR", str(tmp_path / "nothing"))
    with pytest.raises(SystemExit) as stopped:
        app_from_env()
    message = str(stopped.value.code)
    assert message.startswith("roleqa: there is no index at ")
    assert "\n" not in message
