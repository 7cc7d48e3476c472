"""The HTTP contract of DESIGN.md, field by field, through the real app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.engine import Engine
from service.settings import Settings
from tests.conftest import CORPUS

SOURCE = (CORPUS / "safe-pm-vs-po.txt").read_text(encoding="utf-8")
ROLES = {"SAFe Product Manager", "Product Owner", "shared", None}


def check_answer(body: dict[str, object], question: str, k: int) -> None:
    assert body["question"] == question
    assert body["answer_role"] in ROLES
    assert isinstance(body["confidence"], float) and 0 <= body["confidence"] <= 1
    assert isinstance(body["no_answer"], bool)
    assert isinstance(body["took_ms"], float)
    passages = body["passages"]
    assert isinstance(passages, list) and len(passages) == k
    for rank, p in enumerate(passages, start=1):
        assert p["rank"] == rank
        assert p["id"].startswith("safe-pm-vs-po#")
        assert p["source"] == "safe-pm-vs-po.txt"
        assert SOURCE[p["start"] : p["end"]] == p["text"]
        assert p["answer"] in p["text"]
        assert p["role"] in ROLES
        assert set(p["role_scores"]) == {"SAFe Product Manager", "Product Owner"}
        assert abs(sum(p["role_scores"].values()) - 1) < 1e-3
        assert isinstance(p["section"], list)
        assert 0 <= p["score"] <= 1
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True) or body["answer_role"] == "shared"


def test_search_answers_the_readme_question(client: TestClient) -> None:
    r = client.get("/search", params={"q": "who prioritizes the backlog"})
    assert r.status_code == 200
    body = r.json()
    check_answer(body, "who prioritizes the backlog", 5)
    assert body["answer_role"] == "Product Owner"
    assert body["no_answer"] is False
    assert "backlog" in body["passages"][0]["text"]


def test_ask_equals_search(client: TestClient) -> None:
    q = "Who represents the customer?"
    got = client.post("/ask", json={"question": q, "top_k": 3}).json()
    check_answer(got, q, 3)
    same = client.get("/search", params={"q": q, "k": 3}).json()
    assert [p["id"] for p in got["passages"]] == [p["id"] for p in same["passages"]]


def test_role_filter_keeps_that_role_and_shared(client: TestClient) -> None:
    body = client.get("/search", params={"q": "communication skills", "role": "po", "k": 10}).json()
    assert body["passages"]
    assert {p["role"] for p in body["passages"]} <= {"Product Owner", "shared"}


def test_out_of_scope_question_has_no_answer(client: TestClient) -> None:
    body = client.get("/search", params={"q": "what is the capital of France"}).json()
    assert body["no_answer"] is True
    assert body["confidence"] < 0.5


def test_explain_adds_the_parts_of_each_score(client: TestClient) -> None:
    plain = client.get("/search", params={"q": "backlog"}).json()
    assert all(p.get("explain") is None for p in plain["passages"])
    body = client.post("/ask", json={"question": "what does the PO do?", "explain": True}).json()
    for p in body["passages"]:
        assert set(p["explain"]) == {"lexical", "dense", "sentence", "heading", "role"}


def test_roles_health_and_readiness(client: TestClient) -> None:
    roles = client.get("/roles").json()
    assert [r["name"] for r in roles["roles"]] == ["SAFe Product Manager", "Product Owner"]
    assert all(r["passages"] > 0 for r in roles["roles"])
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["passages"] == 36
    assert ready["version"].startswith("v-") and ready["files"] == ["safe-pm-vs-po.txt"]
    assert client.get("/docs").status_code == 200
    assert "/search" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"q": ""}, "empty"),
        ({"q": "   "}, "empty"),
        ({"q": "x" * 1001}, "limit is 1000"),
        ({"q": "backlog", "k": 0}, "k"),
        ({"q": "backlog", "k": 51}, "k"),
        ({"q": "backlog", "k": "many"}, "k"),
        ({"q": "backlog", "role": "CEO"}, "unknown role"),
        ({}, "q"),
    ],
)
def test_bad_search_gets_a_422_that_says_what_is_wrong(
    client: TestClient, params: dict[str, str | int], says: str
) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 422
    assert says in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"question": ""}, "empty"),
        ({"question": "\t \n"}, "empty"),
        ({"question": "a" * 1001}, "limit is 1000"),
        ({"question": "backlog", "top_k": 0}, "top_k"),
        ({"question": "backlog", "top_k": 51}, "top_k"),
        ({"question": "backlog", "role": "Janitor"}, "unknown role"),
        ({"question": 42}, "question"),
        ({"top_k": 3}, "question"),
        ({"question": "backlog", "colour": "red"}, "colour"),
    ],
)
def test_bad_ask_gets_a_422_that_says_what_is_wrong(
    client: TestClient, body: dict[str, object], says: str
) -> None:
    r = client.post("/ask", json=body)
    assert r.status_code == 422
    assert says in r.json()["detail"]


def test_configured_limits_apply_to_every_route(settings: Settings, engine: Engine) -> None:
    tight = settings.model_copy(update={"max_top_k": 3, "max_question_chars": 20})
    with TestClient(create_app(tight, engine)) as c:
        assert c.get("/search", params={"q": "backlog", "k": 4}).status_code == 422
        assert (
            "at most 3" in c.post("/ask", json={"question": "backlog", "top_k": 4}).json()["detail"]
        )
        assert "limit is 20" in c.post("/ask", json={"question": "b" * 21}).json()["detail"]
        r = c.post("/ask/batch", json={"questions": ["backlog"], "top_k": 9})
        assert r.status_code == 422
        assert c.post("/ask", json={"question": "backlog", "top_k": 3}).status_code == 200
