"""What every response carries, what the server refuses before reading, and what its
log may say: security headers, `no-store` on client data, HSTS only behind TLS, a
request id on every response, 405 for undeclared methods (TRACE too), 413 past
`max_request_size` (declared or streamed), and an error log that never repeats a value
the client sent.
"""

from __future__ import annotations

import logging
import re

import pytest
import requests

from server.app import create_app
from server.config import Config
from server.gateway.gateway import Gateway
from tests.support.devices import device_session
from tests.support.live_server import serving
from tests.support.org import PASSWORD

pytestmark = pytest.mark.both_directories

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def org(org):
    org.worker("aino")
    org.case("own", "aino")
    return org


def enrol(server: str) -> requests.Session:
    return device_session(server, "aino")[0]


def test_security_headers_on_every_response_and_no_store_on_client_data(server, org):
    db = f"{server}/sync/{org.workers['aino']}"
    device = enrol(server)
    answers = {
        "health": requests.get(f"{server}/health"),
        "openapi": requests.get(f"{server}/api/openapi.json"),
        "api 401": requests.get(f"{server}/api/cases"),
        "sync 200": device.get(f"{db}/_changes"),
        "sync 400": device.get(f"{db}/_changes", params={"limit": "x"}),
        "unknown path": requests.get(f"{server}/nothing/here"),
    }
    for name, response in answers.items():
        for header, value in SECURITY.items():
            assert response.headers.get(header) == value, (name, header)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], name
        assert "Strict-Transport-Security" not in response.headers, name
    for name in ("openapi", "api 401", "sync 200", "sync 400"):
        assert answers[name].headers["Cache-Control"] == "no-store", name
    assert "no-store" not in answers["health"].headers.get("Cache-Control", "")


def test_hsts_only_when_tls_is_in_front(org, tmp_path):
    app = create_app(Config(data_dir=tmp_path / "tls", behind_tls=True), site=org.site)
    hsts = app.test_client().get("/health").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 31536000
    assert "Strict-Transport-Security" not in org.app.test_client().get("/health").headers


def test_the_session_cookie_is_secure_when_tls_is_in_front(org, tmp_path):
    org.worker("tiina")
    credentials = {"username": "tiina", "password": PASSWORD}
    tls = create_app(Config(data_dir=tmp_path / "tls", behind_tls=True), site=org.site)
    cookie = tls.test_client().post("/api/login", json=credentials).headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = org.app.test_client().post("/api/login", json=credentials).headers["Set-Cookie"]
    assert "Secure" not in plain and "HttpOnly" in plain


def test_behind_tls_is_read_as_a_boolean_from_the_environment():
    from server.config import ConfigError, load_config

    assert load_config(env={"SOPU_BEHIND_TLS": "false"}).behind_tls is False
    assert load_config(env={"SOPU_BEHIND_TLS": "true"}).behind_tls is True
    with pytest.raises(ConfigError):
        load_config(env={"SOPU_BEHIND_TLS": "yes please"})


def test_max_request_size_below_max_document_size_is_a_configuration_error():
    from server.config import ConfigError

    with pytest.raises(ConfigError, match="max_request_size"):
        Config(max_document_size=2048, max_request_size=1024)


def test_every_response_has_a_request_id_a_proxys_is_echoed_a_name_is_not(server):
    first, second = (requests.get(f"{server}/health") for _ in range(2))
    ids = [r.headers["X-Request-Id"] for r in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    proxy_id = "7f0c1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
    echoed = requests.get(f"{server}/api/me", headers={"X-Request-Id": proxy_id})
    assert echoed.status_code == 401 and echoed.headers["X-Request-Id"] == proxy_id
    named = requests.get(f"{server}/health", headers={"X-Request-Id": "Ville Virtanen"})
    assert re.fullmatch(r"[0-9a-f]{32}", named.headers["X-Request-Id"])


def test_trace_and_other_undeclared_methods_are_405_with_allow(server, org):
    spec = requests.get(f"{server}/api/openapi.json").json()
    checked = 0
    sync = f"/sync/{org.workers['aino']}"
    for template in [*spec["paths"], sync, f"{sync}/_changes", f"{sync}/_local/x"]:
        path = re.sub(r"{[^{}]+}", "a" * 32, template)
        declared = spec["paths"].get(template, {})
        for method in ("TRACE", "PATCH", "PUT"):
            if method.lower() in declared or (template.startswith(sync) and method == "PUT"):
                continue  # PUT /sync/<db>/... is CouchDB's (a document or the database)
            response = requests.request(method, f"{server}{path}")
            assert response.status_code == 405, (method, path, response.status_code)
            assert response.json()["error"] == "method_not_allowed"
            assert method not in response.headers["Allow"] and response.headers["Allow"]
            checked += 1
    assert checked > 40


def test_a_body_over_max_request_size_is_413_before_it_is_read(org, tmp_path):
    app = create_app(
        Config(data_dir=tmp_path / "small", max_document_size=500, max_request_size=1000),
        site=org.site,
    )
    client = app.test_client()
    db = f"/sync/{org.workers['aino']}"
    declared = client.post(f"{db}/_bulk_docs", data=b"x" * 1001, content_type="application/json")
    assert declared.status_code == 413  # before authentication: the body is never read
    assert declared.json["error"] == "request_too_large"
    assert "1000 bytes" in declared.json["reason"]
    login = client.post(
        "/api/login", data=b"{" + b" " * 2000 + b"}", content_type="application/json"
    )
    assert login.status_code == 413 and login.json["error"] == "request_too_large"


def test_a_streamed_body_is_cut_off_at_the_limit(org, tmp_path):
    app = create_app(
        Config(data_dir=tmp_path / "stream", max_document_size=1024, max_request_size=64 * 1024),
        site=org.site,
    )
    with serving(app) as server:
        device = enrol(server)
        chunks = (b"[" + b"1," * 8 * 1024 for _ in range(16))  # 256 KiB, no Content-Length
        response = device.post(
            f"{server}/sync/{org.workers['aino']}/_bulk_docs",
            data=chunks,
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "request_too_large"


def test_the_default_limit_refuses_a_40_mb_bulk_docs(org):
    client = org.app.test_client()
    body = b'{"docs": [{"_id": "' + b"a" * 40 * 1024 * 1024 + b'"}]}'
    response = client.post(f"/sync/{org.workers['aino']}/_bulk_docs", data=body)
    assert response.status_code == 413
    assert str(32 * 1024 * 1024) in response.json["reason"]


def test_an_unexpected_error_logs_ids_and_types_never_request_values(
    server, org, caplog, monkeypatch
):
    marker = "Virtanen-0101-MARKER"

    def broken(self, device, revs):
        raise ValueError(f"cannot compare {list(revs)}")  # a message quoting the request

    monkeypatch.setattr(Gateway, "revs_diff", broken)
    device = enrol(server)
    db = f"{server}/sync/{org.workers['aino']}"
    with caplog.at_level(logging.DEBUG):
        response = device.post(
            f"{db}/_revs_diff",
            json={marker: ["1-" + "a" * 32]},
            headers={"X-Note": marker, "X-Request-Id": f"{marker}-id"},
        )
        bad = device.post(f"{db}/_revs_diff", json={marker: [marker]})
    assert response.status_code == 500
    answer = response.json()
    assert answer["error"] == "internal_server_error"
    request_id = response.headers["X-Request-Id"]
    assert answer["request_id"] == request_id and marker not in request_id
    assert bad.status_code == 400 and marker in bad.json()["reason"]  # the client is told
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert marker not in logged
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert request_id in line and "POST /sync/<db>/_revs_diff" in line
    assert "ValueError" in line and "internal_server_error" in line


def test_query_values_stay_out_of_the_log_too(org, caplog):
    client = org.app.test_client()
    marker = "Virtanen-0202-MARKER"
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/sync/{org.workers['aino']}/_changes?limit={marker}")
        client.get(f"/api/cases?status={marker}")
    assert response.status_code == 401  # unauthenticated: refused before the query is read
    assert marker not in "\n".join(r.getMessage() for r in caplog.records)
