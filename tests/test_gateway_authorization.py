"""Who may do what on /sync and /api/devices: every role × endpoint × case relation."""

from __future__ import annotations

import pytest

from mobile_schema.examples import example
from sync.crypto import DeviceKeys, seal
from tests.support.org import PASSWORD, make_org
from tests.support.site import open_test_site

pytestmark = pytest.mark.both_directories

PEOPLE = (("aino", "worker"), ("bertil", "worker"), ("sanna", "supervisor"), ("admin", "admin"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authz")
    site = open_test_site(tmp)
    org = make_org(tmp, site)
    for name, role in PEOPLE:
        org.worker(name, role)
    org.case("own", "aino")
    org.case("other", "bertil")
    org.case("none")
    client = org.app.test_client()
    client.post("/api/login", json={"username": "aino", "password": PASSWORD})
    tokens = client.post(
        "/api/devices",
        json={"label": "phone", "public_key": DeviceKeys.generate().public().to_json()},
    ).json
    yield org, tokens
    site.close()


def session_for(org, username):
    client = org.app.test_client()
    if username:
        assert (
            client.post("/api/login", json={"username": username, "password": PASSWORD}).status_code
            == 200
        )
    return client


CASES = ["own", "other", "none"]


def doc_of(org, label):
    return org.docs[label][-1]


@pytest.mark.parametrize("relation", CASES)
@pytest.mark.parametrize("endpoint", ["get", "bulk_get", "open_revs"])
def test_device_reads_only_its_workers_cases(world, endpoint, relation):
    org, tokens = world
    client = org.app.test_client()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    db = f"/sync/{org.workers['aino']}"
    doc_id = doc_of(org, relation)
    if endpoint == "get":
        response = client.get(f"{db}/{doc_id}", headers=auth)
        allowed = response.status_code == 200
        assert response.status_code in (200, 404)
    elif endpoint == "bulk_get":
        response = client.post(
            f"{db}/_bulk_get?revs=true", headers=auth, json={"docs": [{"id": doc_id}]}
        )
        allowed = "ok" in response.json["results"][0]["docs"][0]
    else:
        response = client.get(f"{db}/{doc_id}?open_revs=all", headers=auth)
        allowed = response.status_code == 200 and bool(response.json)
    assert allowed == (relation == "own")


@pytest.mark.parametrize("relation", CASES)
def test_device_pushes_only_into_its_workers_cases(world, relation):
    org, tokens = world
    case_id = org.cases[relation]
    note = example("note") | {"case_id": case_id, "_id": "ab" * 16, "updated_by": "c" * 32}
    envelope = seal(note, org.site.keys.current(case_id))
    response = org.app.test_client().post(
        f"/sync/{org.workers['aino']}/_bulk_docs",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        json={"docs": [envelope], "new_edits": True},
    )
    [result] = response.json
    if relation == "own":
        assert result.get("ok") is True
    else:
        assert result["error"] == "forbidden" and result["code"] == "not_assigned"


@pytest.mark.parametrize("who", ["anonymous", "aino", "sanna", "admin"])
@pytest.mark.parametrize("path", ["", "/_changes", "/_local/x"])
def test_people_and_strangers_cannot_use_sync_without_a_device_token(world, who, path):
    org, _tokens = world
    client = session_for(org, None if who == "anonymous" else who)
    response = client.get(f"/sync/{org.workers['aino']}{path}")
    assert response.status_code == 401
    assert response.json["error"] == "unauthenticated"


@pytest.mark.parametrize("target", ["bertil", "sanna", "nobody"])
def test_a_device_cannot_open_another_workers_database(world, target):
    org, tokens = world
    name = org.workers.get(target, "0" * 32)
    response = org.app.test_client().get(
        f"/sync/{name}/_changes", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("token", ["garbage", "", "Basic abc"])
def test_bad_tokens_are_refused(world, token):
    org, _ = world
    headers = (
        {"Authorization": f"Bearer {token}"} if token != "Basic abc" else {"Authorization": token}
    )
    response = org.app.test_client().get(f"/sync/{org.workers['aino']}", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("anonymous", False), ("aino", True), ("bertil", False), ("sanna", True), ("admin", True)],
)
def test_who_may_revoke_aino_s_device(tmp_path, who, allowed):
    site = open_test_site(tmp_path)
    org = make_org(tmp_path, site)
    for name, role in PEOPLE:
        org.worker(name, role)
    owner = session_for(org, "aino")
    tokens = owner.post(
        "/api/devices",
        json={"label": "phone", "public_key": DeviceKeys.generate().public().to_json()},
    ).json
    client = session_for(org, None if who == "anonymous" else who)
    response = client.post(f"/api/devices/{tokens['device_id']}/revoke", json={"reason": "lost"})
    assert (response.status_code == 200) == allowed
    if not allowed:
        assert response.status_code in (401, 403)
    site.close()


@pytest.mark.parametrize(
    ("who", "visible"), [("aino", 1), ("bertil", 0), ("sanna", 1), ("admin", 1)]
)
def test_device_listing_follows_the_role(world, who, visible):
    org, tokens = world
    listed = session_for(org, who).get("/api/devices").json
    assert sum(d["id"] == tokens["device_id"] for d in listed) == visible


def test_supervisors_and_admins_cannot_enrol_devices(world):
    org, _ = world
    for who in ("sanna", "admin"):
        response = session_for(org, who).post(
            "/api/devices",
            json={"label": "x", "public_key": DeviceKeys.generate().public().to_json()},
        )
        assert response.status_code == 403
