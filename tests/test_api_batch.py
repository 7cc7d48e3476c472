"""`POST /ask/batch`: many questions at once, answer for answer the same as `/ask`."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api import create_app
from service.engine import Engine
from service.settings import Settings
from tests.conftest import SHARED

SEED = [
    json.loads(line)["question"]
    for line in (SHARED / "eval" / "seed_dev.jsonl").read_text(encoding="utf-8").splitlines()
]


def comparable(answer: dict[str, object]) -> dict[str, object]:
    """An answer without its timing; scores may differ in the last float bits of the encoder."""
    out = {k: v for k, v in answer.items() if k not in ("took_ms", "confidence", "passages")}
    passages = answer["passages"]
    assert isinstance(passages, list)
    out["passages"] = [{k: v for k, v in p.items() if k != "score"} for p in passages]
    return out


def numbers(answer: dict[str, object]) -> list[float]:
    passages = answer["passages"]
    assert isinstance(passages, list)
    return [float(str(answer["confidence"])), *(float(p["score"]) for p in passages)]


def answers_counted(client: TestClient) -> float:
    text = client.get("/metrics").text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "roleqa_answers_total"
    )


def test_a_batch_of_100_answers_exactly_as_100_single_asks(client: TestClient) -> None:
    questions = [
        (q, q.lower(), f"Please tell me: {q}")[i // len(SEED) % 3] for i, q in enumerate(SEED * 3)
    ][:100]

    response = client.post("/ask/batch", json={"questions": questions, "top_k": 3})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 100
    for question, got in zip(questions, results, strict=True):
        single = client.post("/ask", json={"question": question, "top_k": 3})
        assert single.status_code == 200
        want = single.json()
        assert comparable(got) == comparable(want)
        assert numbers(got) == pytest.approx(numbers(want), abs=1e-3)
        assert got["error"] is None and len(got["passages"]) == 3


def test_an_invalid_item_gets_an_error_in_its_result_not_a_failed_batch(
    client: TestClient,
) -> None:
    questions: list[object] = [
        "Who represents the customer?",
        "",
        "   ",
        42,
        None,
        ["a list"],
        "why " * 300,
        "who\x07 rings",
        "  Who represents the customer?  ",
    ]

    before = answers_counted(client)
    response = client.post("/ask/batch", json={"questions": questions})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(questions)
    assert answers_counted(client) - before == 2  # in /metrics, only the answers given
    errors = [r["error"] for r in results]
    assert errors[0] is None and errors[-1] is None
    expected = ["empty", "empty", "must be text", "missing", "must be text", "limit is 1000"]
    for error, fragment in zip(errors[1:-2], expected, strict=True):
        assert error is not None and fragment in error
    assert "control characters" in str(errors[-2])
    for result in results[1:-1]:
        assert result["passages"] == [] and result["answer_role"] is None
    assert comparable(results[0]) == comparable(results[-1])  # asked twice, answered alike
    assert results[0]["question"] == "Who represents the customer?"


def test_more_than_the_batch_limit_is_refused_with_413(settings: Settings, engine: Engine) -> None:
    small = settings.model_copy(update={"max_batch": 5})
    with TestClient(create_app(small, engine)) as client:
        at_limit = client.post("/ask/batch", json={"questions": ["Who is the PO?"] * 5})
        over = client.post("/ask/batch", json={"questions": ["Who is the PO?"] * 6})

    assert at_limit.status_code == 200
    assert len(at_limit.json()["results"]) == 5
    assert over.status_code == 413
    assert "6" in over.json()["detail"] and "limit is 5" in over.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "questions"),
        ({"questions": "Who is the PO?"}, "questions"),
        ({"questions": ["Who is the PO?"], "top_k": 0}, "top_k"),
        ({"questions": ["Who is the PO?"], "role": "Janitor"}, "unknown role"),
        ({"questions": ["Who is the PO?"], "colour": "red"}, "colour"),
    ],
)
def test_a_malformed_batch_request_is_a_clear_422(
    client: TestClient, body: dict[str, object], fragment: str
) -> None:
    response = client.post("/ask/batch", json=body)

    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_a_batch_honours_role_and_an_empty_batch_is_empty(client: TestClient) -> None:
    role = "Product Owner"
    response = client.post(
        "/ask/batch", json={"questions": ["What does the role own?"], "role": role, "top_k": 5}
    )
    assert response.status_code == 200
    passages = response.json()["results"][0]["passages"]
    assert passages and all(p["role"] in (role, "shared") for p in passages)

    empty = client.post("/ask/batch", json={"questions": []})
    assert empty.status_code == 200 and empty.json() == {"results": []}
