"""The search page, the widget file and CORS, over HTTP (the browser drives them in test_widget)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.engine import Engine
from service.settings import Settings

INTRANET = "http://intranet.example"
ELSEWHERE = "http://elsewhere.example"


@pytest.fixture()
def cors_client(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app configured as an operator would: ROLEQA_CORS_ORIGINS in the environment."""
    monkeypatch.setenv("ROLEQA_CORS_ORIGINS", f"{INTRANET}, http://wiki.example")
    configured = Settings(index_dir=settings.index_dir, corpus_dir=settings.corpus_dir)
    assert configured.cors_origins == [INTRANET, "http://wiki.example"]
    with TestClient(create_app(configured, engine)) as c:
        yield c


def preflight(
    client: TestClient, origin: str, method: str = "GET", path: str = "/search", headers: str = ""
) -> dict[str, str]:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    response = client.options(path, headers=request_headers)
    return {"status": str(response.status_code), **response.headers}


def test_widget_js_is_served_as_javascript_with_a_cache_header(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "customElements.define(TAG, RoleqaSearch)" in response.text
    assert client.head("/widget.js").status_code == 200


def test_search_page_runs_under_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert '<script src="widget.js" defer></script>' in response.text
    assert "<roleqa-search" in response.text
    assert "onclick" not in response.text and "<script>" not in response.text
    stylesheet = client.get("/page.css")
    assert stylesheet.headers["content-type"].startswith("text/css")


def test_page_routes_stay_out_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/search" in paths
    assert not {"/", "/widget.js", "/page.css"} & set(paths)


def test_preflight_from_an_allowed_origin_gets_the_cors_headers(cors_client: TestClient) -> None:
    answer = preflight(cors_client, INTRANET)
    assert answer["status"] == "200"
    assert answer["access-control-allow-origin"] == INTRANET
    methods = {m.strip() for m in answer["access-control-allow-methods"].split(",")}
    assert {"GET", "POST"} <= methods
    assert "DELETE" not in methods

    ask = preflight(cors_client, INTRANET, "POST", "/ask", headers="content-type")
    assert ask["status"] == "200"
    assert "content-type" in ask["access-control-allow-headers"].lower()

    response = cors_client.get(
        "/search", params={"q": "who owns the backlog"}, headers={"Origin": INTRANET}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == INTRANET
    assert "origin" in response.headers["vary"].lower()


def test_preflight_is_refused_for_other_origins_methods_and_headers(
    cors_client: TestClient,
) -> None:
    for refused in (
        preflight(cors_client, ELSEWHERE),
        preflight(cors_client, INTRANET, "DELETE"),
        preflight(cors_client, INTRANET, "POST", "/ask", headers="x-unlisted-header"),
    ):
        assert refused["status"] == "400"
    assert "access-control-allow-origin" not in preflight(cors_client, ELSEWHERE)

    response = cors_client.get(
        "/search", params={"q": "who owns the backlog"}, headers={"Origin": ELSEWHERE}
    )
    assert "access-control-allow-origin" not in response.headers


def test_by_default_no_other_origin_may_call_the_api(client: TestClient) -> None:
    response = client.get(
        "/search", params={"q": "who owns the backlog"}, headers={"Origin": INTRANET}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight(client, INTRANET)
