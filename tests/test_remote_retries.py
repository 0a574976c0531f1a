"""What the device's HTTP client does with a `503` and `Retry-After`, and what the
server answers when the store fails in a way the store did not wrap.

The server is the real one; only the store's failure is injected (the gateway operation
raises what a store that went away raises), and the client's sleeps are recorded
instead of slept.
"""

from __future__ import annotations

import pytest
import requests

import sync.remote
from sync.device import Device
from sync.store import Unavailable
from tests.support.org import PASSWORD

FAST = 2**10  # scrypt cost for test devices


class Clock:
    def __init__(self):
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def phone(org, server, tmp_path):
    org.worker("aino")
    org.case("c", "aino")
    device = Device(tmp_path / "a", passphrase="2468", scrypt_n=FAST)
    device.enrol(server, "aino", PASSWORD, label="a")
    device.pull()
    return device


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sync.remote, "time", clock)
    return clock


def failing(monkeypatch, org, name: str, times: int, error: Exception):
    """Make the gateway's `name` raise `error` the first `times` calls."""
    gateway = org.app.extensions["sopu.gateway"]
    real, calls = getattr(gateway, name), []

    def flaky(*args, **kwargs):
        calls.append(name)
        if len(calls) <= times:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway, name, flaky)
    return calls


def test_a_503_is_retried_after_the_time_the_server_asked(org, phone, clock, monkeypatch):
    calls = failing(monkeypatch, org, "revs_diff", 2, Unavailable("store restarting"))
    remote = phone.remote()
    doc_id = org.docs["c"][0]
    assert remote.revs_diff({doc_id: ["1-" + "0" * 32]}) == {doc_id: {"missing": ["1-" + "0" * 32]}}
    assert len(calls) == 3 and clock.waits == [5.0, 5.0]


def test_the_client_gives_up_after_its_retries_and_never_resends_a_new_edit(
    org, phone, clock, monkeypatch
):
    failing(monkeypatch, org, "revs_diff", 10, Unavailable("store down"))
    with pytest.raises(Unavailable) as raised:
        phone.remote().revs_diff({"a" * 32: ["1-" + "0" * 32]})
    assert raised.value.body["error"] == "store_unavailable"
    assert clock.waits == [5.0, 5.0, 5.0]  # three retries, then up to the app

    calls = failing(monkeypatch, org, "bulk_docs", 10, Unavailable("store down"))
    with pytest.raises(Unavailable):
        phone.remote().bulk_docs([{"_id": "b" * 32}], new_edits=True)
    assert len(calls) == 1  # a retried new edit could be stored twice as a conflict


def test_a_connection_error_the_store_did_not_wrap_is_503_without_its_text(
    org, phone, server, monkeypatch
):
    secret = "HTTPConnectionPool(host='couch.internal', port=5984): /case-x/doc?rev=1-abc"
    failing(monkeypatch, org, "info", 1, requests.ConnectionError(secret))
    state = phone.state()
    answer = requests.get(
        f"{server}/sync/{state['worker_id']}",
        headers={"Authorization": f"Bearer {state['access_token']}"},
        timeout=10,
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["error"] == "store_unavailable"
    assert "couch.internal" not in answer.text
