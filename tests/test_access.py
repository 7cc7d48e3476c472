"""Only callers with a key get in (when keys are set), none too often, from allowed origins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api import create_app
from service.engine import Engine
from service.settings import Settings

KEYS = ("first-key-0123456789abcdef", "second-key-0123456789abcdef")
ASK = {"question": "Who represents the customer?"}
ORIGIN = "https://intranet.example"


def client_for(settings: Settings, engine: Engine, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), engine))


@pytest.fixture()
def keyed(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    keys = [SecretStr(k) for k in KEYS]
    with client_for(settings, engine, api_keys=keys, rate_limit="") as c:
        yield c


def test_without_a_key_the_api_answers_401(keyed: TestClient) -> None:
    for r in (keyed.post("/ask", json=ASK), keyed.get("/roles"), keyed.get("/metrics")):
        assert r.status_code == 401
        assert "an API key is required" in r.json()["detail"]
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer not-a-key-we-know-of"}, {"X-API-Key": KEYS[0][:-1]}],
)
def test_a_wrong_key_gets_401(keyed: TestClient, headers: dict[str, str]) -> None:
    r = keyed.post("/ask", json=ASK, headers=headers)
    assert r.status_code == 401
    assert r.json()["detail"] == "the API key is not valid"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEYS[0]}"},
        {"Authorization": f"bearer  {KEYS[0]}"},
        {"X-API-Key": KEYS[1]},
    ],
)
def test_a_valid_key_gets_in_either_way(keyed: TestClient, headers: dict[str, str]) -> None:
    assert keyed.post("/ask", json=ASK, headers=headers).status_code == 200


@pytest.mark.parametrize("authorization", [f"Basic {KEYS[0]}", "Bearer", "Bearer   "])
def test_a_key_under_another_scheme_or_none_is_no_key(
    keyed: TestClient, authorization: str
) -> None:
    r = keyed.post("/ask", json=ASK, headers={"Authorization": authorization})
    assert r.status_code == 401
    assert "an API key is required" in r.json()["detail"]


def test_probes_the_page_and_the_docs_stay_open(keyed: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/", "/widget.js", "/openapi.json", "/docs", "/redoc"):
        assert keyed.get(path).status_code == 200, path


def test_behind_keys_a_path_that_does_not_exist_says_401_not_404(keyed: TestClient) -> None:
    """Without a key, the API does not tell which of its paths exist."""
    assert keyed.get("/answers").status_code == 401
    assert keyed.get("/answers", headers={"X-API-Key": KEYS[0]}).status_code == 404


def test_a_browser_preflight_needs_no_key(settings: Settings, engine: Engine) -> None:
    """A browser sends no key with a CORS preflight: it is answered before the key check."""
    keys = [SecretStr(k) for k in KEYS]
    with client_for(settings, engine, api_keys=keys, cors_origins=[ORIGIN]) as c:
        preflight = c.options(
            "/ask",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        asked = c.post("/ask", json=ASK, headers={"Origin": ORIGIN, "X-API-Key": KEYS[1]})
        assert asked.status_code == 200
        assert asked.headers["access-control-allow-origin"] == ORIGIN


def test_the_schema_declares_the_keys_where_they_are_needed(keyed: TestClient) -> None:
    schema = keyed.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "description": "an API key",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    paths = schema["paths"]
    assert paths["/ask"]["post"]["security"] == [{"APIKeyHeader": []}, {"HTTPBearer": []}]
    assert "401" in paths["/ask"]["post"]["responses"]
    assert "security" not in paths["/healthz"]["get"]
    assert "401" not in paths["/healthz"]["get"]["responses"]


def test_public_search_lets_the_search_box_in_without_a_key(
    settings: Settings, engine: Engine
) -> None:
    keys = [SecretStr(KEYS[0])]
    with client_for(settings, engine, api_keys=keys, public_search=True) as c:
        assert c.get("/search", params={"q": "Who represents the customer?"}).status_code == 200
        assert c.post("/ask", json=ASK).status_code == 401


def test_a_burst_past_the_rate_limit_gets_429_with_retry_after(
    settings: Settings, engine: Engine
) -> None:
    with client_for(settings, engine, rate_limit="3/minute") as c:
        statuses = [c.get("/roles").status_code for _ in range(3)]
        r = c.get("/roles")
        assert statuses == [200, 200, 200]
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "too many requests" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200  # probes are not counted


def test_the_rate_limit_is_per_key_and_counts_wrong_keys_by_address(
    settings: Settings, engine: Engine
) -> None:
    keys = [SecretStr(k) for k in KEYS]
    with client_for(settings, engine, api_keys=keys, rate_limit="2/minute") as c:
        first, second = ({"X-API-Key": k} for k in KEYS)
        assert [c.get("/roles", headers=first).status_code for _ in range(3)] == [200, 200, 429]
        assert c.get("/roles", headers=second).status_code == 200
        wrong = {"X-API-Key": "guessing-0123456789abcdef"}
        assert [c.get("/roles", headers=wrong).status_code for _ in range(3)] == [401, 401, 429]


def test_only_configured_origins_get_cors_headers(settings: Settings, engine: Engine) -> None:
    with client_for(settings, engine, cors_origins=[ORIGIN]) as c:
        allowed = c.get("/roles", headers={"Origin": ORIGIN})
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-credentials" not in allowed.headers
        other = c.get("/roles", headers={"Origin": "https://elsewhere.example"})
        assert other.status_code == 200
        assert not [h for h in other.headers if h.startswith("access-control-")]
        preflight = c.options(
            "/ask",
            headers={
                "Origin": "https://elsewhere.example",
                "Access-Control-Request-Method": "POST",
            },
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_every_response_carries_security_headers_and_a_request_id(client: TestClient) -> None:
    r = client.get("/roles")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert len(r.headers["x-request-id"]) == 32
    assert r.headers["x-index-version"].startswith("v-")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42.a_b", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has space", False),
        ("a/b", False),
    ],
)
def test_a_sane_request_id_is_echoed_and_any_other_replaced(
    client: TestClient, given: str, kept: bool
) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"]
    assert (echoed == given) is kept
    if not kept:
        assert len(echoed) == 32
