"""Device tokens rotate: a refresh retires the pair it came from at once, and a refresh
token used twice revokes every token of that device (audited, `refresh_reused`), with
exactly one winner among concurrent redemptions (over real HTTP)."""

from __future__ import annotations

import threading

import pytest
import requests

from sync.crypto import DeviceKeys
from sync.device import Device
from sync.remote import RemoteError
from tests.support.org import PASSWORD

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(org):
    org.worker("aino")
    org.case("own", "aino", notes=2)
    return org


def enrol(server: str) -> dict:
    http = requests.Session()
    http.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    body = {"label": "phone", "public_key": DeviceKeys.generate().public().to_json()}
    response = http.post(f"{server}/api/devices", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def sync_info(server: str, org, access_token: str):
    return requests.get(
        f"{server}/sync/{org.workers['aino']}",
        headers={"Authorization": f"Bearer {access_token}"},
    )


def redeem(server: str, refresh_token: str):
    return requests.post(f"{server}/api/devices/token", json={"refresh_token": refresh_token})


def test_a_refresh_retires_the_old_access_and_refresh_tokens_at_once(org, server):
    first = enrol(server)
    assert sync_info(server, org, first["access_token"]).status_code == 200
    second = redeem(server, first["refresh_token"])
    assert second.status_code == 200
    stale = sync_info(server, org, first["access_token"])
    assert stale.status_code == 401 and stale.json()["error"] == "unauthenticated"
    assert sync_info(server, org, second.json()["access_token"]).status_code == 200
    third = redeem(server, second.json()["refresh_token"])
    assert third.status_code == 200  # rotation goes on for as long as the device refreshes
    assert sync_info(server, org, third.json()["access_token"]).status_code == 200


def test_a_reused_refresh_token_revokes_every_token_of_the_device(org, server):
    stolen = enrol(server)
    device_id = stolen["device_id"]
    rotated = redeem(server, stolen["refresh_token"]).json()
    reused = redeem(server, stolen["refresh_token"])
    assert reused.status_code == 401 and reused.json()["error"] == "refresh_reused"
    assert reused.json()["device_id"] == device_id
    for token in (rotated["access_token"], stolen["access_token"]):
        assert sync_info(server, org, token).status_code == 401
    assert redeem(server, rotated["refresh_token"]).status_code == 401
    assert redeem(server, stolen["refresh_token"]).json()["error"] == "refresh_reused"
    [entry, *_] = org.site.audit.entries(action="device.refresh_reused", subject=device_id)
    assert entry.details == {"worker_id": org.workers["aino"], "tokens_revoked": 2}
    assert org.site.devices.get(device_id)["revoked_at"] is None  # still enrolled
    again = enrol(server)  # the worker logs in and enrols again
    assert sync_info(server, org, again["access_token"]).status_code == 200


def test_concurrent_redemptions_of_one_refresh_token_have_exactly_one_winner(org, server):
    tokens = enrol(server)
    barrier = threading.Barrier(8)
    answers: list = []

    def race() -> None:
        barrier.wait()
        answers.append(redeem(server, tokens["refresh_token"]))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(a.json().get("error", "ok") for a in answers)
    assert codes == ["ok"] + ["refresh_reused"] * 7
    [winner] = [a.json() for a in answers if a.status_code == 200]
    assert sync_info(server, org, winner["access_token"]).status_code == 401  # reuse seen


def test_the_reference_device_refreshes_and_notices_a_copy_refreshing_first(org, server, tmp_path):
    phone = Device(tmp_path / "phone", passphrase="2468", scrypt_n=2**10)
    phone.enrol(server, "aino", PASSWORD, label="phone")
    phone.refresh_token()
    assert phone.pull().docs_written > 0
    copy = phone.state()  # someone copied the phone's token file
    redeem(server, copy["refresh_token"])
    with pytest.raises(RemoteError) as raised:
        phone.refresh_token()
    assert raised.value.error == "refresh_reused"
    with pytest.raises(RemoteError):
        phone.pull()  # nothing the thief or the phone held works any more
