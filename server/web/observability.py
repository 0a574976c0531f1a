"""What an operator sees of the running server: one JSON log line per request, the
Prometheus metrics at `/metrics`, and the load balancer's probes `/healthz`, `/readyz`.

The request line holds the request id, method, route rule (`/sync/<db>/_changes`,
never the path with its values), status, duration and the device's id when a device
authenticated: nothing a client wrote, no query string, no body. `/metrics` shows
counts of the whole site, so it is never public: it answers only a request bearing the
configured `metrics_token` (`Authorization: Bearer …`), and without one configured it
does not exist (404). Scrape it on the loopback or through the TLS proxy with the token.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
import sys
import time
from datetime import UTC, datetime

import psycopg
from flask import Flask, Response, current_app, g, jsonify, request

from .. import metrics
from ..errors import NotFoundError, Unauthenticated
from .context import site
from .hygiene import request_id

REQUEST_LOG = logging.getLogger("sopu.requests")
PROBES = frozenset({"healthz", "readyz"})  # no daily jobs before these (`/health` runs them)
# Label values are bounded: a client cannot create series with made-up methods or paths.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def install(app: Flask, metrics_token: str) -> None:
    """Register the hooks and the three routes (the timer runs before any other hook)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)
    app.extensions["sopu.metrics_token"] = metrics_token
    app.add_url_rule("/metrics", "metrics", _metrics)
    app.add_url_rule("/healthz", "healthz", lambda: jsonify({"ok": True}))
    app.add_url_rule("/readyz", "readyz", _ready)
    REQUEST_LOG.setLevel(logging.INFO)
    _log_json(REQUEST_LOG, logging.INFO, propagate=False)  # its own stream: one line each
    _log_json(logging.getLogger("server"), logging.WARNING)


# ---------------------------------------------------------------- per request


def _start_timer() -> None:
    g.started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("started")
    duration = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
    method = request.method if request.method in METHODS else "other"
    metrics.request_counter(endpoint, method, response.status_code).inc()
    metrics.latency_histogram(endpoint).observe(duration)
    device = g.get("device")
    REQUEST_LOG.info(
        "request",
        extra={
            "sopu": {
                "request_id": request_id(),
                "method": method,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 2),
                "device_id": device["id"] if device else None,
            }
        },
    )
    return response


#: The errors of the directory's database drivers (SQLite and PostgreSQL).
DIRECTORY_ERRORS = (sqlite3.Error, psycopg.Error)


def count_directory_error(exc: BaseException) -> None:
    """An unexpected error caused by the directory database counts as a directory error."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DIRECTORY_ERRORS):
            metrics.DIRECTORY_ERRORS.labels(type(cause).__name__).inc()
            return
        cause = cause.__cause__ or cause.__context__


# ---------------------------------------------------------------- routes


def _metrics() -> Response:
    expected = current_app.extensions["sopu.metrics_token"]
    if not expected:
        raise NotFoundError("not found")  # not configured: /metrics does not exist
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip(), expected):
        raise Unauthenticated("/metrics needs `Authorization: Bearer <metrics_token>`")
    body, content_type = metrics.exposition(_site_gauges)
    return Response(body, content_type=content_type)


def _site_gauges() -> dict[str, float]:
    directory = site().directory
    items = directory.one("SELECT COALESCE(SUM(items), 0) AS n FROM reconciliation_items")
    held = directory.one("SELECT COUNT(*) AS n FROM quarantine")
    return {"reconciliation_items": items["n"], "quarantined_pushes": held["n"]}


def _ready():
    """200 when the directory and the store both answer; 503 naming the one that does
    not (its failure's type only: no address, no message)."""
    checks = {"directory": _directory_answers, "store": _store_answers}
    failed = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # any failure at all means "not ready"
            failed[name] = type(exc).__name__
    if failed:
        return jsonify({"ok": False, "failed": failed}), 503
    return jsonify({"ok": True})


def _directory_answers() -> None:
    site().directory.one("SELECT 1")


def _store_answers() -> None:
    store = site().store
    client = getattr(store, "client", None)
    if client is not None:  # CouchDB / Cloudant: the server's welcome, not `_all_dbs`
        store.call(client.get_server_information)
    else:
        store.list_databases()


# ---------------------------------------------------------------- JSON lines


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request fields.
    A traceback stays inside the line (`exc`)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "sopu", {}),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def _log_json(logger: logging.Logger, level: int, propagate: bool = True) -> None:
    """Give `logger` a JSON handler on stderr at `level`, once per process (several
    apps in one process, as in the tests, share it)."""
    if any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        return
    handler = _Stderr()
    handler.setLevel(level)
    handler.setFormatter(JsonLines())
    logger.addHandler(handler)
    logger.propagate = propagate


class _Stderr(logging.StreamHandler):
    """Whatever `sys.stderr` is at the time of each line (gunicorn and test runners
    replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass
