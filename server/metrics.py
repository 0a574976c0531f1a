"""Prometheus metrics: what an operator watches, never what a client wrote.

Counters and histograms are process-wide objects the web layer and the services bump.
Under gunicorn each worker process counts for itself; with `PROMETHEUS_MULTIPROC_DIR`
set (before the first import of `prometheus_client`, as `gunicorn.conf.py` and
the systemd unit do) every process writes its values to files there and `/metrics`
adds them up, whichever worker answers the scrape. Without it (the development server,
the tests) the values are this process's own.

Gauges of the site's state (open reconciliation items, held pushes) are read from the
directory at scrape time, so they are the same whichever process answers and need no
multiprocess bookkeeping. Labels are route rules, status codes and error codes only:
never an id, a path with values, or anything a device sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "sopu_http_requests",
    "HTTP requests by route rule, method and status.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "sopu_http_request_duration_seconds",
    "Time to produce a response, by route rule (a long poll: until it starts streaming).",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
DELIVERED = Counter(
    "sopu_documents_delivered",
    "Documents sent to devices (_bulk_get and _changes with include_docs).",
    registry=REGISTRY,
)
PUSHED = Counter(
    "sopu_documents_pushed",
    "Documents devices pushed, by outcome (accepted, refused).",
    ["outcome"],
    registry=REGISTRY,
)
MERGES = Counter(
    "sopu_merges",
    "Merge revisions written (the gateway after a push, the sweeper).",
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "sopu_store_errors",
    "Requests answered with a store fault (store_unavailable, insufficient_storage).",
    ["code"],
    registry=REGISTRY,
)
DIRECTORY_ERRORS = Counter(
    "sopu_directory_errors",
    "Requests that failed on the directory database (by exception type).",
    ["kind"],
    registry=REGISTRY,
)


# The labelled children of the two per-request metrics, looked up once per label set:
# `labels()` takes a lock and builds a key on every call, on every request. The label
# sets are bounded (route rules x methods x statuses), so these stay small.
_REQUEST_CHILDREN: dict[tuple[str, str, int], object] = {}
_LATENCY_CHILDREN: dict[str, object] = {}


def request_counter(endpoint: str, method: str, status: int):
    """`REQUESTS.labels(endpoint, method, status)`, cached."""
    key = (endpoint, method, status)
    child = _REQUEST_CHILDREN.get(key)
    if child is None:
        child = _REQUEST_CHILDREN[key] = REQUESTS.labels(endpoint, method, str(status))
    return child


def latency_histogram(endpoint: str):
    """`LATENCY.labels(endpoint)`, cached."""
    child = _LATENCY_CHILDREN.get(endpoint)
    if child is None:
        child = _LATENCY_CHILDREN[endpoint] = LATENCY.labels(endpoint)
    return child


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class SiteGauges:
    """Gauges read from the directory when scraped (`read` returns name → value)."""

    def __init__(self, read: Callable[[], dict[str, float]]):
        self.read = read

    def collect(self) -> Iterable[Metric]:
        values = self.read()
        yield GaugeMetricFamily(
            "sopu_reconciliation_items_open",
            "Open reconciliation items in documents of cases not destroyed.",
            value=values["reconciliation_items"],
        )
        yield GaugeMetricFamily(
            "sopu_quarantined_pushes",
            "Pushes held in quarantine for a supervisor.",
            value=values["quarantined_pushes"],
        )


class _ThisProcess:
    """This process's own metrics, as one collector of a scrape's registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition(read_gauges: Callable[[], dict[str, float]]) -> tuple[bytes, str]:
    """The text exposition of every metric (all processes' in multiprocess mode)."""
    registry = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(SiteGauges(read_gauges))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """gunicorn's `child_exit` hook: drop a dead worker's live-gauge files."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)
