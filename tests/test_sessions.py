"""People's sessions are server-side: a cookie names a session in the directory, and
logout, a password or role change, deactivation, the idle timeout and the absolute
lifetime end it for every server process at once (over real HTTP)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import requests

from mobile_schema.examples import example
from server.app import create_app
from server.config import Config, load_config
from server.site import Site
from sync.crypto import DeviceKeys
from tests.support.clock import FakeClock
from tests.support.live_server import serving
from tests.support.org import PASSWORD

COOKIE = "sopu_session"
NEW_PASSWORD = "uusi salasana 2026"


@pytest.fixture
def org(org):
    org.worker("aino")
    org.worker("bertil")
    org.worker("admin", "admin")
    body = example("family")
    for key in ("_id", "type", "schema_version", "created_at", "created_by", "updated_at"):
        body.pop(key, None)
    body.pop("updated_by", None)
    del body["members"][1]["id"]
    case = example("case")
    first_case = {
        "service_task": case["service_task"],
        "pending_since": "2026-04-27",
        "referral": case["referral"] | {"received_on": "2026-04-27"},
    }
    family_id, case_id = org.site.families.create(
        org.team, body, first_case, org.workers["admin"], date.today()
    )
    org.site.cases.assign(case_id, org.workers["aino"], "own_worker", "admin")
    org.cases["family"] = case_id
    org.docs["family_id"] = [family_id]
    return org


@pytest.fixture
def clock(org):
    """The sessions' clock, moved by hand."""
    fake = FakeClock()
    org.app.extensions["sopu.sessions"].clock = fake
    return fake


def login(server: str, username: str = "aino", password: str = PASSWORD) -> requests.Session:
    http = requests.Session()
    response = http.post(f"{server}/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return http


def replay(server: str, cookie: str, method: str = "get", path: str = "/api/me", **kwargs):
    """A request from a client that kept a copy of the cookie."""
    return getattr(requests, method)(f"{server}{path}", cookies={COOKIE: cookie}, **kwargs)


def refused(response, code: str = "unauthenticated") -> bool:
    return response.status_code == 401 and response.json()["error"] == code


def enrol_body() -> dict:
    return {"label": "phone", "public_key": DeviceKeys.generate().public().to_json()}


def test_the_cookie_is_only_a_random_id_and_the_directory_keeps_only_its_hash(org, server):
    http = login(server)
    [cookie] = [c for c in http.cookies if c.name == COOKIE]
    assert len(cookie.value) >= 43  # 32 random bytes, URL-safe base64
    assert org.workers["aino"] not in cookie.value
    assert cookie.has_nonstandard_attr("HttpOnly")
    [row] = org.site.directory.query("SELECT * FROM sessions")
    assert row["id_hash"] == hashlib.sha256(cookie.value.encode()).hexdigest()
    assert cookie.value not in [str(v) for v in tuple(row)]
    assert row["worker_id"] == org.workers["aino"]
    assert row["expires_at"] - row["created_at"] == 12 * 3600
    assert http.get(f"{server}/api/me").json()["username"] == "aino"


def test_a_cookie_replayed_after_logout_reads_nothing_and_enrols_nothing(org, server):
    http = login(server)
    cookie = http.cookies[COOKIE]
    case_id, family_id = org.cases["family"], org.docs["family_id"][0]
    assert [c["id"] for c in http.get(f"{server}/api/cases").json()] == [case_id]
    assert http.get(f"{server}/api/families/{family_id}").status_code == 200
    assert http.post(f"{server}/api/logout").json() == {"ok": True}
    assert COOKIE not in http.cookies  # the browser drops it too
    devices_before = len(org.site.devices.of_worker(org.workers["aino"]))
    assert refused(replay(server, cookie, path="/api/cases"))
    assert refused(replay(server, cookie, path=f"/api/cases/{case_id}"))
    assert refused(replay(server, cookie, path=f"/api/families/{family_id}"))
    assert refused(replay(server, cookie, "post", "/api/devices", json=enrol_body()))
    assert len(org.site.devices.of_worker(org.workers["aino"])) == devices_before
    assert org.site.directory.query("SELECT * FROM sessions") == []


def test_logout_at_one_server_process_ends_the_session_at_another(org, server, tmp_path):
    """Two processes sharing the directory (gunicorn workers, or hosts): one Site each."""
    other_site = Site.open(
        f"sqlite:///{tmp_path / 'store'}", tmp_path / "directory.sqlite3", org.site.keys.keks
    )
    other_app = create_app(Config(data_dir=tmp_path / "var"), site=other_site)
    with serving(other_app) as other:
        http = login(server)
        cookie = http.cookies[COOKIE]
        assert replay(other, cookie).json()["username"] == "aino"
        http.post(f"{server}/api/logout")
        assert refused(replay(other, cookie))
    other_site.close()


def test_logging_in_again_replaces_the_clients_session(org, server):
    http = login(server)
    first = http.cookies[COOKIE]
    http.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    assert http.cookies[COOKIE] != first
    assert refused(replay(server, first))
    assert http.get(f"{server}/api/me").status_code == 200


def test_a_password_change_ends_every_session_of_that_person(org, server):
    laptop, phone, bertil = login(server), login(server), login(server, "bertil")
    old_cookie = laptop.cookies[COOKIE]
    wrong = laptop.post(
        f"{server}/api/me/password",
        json={"current_password": "not it", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 403 and wrong.json()["field"] == "current_password"
    assert phone.get(f"{server}/api/me").status_code == 200  # nothing changed
    changed = laptop.post(
        f"{server}/api/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert refused(phone.get(f"{server}/api/me"))
    assert refused(replay(server, old_cookie))
    assert laptop.get(f"{server}/api/me").json()["username"] == "aino"  # its new session
    assert bertil.get(f"{server}/api/me").status_code == 200  # other people keep theirs
    stale = requests.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    assert refused(stale, "invalid_credentials")
    login(server, "aino", NEW_PASSWORD)
    [entry] = org.site.audit.entries(action="account.password_changed")
    assert entry.subject == org.workers["aino"] and entry.details["sessions_ended"] == 2


@pytest.mark.parametrize(
    ("change", "action"),
    [
        ({"active": False}, "account.deactivated"),
        ({"role": "supervisor"}, "account.role_changed"),
        ({"password": NEW_PASSWORD}, "account.password_changed"),
    ],
)
def test_an_admins_change_to_an_account_ends_its_sessions(org, server, change, action):
    aino, admin = login(server), login(server, "admin")
    response = admin.patch(f"{server}/api/accounts/{org.workers['aino']}", json=change)
    assert response.status_code == 200, response.text
    assert refused(aino.get(f"{server}/api/me"))
    assert refused(aino.post(f"{server}/api/devices", json=enrol_body()))
    assert admin.get(f"{server}/api/me").status_code == 200
    [entry] = org.site.audit.entries(action=action)
    assert entry.actor == org.workers["admin"] and entry.details["sessions_ended"] == 1


def test_a_deactivated_account_cannot_log_in_until_reactivated(org, server):
    admin = login(server, "admin")
    url = f"{server}/api/accounts/{org.workers['aino']}"
    assert admin.patch(url, json={"active": False}).json()["active"] is False
    again = requests.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    assert refused(again, "invalid_credentials")
    assert admin.patch(url, json={"active": True}).json()["active"] is True
    login(server)


def test_admins_cannot_lock_themselves_out_and_only_admins_change_accounts(org, server):
    admin, aino = login(server, "admin"), login(server)
    own = f"{server}/api/accounts/{org.workers['admin']}"
    assert admin.patch(own, json={"active": False}).status_code == 403
    assert admin.patch(own, json={"role": "worker"}).status_code == 403
    assert admin.patch(own, json={}).json()["active"] is True  # nothing asked, nothing done
    other = f"{server}/api/accounts/{org.workers['bertil']}"
    assert aino.patch(other, json={"active": False}).status_code == 403
    ghost = admin.patch(f"{server}/api/accounts/{'0' * 32}", json={"active": False})
    assert ghost.status_code == 404
    assert admin.get(f"{server}/api/me").status_code == 200


def test_the_idle_timeout_ends_an_unused_session_and_use_extends_it(org, server, clock):
    http = login(server)
    for _ in range(3):  # 87 minutes of work, never 30 minutes idle
        clock.advance(29 * 60)
        assert http.get(f"{server}/api/me").status_code == 200
    clock.advance(30 * 60)
    assert refused(http.get(f"{server}/api/me"), "session_expired")
    assert refused(http.get(f"{server}/api/me"))  # and it is gone
    assert org.site.directory.query("SELECT * FROM sessions") == []


def test_use_is_recorded_at_most_once_a_minute(org, server, clock):
    http = login(server)

    def last_seen() -> float:
        return org.site.directory.one("SELECT last_seen FROM sessions")["last_seen"]

    started = last_seen()
    for _ in range(5):
        clock.advance(10)
        http.get(f"{server}/api/me")
    assert last_seen() == started
    clock.advance(15)
    http.get(f"{server}/api/me")
    assert last_seen() == clock.now


def test_the_absolute_lifetime_ends_a_session_however_busy(org, server, clock):
    http = login(server)
    for _ in range(12 * 3 - 1):  # every 20 minutes for 11 h 40 min
        clock.advance(20 * 60)
        assert http.get(f"{server}/api/me").status_code == 200
    clock.advance(20 * 60)
    assert refused(http.get(f"{server}/api/me"), "session_expired")


def test_lifetime_and_idle_timeout_are_settings(org, tmp_path):
    config = load_config(
        env={
            "SOPU_SESSION_LIFETIME": "600",
            "SOPU_SESSION_IDLE_TIMEOUT": "120",
            "SOPU_DATA_DIR": str(tmp_path / "var"),
        }
    )
    assert (config.session_lifetime, config.session_idle_timeout) == (600, 120)
    app = create_app(config, site=org.site)
    clock = FakeClock()
    app.extensions["sopu.sessions"].clock = clock
    with serving(app) as url:
        http = requests.Session()
        response = http.post(f"{url}/api/login", json={"username": "aino", "password": PASSWORD})
        assert "Max-Age=600" in response.headers["Set-Cookie"]
        clock.advance(121)
        assert refused(http.get(f"{url}/api/me"), "session_expired")


def test_the_cookie_is_secure_when_a_trusted_proxy_says_the_client_used_https(org, tmp_path):
    app = create_app(Config(data_dir=tmp_path / "var-proxied", trusted_proxies=1), site=org.site)
    body = {"username": "aino", "password": PASSWORD}
    with serving(app) as url:
        plain = requests.post(f"{url}/api/login", json=body).headers["Set-Cookie"]
        tls = requests.post(
            f"{url}/api/login", json=body, headers={"X-Forwarded-Proto": "https"}
        ).headers["Set-Cookie"]
    assert "Secure" not in plain and "Secure" in tls
    assert "HttpOnly" in tls and "SameSite=Lax" in tls


def test_deactivating_an_account_wipes_its_devices(org, server, tmp_path):
    from sync.device import Device, DeviceWiped

    phone = Device(tmp_path / "phone", passphrase="1357", scrypt_n=2**10)
    phone.enrol(server, "aino", PASSWORD, label="phone")
    phone.pull()
    assert phone.documents()  # the family's case is on the phone
    admin = login(server, "admin")
    admin.patch(f"{server}/api/accounts/{org.workers['aino']}", json={"active": False})
    with pytest.raises(DeviceWiped):
        phone.pull()
    assert not phone.state_file.exists() and phone.documents() == []
    [entry] = org.site.audit.entries(action="device.revoked")
    assert entry.details["reason"] == "account deactivated"
