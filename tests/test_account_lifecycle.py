"""The account lifecycle through the admin API, over real HTTP: an administrator sees a
person's live sessions (times only, never a secret) and devices, ends the sessions,
deactivates the account (its sessions end and its devices wipe at their next
request), resets a password; a person changes their own with the current one. Every
step is in the audit log with the administrator as its actor, and nobody else may."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from sync.device import DeviceWiped
from tests.support.devices import device_session, enrolled_device
from tests.support.org import PASSWORD

COOKIE = "sopu_session"
NEW_PASSWORD = "uusi salasana 2027"


@pytest.fixture
def org(org):
    org.worker("aino")
    org.worker("sanna", "supervisor")
    org.worker("admin", "admin")
    org.case("family", "aino")
    return org


def login(server: str, username: str, password: str = PASSWORD) -> requests.Session:
    """A browser-like client: its cookie, and the Origin a browser sends with a POST."""
    http = requests.Session()
    http.headers["Origin"] = server
    response = http.post(f"{server}/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return http


def logged_out(response) -> bool:
    return response.status_code == 401 and response.json()["error"] == "unauthenticated"


def account_url(server: str, org, username: str) -> str:
    return f"{server}/api/accounts/{org.workers[username]}"


def audit_rows(org) -> str:
    """The whole audit log as text, to look for what must never be in it."""
    return json.dumps([dict(r) for r in org.site.directory.query("SELECT * FROM audit_log")])


def test_an_admin_sees_a_persons_live_sessions_and_devices_but_no_secret(org, server):
    laptop, desktop = login(server, "aino"), login(server, "aino")
    phone, _tokens = device_session(server, "aino", "Ainon puhelin")
    assert phone.get(f"{server}/sync/{org.workers['aino']}").status_code == 200  # a sync
    detail = login(server, "admin").get(account_url(server, org, "aino"))
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert (body["username"], body["active"]) == ("aino", True)
    # Three sessions: two browsers and the one device_session logged in to enrol.
    assert len(body["sessions"]) == 3
    assert all(set(s) == {"created_at", "last_seen", "expires_at"} for s in body["sessions"])
    assert all(s["created_at"] < s["expires_at"] for s in body["sessions"])
    [device] = body["devices"]
    assert (device["label"], device["revoked_at"]) == ("Ainon puhelin", None)
    assert device["enrolled_at"] and device["last_sync_at"]
    for client in (laptop, desktop):
        secret = client.cookies[COOKIE]
        assert secret not in detail.text
        assert hashlib.sha256(secret.encode()).hexdigest() not in detail.text
    assert _tokens["access_token"] not in detail.text


def test_ending_a_persons_sessions_logs_them_out_at_their_next_request(org, server):
    laptop, sanna, admin = login(server, "aino"), login(server, "sanna"), login(server, "admin")
    phone, _tokens = device_session(server, "aino")
    ended = admin.post(f"{account_url(server, org, 'aino')}/sessions/end")
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"sessions_ended": 2}  # the laptop and the enrolment's login
    assert logged_out(laptop.get(f"{server}/api/me"))
    assert logged_out(laptop.get(f"{server}/api/cases"))
    assert sanna.get(f"{server}/api/me").status_code == 200  # other people keep theirs
    assert phone.get(f"{server}/sync/{org.workers['aino']}").status_code == 200  # and devices
    assert admin.get(account_url(server, org, "aino")).json()["sessions"] == []
    [entry] = org.site.audit.entries(action="account.sessions_ended")
    assert (entry.actor, entry.subject) == (org.workers["admin"], org.workers["aino"])
    assert entry.details == {"sessions_ended": 2}
    login(server, "aino")  # the password still works


def test_deactivation_ends_sessions_and_wipes_devices_at_their_next_request(org, server, tmp_path):
    phone = enrolled_device(tmp_path, server, "aino")
    phone.pull()
    assert phone.documents()
    raw, _tokens = device_session(server, "aino", "tablet")
    laptop, admin = login(server, "aino"), login(server, "admin")
    changed = admin.patch(account_url(server, org, "aino"), json={"active": False})
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert logged_out(laptop.get(f"{server}/api/me"))
    answer = raw.get(f"{server}/sync/{org.workers['aino']}")
    assert answer.status_code == 401
    assert (answer.json()["error"], answer.json()["wipe"]) == ("device_revoked", True)
    with pytest.raises(DeviceWiped):
        phone.pull()
    assert phone.documents() == []
    detail = admin.get(account_url(server, org, "aino")).json()
    assert detail["sessions"] == [] and all(d["revoked_at"] for d in detail["devices"])
    [deactivated] = org.site.audit.entries(action="account.deactivated")
    assert deactivated.actor == org.workers["admin"]
    assert deactivated.details["sessions_ended"] == 3  # the laptop and the two enrolments
    revoked = org.site.audit.entries(action="device.revoked")
    assert sorted(e.subject for e in revoked) == sorted(d["id"] for d in detail["devices"])
    assert {e.actor for e in revoked} == {org.workers["admin"]}
    refused = requests.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    assert refused.status_code == 401


def test_reactivation_lets_the_person_log_in_again_with_new_devices_only(org, server, tmp_path):
    phone = enrolled_device(tmp_path, server, "aino")
    admin = login(server, "admin")
    admin.patch(account_url(server, org, "aino"), json={"active": False})
    back = admin.patch(account_url(server, org, "aino"), json={"active": True})
    assert back.json()["active"] is True
    login(server, "aino")
    with pytest.raises(DeviceWiped):
        phone.pull()  # a revoked device stays revoked
    [entry] = org.site.audit.entries(action="account.reactivated")
    assert entry.actor == org.workers["admin"]


def test_a_password_reset_ends_sessions_and_only_the_new_password_works(org, server):
    laptop, admin = login(server, "aino"), login(server, "admin")
    reset = admin.patch(account_url(server, org, "aino"), json={"password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert NEW_PASSWORD not in reset.text
    assert logged_out(laptop.get(f"{server}/api/me"))
    stale = requests.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    assert (stale.status_code, stale.json()["error"]) == (401, "invalid_credentials")
    login(server, "aino", NEW_PASSWORD)
    short = admin.patch(account_url(server, org, "aino"), json={"password": "short"})
    assert short.status_code == 400
    [entry] = org.site.audit.entries(action="account.password_changed")
    assert (entry.actor, entry.subject) == (org.workers["admin"], org.workers["aino"])
    assert entry.details == {"sessions_ended": 1}
    assert NEW_PASSWORD not in audit_rows(org) and PASSWORD not in audit_rows(org)


def test_changing_ones_own_password_needs_the_current_one_and_keeps_this_session(org, server):
    here, elsewhere = login(server, "aino"), login(server, "aino")
    url = f"{server}/api/me/password"
    missing = here.post(url, json={"new_password": NEW_PASSWORD})
    assert missing.status_code == 400
    wrong = here.post(url, json={"current_password": "not it", "new_password": NEW_PASSWORD})
    assert (wrong.status_code, wrong.json()["field"]) == (403, "current_password")
    assert elsewhere.get(f"{server}/api/me").status_code == 200  # nothing changed yet
    changed = here.post(url, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert logged_out(elsewhere.get(f"{server}/api/me"))
    assert here.get(f"{server}/api/me").json()["username"] == "aino"  # a new session here
    login(server, "aino", NEW_PASSWORD)
    [entry] = org.site.audit.entries(action="account.password_changed")
    assert entry.actor == entry.subject == org.workers["aino"]
    assert NEW_PASSWORD not in audit_rows(org)


@pytest.mark.parametrize("who", [None, "aino", "sanna"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("post", "/sessions/end", None),
        ("patch", "", {"active": False}),
        ("patch", "", {"password": NEW_PASSWORD}),
    ],
)
def test_only_administrators_manage_other_peoples_accounts(org, server, who, method, path, body):
    victim = login(server, "admin")
    client = login(server, who) if who else requests.Session()
    client.headers["Origin"] = server
    response = client.request(method, f"{account_url(server, org, 'admin')}{path}", json=body)
    assert response.status_code == (401 if who is None else 403)
    assert victim.get(f"{server}/api/me").status_code == 200  # nothing ended
    assert org.site.audit.entries(action="account.sessions_ended") == []
    assert org.site.accounts.get(org.workers["admin"])["active"] == 1
    login(server, "admin")  # the password is the same


def test_an_unknown_account_is_404(org, server):
    admin = login(server, "admin")
    assert admin.get(f"{server}/api/accounts/{'0' * 32}").status_code == 404
    assert admin.post(f"{server}/api/accounts/{'0' * 32}/sessions/end").status_code == 404


def test_an_administrator_cannot_set_their_own_password_without_the_current_one(org, server):
    """Whoever holds an administrator's session must not take the account over by
    setting a new password through the admin API: one's own goes through
    /api/me/password, which asks for the current one."""
    admin = login(server, "admin")
    me = admin.get(f"{server}/api/me").json()["id"]
    refused = admin.patch(f"{server}/api/accounts/{me}", json={"password": NEW_PASSWORD})
    assert (refused.status_code, refused.json()["field"]) == (403, "password")
    login(server, "admin")  # the old password still works
    assert not org.site.audit.entries(action="account.password_changed")
