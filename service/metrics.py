"""What roleqa counts, in one Prometheus registry that any part of the service may feed.

The registry is roleqa's own (not prometheus-client's global one), so `/metrics` shows roleqa's
figures and its process's, nothing a library registered; every module reports through the small
functions below rather than touching metric objects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from service.index import Index

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # resident memory, CPU time, open files

REQUESTS = Counter(
    "roleqa_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "roleqa_request_duration_seconds",
    "Time from request to the end of the response, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge("roleqa_in_flight", "Requests being worked on now.", registry=REGISTRY)
REJECTED = Counter(
    "roleqa_rejected",
    "Requests refused to protect the service, by reason.",
    ["reason"],
    registry=REGISTRY,
)
ANSWERS = Counter(
    "roleqa_answers",
    "Answers given over HTTP, by whether the corpus had an answer.",
    ["no_answer"],
    registry=REGISTRY,
)
CACHE = Counter(
    "roleqa_cache_lookups", "Answer cache lookups, by result.", ["result"], registry=REGISTRY
)
RELOADS = Counter(
    "roleqa_index_reloads", "Index reloads tried, by outcome.", ["outcome"], registry=REGISTRY
)


class _CacheRatio:
    """Hits over lookups since start, as a gauge: the figure people ask for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = 0
        self.lookups = 0

    def record(self, hit: bool) -> None:
        with self._lock:
            self.lookups += 1
            self.hits += hit

    def ratio(self) -> float:
        with self._lock:
            return self.hits / self.lookups if self.lookups else 0.0


_cache_ratio = _CacheRatio()
Gauge(
    "roleqa_cache_hit_ratio", "Answer cache hits over lookups since start.", registry=REGISTRY
).set_function(_cache_ratio.ratio)


class _IndexCollector(Collector):
    """Reads the index in use at scrape time, so a reload needs no bookkeeping."""

    def __init__(self) -> None:
        self.source: Callable[[], Index] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        if self.source is None:
            return
        index = self.source()
        model = index.manifest.get("model")
        info = InfoMetricFamily("roleqa_index", "The index being served.")
        info.add_metric(
            [],
            {
                "version": index.version,
                "model": str(model.get("id")) if isinstance(model, dict) else "",
                "built_at": str(index.manifest.get("built_at", "")),
            },
        )
        yield info
        yield GaugeMetricFamily(
            "roleqa_index_passages", "Passages in the index being served.", len(index.passages)
        )


_index = _IndexCollector()
REGISTRY.register(_index)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def record_in_flight(change: int) -> None:
    IN_FLIGHT.inc(change)


def record_rejection(reason: str) -> None:
    REJECTED.labels(reason).inc()


def record_answer(no_answer: bool) -> None:
    ANSWERS.labels(str(no_answer).lower()).inc()


def record_cache(hit: bool) -> None:
    """For an answer cache: call once per lookup."""
    CACHE.labels("hit" if hit else "miss").inc()
    _cache_ratio.record(hit)


def record_reload(outcome: str) -> None:
    RELOADS.labels(outcome).inc()


def serve_index(source: Callable[[], Index]) -> None:
    """Report on the index that `source` returns (the one in use) from now on."""
    _index.source = source


def exposition() -> bytes:
    return generate_latest(REGISTRY)
