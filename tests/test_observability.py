"""What an operator sees: /metrics (token only), /healthz and /readyz, and one JSON log
line per request that holds no client data.

The device is the real Python device over real HTTP; the metrics are scraped as
Prometheus would, and parsed with prometheus-client's own parser.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.config import Config
from server.keys.kek import write_new_key_file
from server.tools.demo_data import note_doc
from server.web.observability import REQUEST_LOG, JsonLines
from sync.device import Device
from sync.store import Unavailable
from tests.support.live_server import serving
from tests.support.org import PASSWORD
from tests.support.pouchdb_server import free_port
from tests.support.server_process import REPO_ROOT

TOKEN = "scrape-token-0123456789abcdef"
FAST = 2**10
MARKER = "Salainen-Perhe-Virtanen"  # client words that must never reach a log line


@pytest.fixture
def app(org):
    org.worker("aino")
    org.case("c", "aino", notes=3)
    return create_app(
        Config(data_dir=org.site.directory.path.parent, metrics_token=TOKEN), site=org.site
    )


def scrape(client_or_url, token=TOKEN) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one scrape."""
    headers = {"Authorization": f"Bearer {token}"}
    if isinstance(client_or_url, str):
        response = requests.get(f"{client_or_url}/metrics", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        text = response.text
    else:
        response = client_or_url.get("/metrics", headers=headers)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_not_public_without_a_token(org):
    plain = org.app.test_client()  # no metrics_token configured
    assert plain.get("/metrics").status_code == 404
    assert plain.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 404


def test_metrics_need_the_configured_bearer_token(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "unauthenticated"
    assert scrape(client)  # the right token: the exposition


def test_a_device_sync_shows_in_requests_documents_and_latency(app, org, tmp_path):
    with serving(app) as url:
        before = scrape(url)
        phone = Device(tmp_path / "phone", passphrase="2468", scrypt_n=FAST)
        phone.enrol(url, "aino", PASSWORD, label="phone")
        phone.pull()
        case_id = org.cases["c"]
        for seed in range(2):
            note = note_doc(random.Random(seed), case_id, org.workers["aino"])
            assert phone.write(note, case_id)["ok"]
        assert phone.push().errors == []
        after = scrape(url)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    changes = {"endpoint": "/sync/<db>/_changes", "method": "GET", "status": "200"}
    assert grew("sopu_http_requests_total", **changes) >= 1
    assert (
        grew(
            "sopu_http_requests_total",
            endpoint="/sync/<db>/_bulk_docs",
            method="POST",
            status="201",
        )
        == 1
    )
    assert grew("sopu_documents_pushed_total", outcome="accepted") == 2
    assert grew("sopu_documents_pushed_total", outcome="refused") == 0
    assert grew("sopu_documents_delivered_total") >= 5  # family, case, 3 notes
    assert grew("sopu_http_request_duration_seconds_count", endpoint="/sync/<db>/_changes") >= 1
    # Labels are route rules only: no worker id, document id or case id anywhere.
    names = " ".join(str(key) for key in after)
    assert org.workers["aino"] not in names and case_id not in names


def test_labels_stay_bounded_whatever_a_client_sends(app, org):
    client = app.test_client()
    client.open(f"/no/such/{org.cases['c']}", method="BREW")
    client.get(f"/sync/{org.workers['aino']}/{org.docs['c'][0]}")
    keys = " ".join(str(key) for key in scrape(client))
    assert "BREW" not in keys and org.cases["c"] not in keys and org.docs["c"][0] not in keys
    assert "('endpoint', '<unmatched>'), ('method', 'other')" in keys
    assert "'/sync/<db>/<doc_id>'" in keys


def test_gauges_count_open_items_and_held_pushes(app, org):
    case_id = org.cases["c"]
    doc_id = org.docs["c"][2]
    with org.site.directory.transaction() as con:
        con.execute(
            "INSERT INTO reconciliation_items (case_id, doc_id, doc_type, items,"
            " updated_at) VALUES (?, ?, 'note', 3, '2026-12-01T00:00:00Z')",
            (case_id, doc_id),
        )
    org.site.quarantine.hold(
        "dev1",
        org.workers["aino"],
        {"_id": "a" * 32, "_rev": "1-" + "b" * 32, "case_id": case_id},
        "device_revoked",
    )
    samples = scrape(app.test_client())
    assert value(samples, "sopu_reconciliation_items_open") == 3
    assert value(samples, "sopu_quarantined_pushes") == 1


def test_store_faults_are_counted(app, org, monkeypatch):
    client = app.test_client()
    before = value(scrape(client), "sopu_store_errors_total", code="store_unavailable")

    def down(*args, **kwargs):
        raise Unavailable("connection refused talking to the store")

    monkeypatch.setattr(type(org.site.store), "database", down)
    login = client.post("/api/login", json={"username": "aino", "password": PASSWORD})
    assert login.status_code == 200
    answer = client.get(f"/api/cases/{org.cases['c']}/documents")
    assert answer.status_code == 503
    after = value(scrape(client), "sopu_store_errors_total", code="store_unavailable")
    assert after - before == 1


def test_probes_alive_and_ready_and_not_ready_when_the_store_is_down(app, org, monkeypatch):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"ok": True}
    assert client.get("/readyz").get_json() == {"ok": True}

    def down(*args, **kwargs):
        raise Unavailable("connection refused")

    monkeypatch.setattr(type(org.site.store), "list_databases", down)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"ok": False, "failed": {"store": "Unavailable"}}
    assert client.get("/healthz").status_code == 200  # alive: no restart for a store outage


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonLines())

    def emit(self, record):
        self.lines.append(self.format(record))


def test_one_json_line_per_request_with_no_client_data(app, org, tmp_path):
    lines = Lines()
    REQUEST_LOG.addHandler(lines)
    try:
        with serving(app) as url:
            phone = Device(tmp_path / "phone", passphrase="2468", scrypt_n=FAST)
            phone.enrol(url, "aino", PASSWORD, label="phone")
            phone.pull()
            lines.lines.clear()
            case_id = org.cases["c"]
            note = note_doc(random.Random(3), case_id, org.workers["aino"])
            note["discussion"] = f"{MARKER} kertoi kotikäynnillä."
            assert phone.write(note, case_id)["ok"]
            assert phone.push().errors == []
            worker = phone.state()["worker_id"]
            auth = {"Authorization": f"Bearer {phone.state()['access_token']}"}
            refused = requests.post(
                f"{url}/sync/{worker}/_bulk_docs?x={MARKER}",
                data=json.dumps({"docs": [{"_id": MARKER}]}),
                headers=auth | {"Content-Type": "application/json"},
            )
            assert refused.status_code in (201, 400)
    finally:
        REQUEST_LOG.removeHandler(lines)
    parsed = [json.loads(line) for line in lines.lines]
    assert len(parsed) == len(lines.lines) >= 3  # one object per line
    assert all("\n" not in line for line in lines.lines)
    assert all(MARKER not in line for line in lines.lines)
    last = parsed[-1]
    assert last["request_id"] == refused.headers["X-Request-Id"]
    assert last["endpoint"] == "/sync/<db>/_bulk_docs" and last["method"] == "POST"
    assert last["status"] == refused.status_code
    assert last["device_id"] == phone.state()["device_id"]
    assert isinstance(last["duration_ms"], float) and last["duration_ms"] >= 0
    assert {"ts", "level", "logger", "msg"} <= set(last)


@pytest.mark.slow
def test_metrics_add_up_across_gunicorn_worker_processes(tmp_path):
    """Several worker processes: every scrape shows the sum of all of them."""
    var = tmp_path / "var"
    var.mkdir()
    write_new_key_file(var / "kek.key")
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
    env |= {
        "SOPU_DATA_DIR": str(var),
        "SOPU_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "SOPU_BIND": f"127.0.0.1:{port}",
        "SOPU_WORKERS": "3",
        "PYTHONPATH": str(REPO_ROOT),
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO_ROOT / "gunicorn.conf.py"),
            "server.app:create_app()",
        ],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc, tmp_path)
        for _ in range(60):
            answer = requests.get(f"{url}/healthz", timeout=5)  # new connection each time
            assert answer.status_code == 200
        for _ in range(5):
            samples = scrape(url)
            total = value(
                samples, "sopu_http_requests_total", endpoint="/healthz", method="GET", status="200"
            )
            assert total >= 60  # plus the start-up probes
        pids = {f.name.split("_")[-1] for f in metrics_dir.glob("counter_*.db")}
        assert len(pids) >= 2, pids  # the requests really were spread over processes
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _wait(url, proc, tmp_path):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "gunicorn.log").read_text()[-3000:])
        try:
            if requests.get(f"{url}/readyz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready")
