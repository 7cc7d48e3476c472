"""A catalogue of bad requests: each gets a 4xx whose detail says what is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    status: int
    says: str  # the detail must contain this
    kwargs: dict[str, Any] = field(default_factory=dict)


def ask(name: str, body: object, status: int, says: str) -> Bad:
    return Bad(name, "POST", "/ask", status, says, {"json": body})


def raw(name: str, content: bytes, status: int, says: str, headers: dict[str, str] = JSON) -> Bad:
    return Bad(name, "POST", "/ask", status, says, {"content": content, "headers": headers})


def search(name: str, params: dict[str, object], status: int, says: str) -> Bad:
    return Bad(name, "GET", "/search", status, says, {"params": params})


def chunks(size: int) -> Iterator[bytes]:
    """A body with no Content-Length (sent chunked), so only its bytes can tell its size."""
    for _ in range(size // 65536):
        yield b" " * 65536


CATALOGUE = [
    raw("empty body", b"", 422, "the body is missing"),
    Bad("no body, no content type", "POST", "/ask", 422, "the body is missing"),
    raw("malformed JSON", b'{"question": "who', 422, "the body is not valid JSON"),
    raw("trailing garbage", b'{"question": "who"} x', 422, "the body is not valid JSON"),
    raw("invalid UTF-8", b'{"question": "caf\xe9 \xff"}', 400, "not valid UTF-8"),
    raw(
        "wrong content type",
        b'{"question": "who?"}',
        422,
        "not text/plain",
        {"content-type": "text/plain"},
    ),
    raw(
        "a form, not JSON",
        b"question=who",
        422,
        "must be JSON sent as application/json",
        {"content-type": "application/x-www-form-urlencoded"},
    ),
    raw("JSON nested too deeply", b"[" * 100_000, 400, "nested too deeply"),
    ask("a list, not an object", ["who?"], 422, "must be a JSON object"),
    ask("a string, not an object", "who?", 422, "must be a JSON object"),
    ask("question missing", {"top_k": 3}, 422, "question: Field required"),
    ask("question a number", {"question": 42}, 422, "question: Input should be a valid string"),
    ask("question null", {"question": None}, 422, "question: Input should be a valid string"),
    ask("question empty", {"question": ""}, 422, "question is empty"),
    ask("question blank", {"question": " \t\n "}, 422, "question is empty"),
    ask("question too long", {"question": "why " * 400}, 422, "the limit is 1000"),
    ask("control characters", {"question": "who\x00 owns\x1b it?"}, 422, "control characters"),
    ask(
        "unknown field",
        {"question": "who?", "topk": 3},
        422,
        "topk: Extra inputs are not permitted",
    ),
    ask("negative top_k", {"question": "who?", "top_k": -3}, 422, "top_k: Input should be greater"),
    ask("zero top_k", {"question": "who?", "top_k": 0}, 422, "top_k: Input should be greater"),
    ask("huge top_k", {"question": "who?", "top_k": 10**12}, 422, "top_k: Input should be less"),
    ask(
        "top_k a word",
        {"question": "who?", "top_k": "five"},
        422,
        "top_k: Input should be a valid integer",
    ),
    ask(
        "top_k a fraction",
        {"question": "who?", "top_k": 2.5},
        422,
        "top_k: Input should be a valid integer",
    ),
    ask("unknown role", {"question": "who?", "role": "Janitor"}, 422, "unknown role 'Janitor'"),
    ask("role of no words", {"question": "who?", "role": "-"}, 422, "unknown role '-'"),
    ask(
        "role a list",
        {"question": "who?", "role": ["PO"]},
        422,
        "role: Input should be a valid string",
    ),
    ask(
        "explain a word",
        {"question": "who?", "explain": "maybe"},
        422,
        "explain: Input should be a valid boolean",
    ),
    raw("a body of 2 MB", b" " * 2_000_000, 413, "larger than the limit of 1048576 bytes"),
    Bad(
        "a body of 2 MB, chunked",
        "POST",
        "/ask",
        413,
        "larger than the limit",
        {"content": chunks(2_000_000), "headers": JSON},
    ),
    raw(
        "Content-Length not a number",
        b"{}",
        400,
        "Content-Length",
        {**JSON, "content-length": "lots"},
    ),
    search("q missing", {}, 422, "q: Field required"),
    search("q empty", {"q": ""}, 422, "question is empty"),
    search("q too long", {"q": "x" * 5000}, 422, "the limit is 1000"),
    search("q with a NUL", {"q": "who\x00?"}, 422, "control characters"),
    search("k negative", {"q": "who?", "k": -1}, 422, "k: Input should be greater"),
    search("k a word", {"q": "who?", "k": "many"}, 422, "k: Input should be a valid integer"),
    search("unknown role", {"q": "who?", "role": "Janitor"}, 422, "unknown role 'Janitor'"),
    search("role of no words", {"q": "who?", "role": "'"}, 422, 'unknown role "\'"'),
    Bad("wrong method", "DELETE", "/ask", 405, "Method Not Allowed"),
    Bad("no such path", "GET", "/answers", 404, "Not Found"),
]


@pytest.mark.parametrize("bad", CATALOGUE, ids=lambda b: b.name)
def test_a_bad_request_gets_a_4xx_that_says_what_is_wrong(client: TestClient, bad: Bad) -> None:
    r = client.request(bad.method, bad.path, **bad.kwargs)
    assert r.status_code == bad.status, r.text
    assert r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    assert bad.says in detail
    assert "Traceback" not in r.text
    assert str(ROOT) not in r.text


def test_the_catalogue_is_long_enough() -> None:
    assert len(CATALOGUE) >= 25


def test_a_batch_of_ten_thousand_is_refused(client: TestClient) -> None:
    body = json.dumps({"questions": ["Who represents the customer?"] * 10_000})
    r = client.post("/ask/batch", content=body, headers=JSON)
    assert r.status_code == 413
    assert "10000 in one batch; the limit is 1000" in r.json()["detail"]
