"""A new index version is taken up between requests; a bad one is refused and the old serves."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.encoder import Encoder
from service.engine import Engine
from service.settings import Settings
from tests.indexes import corrupt, mismatch, offer, scramble, served_copy, truncate

KEY = "reload-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture()
def root(index_dir: Path, tmp_path: Path) -> Path:
    """An index root of this test's own, serving a copy of the session index."""
    served_copy(index_dir, tmp_path / "index")
    return tmp_path / "index"


def serve(root: Path, encoder: Encoder, **settings: object) -> TestClient:
    engine = Engine.open(root, encoder=encoder)
    app = create_app(Settings(index_dir=root, **settings), engine)  # type: ignore[arg-type]
    return TestClient(app, client=("127.0.0.1", 50000))


@pytest.fixture()
def client(root: Path, encoder: Encoder) -> Iterator[TestClient]:
    with serve(root, encoder, api_keys=KEY) as c:
        yield c


def serving(client: TestClient) -> str:
    version: str = client.get("/readyz").json()["version"]
    return version


def test_reload_serves_the_version_the_pointer_names(client: TestClient, root: Path) -> None:
    before = serving(client)
    new = offer(root)
    r = client.post("/admin/reload", headers=AUTH)
    assert r.status_code == 200, r.text
    passages = client.get("/readyz").json()["passages"]
    assert r.json() == {
        "previous": before,
        "version": new.name,
        "passages": passages,
        "changed": True,
    }
    assert serving(client) == new.name
    answer = client.get("/search", params={"q": "Who represents the customer?"}, headers=AUTH)
    assert answer.headers["x-index-version"] == new.name


def scanned_by_gc(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_the_served_index_is_left_out_of_garbage_collection_scans(
    root: Path, encoder: Encoder
) -> None:
    """A full scan of it holds the GIL for tens of ms: every request in flight would wait."""
    gc.unfreeze()
    with serve(root, encoder, api_keys=KEY) as c:
        engine: Engine = c.app.state.engine  # type: ignore[attr-defined]
        assert not scanned_by_gc(engine.searcher.index.passages)
        offer(root)
        assert c.post("/admin/reload", headers=AUTH).status_code == 200
        assert not scanned_by_gc(engine.searcher.index.passages)  # the new version's too
    gc.unfreeze()


def test_reload_with_the_pointer_unmoved_changes_nothing(client: TestClient) -> None:
    before = serving(client)
    r = client.post("/admin/reload", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["changed"] is False
    assert serving(client) == before


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (corrupt, "is corrupt or incomplete"),
        (truncate, "is corrupt or incomplete"),
        (mismatch, "was built with model"),
        (scramble, "fails its self-check"),
    ],
)
def test_a_bad_index_offered_to_reload_is_refused_and_the_old_one_serves(
    client: TestClient, root: Path, damage: Callable[[Path], None], reason: str
) -> None:
    before = serving(client)
    bad = offer(root, damage)
    r = client.post("/admin/reload", headers=AUTH)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert reason in detail
    assert bad.name in detail
    assert f"still serving {before}" in detail
    assert str(root) not in detail  # no internal path in a response
    assert serving(client) == before
    answer = client.get("/search", params={"q": "Who represents the customer?"}, headers=AUTH)
    assert answer.status_code == 200
    assert answer.headers["x-index-version"] == before
    assert answer.json()["passages"]


def test_reload_needs_the_api_key_when_keys_are_set(client: TestClient) -> None:
    assert client.post("/admin/reload").status_code == 401
    assert (
        client.post("/admin/reload", headers={"X-API-Key": "not-the-key-at-all"}).status_code == 401
    )


def test_without_keys_only_this_machine_may_reload(root: Path, encoder: Encoder) -> None:
    with serve(root, encoder) as local:
        assert local.post("/admin/reload").status_code == 200
    engine = Engine.open(root, encoder=encoder)
    app = create_app(Settings(index_dir=root), engine)
    with TestClient(app, client=("10.1.2.3", 50000)) as remote:
        r = remote.post("/admin/reload")
        assert r.status_code == 403
        assert "only from this machine" in r.json()["detail"]


def test_a_watched_pointer_is_picked_up_without_a_request(root: Path, encoder: Encoder) -> None:
    with serve(root, encoder, watch_index_s=0.1) as client:
        new = offer(root)
        deadline = time.monotonic() + 60
        while serving(client) != new.name and time.monotonic() < deadline:
            time.sleep(0.1)
        assert serving(client) == new.name
