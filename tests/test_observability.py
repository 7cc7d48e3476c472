"""/metrics counts what happens; every request leaves one JSON line in the access log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from service.api import create_app
from service.encoder import Encoder
from service.engine import Engine
from service.settings import Settings
from tests.indexes import offer, served_copy


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_latency_and_answers_are_counted(client: TestClient) -> None:
    before = scrape(client)
    client.get("/search", params={"q": "Who represents the customer?"})
    client.get("/search", params={"q": "How do I bake sourdough bread at home?"})
    client.get("/search", params={"q": ""})
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("roleqa_requests_total", method="GET", route="/search", status="200") == 2
    assert grew("roleqa_requests_total", method="GET", route="/search", status="422") == 1
    assert grew("roleqa_request_duration_seconds_count", method="GET", route="/search") == 3
    assert grew("roleqa_answers_total", no_answer="false") == 1
    assert grew("roleqa_answers_total", no_answer="true") == 1


def test_unknown_paths_share_one_label(client: TestClient) -> None:
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    routes = {
        dict(labels)["route"] for name, labels in scrape(client) if name == "roleqa_requests_total"
    }
    assert "unmatched" in routes
    assert not [r for r in routes if r.startswith("/no/such")]


def test_the_cache_feeds_a_hit_ratio(client: TestClient) -> None:
    before = scrape(client)
    for hit in (True, True, False):
        metrics.record_cache(hit)
    after = scrape(client)
    hits = value(after, "roleqa_cache_lookups_total", result="hit")
    misses = value(after, "roleqa_cache_lookups_total", result="miss")
    assert hits - value(before, "roleqa_cache_lookups_total", result="hit") == 2
    assert value(after, "roleqa_cache_hit_ratio") == pytest.approx(hits / (hits + misses))


def test_the_index_in_use_is_reported_and_follows_a_reload(
    index_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    root = tmp_path / "index"
    first = served_copy(index_dir, root)
    engine = Engine.open(root, encoder=encoder)
    with TestClient(create_app(Settings(index_dir=root), engine), client=("127.0.0.1", 1)) as c:
        samples = scrape(c)
        info = [dict(labels) for name, labels in samples if name == "roleqa_index_info"]
        assert [i["version"] for i in info] == [first.name]
        assert value(samples, "roleqa_index_passages") == len(engine.searcher.index.passages)
        second = offer(root)
        assert c.post("/admin/reload").status_code == 200
        info = [dict(labels) for name, labels in scrape(c) if name == "roleqa_index_info"]
        assert [i["version"] for i in info] == [second.name]


def test_every_request_writes_one_json_access_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="roleqa.access"):
        ok = client.get(
            "/search", params={"q": "Who owns the backlog?"}, headers={"X-Request-ID": "abc-1"}
        )
        bad = client.post("/ask", json={"question": ""})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "roleqa.access"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/search", 200),
        ("POST", "/ask", 422),
    ]
    assert [line["request_id"] for line in lines] == ["abc-1", bad.headers["x-request-id"]]
    assert lines[0]["index_version"] == ok.headers["x-index-version"]
    assert all(line["duration_ms"] > 0 for line in lines)
