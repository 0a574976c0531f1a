"""Bad input at /sync: clear errors, and nothing already accepted is harmed."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.config import Config
from sync.crypto import DeviceKeys
from tests.support.org import PASSWORD


@pytest.fixture
def org(org):
    org.worker("aino")
    org.case("own", "aino")
    return org


def enrol(app):
    client = app.test_client()
    client.post("/api/login", json={"username": "aino", "password": PASSWORD})
    return client.post(
        "/api/devices",
        json={"label": "phone", "public_key": DeviceKeys.generate().public().to_json()},
    ).json


def test_malformed_json_is_a_400_and_changes_nothing(org):
    tokens = enrol(org.app)
    client = org.app.test_client()
    auth = {"Authorization": f"Bearer {tokens['access_token']}", "Content-Type": "application/json"}
    db = f"/sync/{org.workers['aino']}"
    before = client.get(f"{db}/_changes", headers=auth).json
    for body in ('{"docs": [', "[1, 2]", '{"docs": "x"}', ""):
        response = client.post(f"{db}/_bulk_docs", data=body, headers=auth)
        assert response.status_code == 400, body
        assert response.json["error"] == "invalid_input"
    after = client.get(f"{db}/_changes", headers=auth).json

    def rows(feed):
        return [(r["id"], r["changes"]) for r in feed["results"]]

    assert rows(after) == rows(before)


def test_oversized_body_is_413(org, tmp_path):
    config = Config(data_dir=tmp_path / "var2", max_document_size=10_000, max_request_size=100_000)
    app = create_app(config, site=org.site)
    tokens = enrol(app)
    response = app.test_client().post(
        f"/sync/{org.workers['aino']}/_bulk_docs",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        json={"docs": [{"_id": "a" * 32, "text": "x" * 200_000}]},
    )
    assert response.status_code == 413
    assert response.json["error"] == "request_too_large"
    assert "100000 bytes" in response.json["reason"]


def test_expired_token_says_so_and_refresh_works(org, tmp_path):
    config = Config(data_dir=tmp_path / "var3", device_token_ttl=-10)
    app = create_app(config, site=org.site)
    tokens = enrol(app)
    client = app.test_client()
    db = f"/sync/{org.workers['aino']}"
    expired = client.get(db, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert expired.status_code == 401 and expired.json["error"] == "token_expired"
    refreshed = client.post("/api/devices/token", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    reused = client.post("/api/devices/token", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401  # a refresh token works once


def test_revoked_device_gets_the_wipe_code_on_every_endpoint(org):
    tokens = enrol(org.app)
    org.site.devices.revoke(tokens["device_id"], "admin", "lost", [])
    client = org.app.test_client()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    db = f"/sync/{org.workers['aino']}"
    for method, path in (
        ("get", db),
        ("get", f"{db}/_changes"),
        ("post", f"{db}/_revs_diff"),
        ("get", f"{db}/_local/x"),
    ):
        response = getattr(client, method)(path, headers=auth, json={})
        assert response.status_code == 401
        assert response.json["error"] == "device_revoked" and response.json["wipe"] is True
    refresh = client.post("/api/devices/token", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.json["error"] == "device_revoked"


def test_login_is_throttled_after_repeated_failures(org):
    """Details (per address, growing delays, spraying): tests/test_login_throttling.py."""
    client = org.app.test_client()
    for _ in range(3):
        bad = client.post("/api/login", json={"username": "aino", "password": "wrong"})
        assert bad.status_code == 401 and bad.json["error"] == "invalid_credentials"
    locked = client.post("/api/login", json={"username": "aino", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json["error"] == "login_throttled"
    assert locked.headers["Retry-After"] == "1"
    assert org.site.audit.entries(action="login.throttled")
