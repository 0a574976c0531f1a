"""Administrators manage teams and accounts; supervisors see quarantined pushes."""

from __future__ import annotations

import pytest

from tests.support.org import PASSWORD

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(org):
    org.worker("aino")
    org.worker("sanna", "supervisor")
    org.worker("admin", "admin")
    return org


def client(org, who):
    c = org.app.test_client()
    if who:
        assert c.post("/api/login", json={"username": who, "password": PASSWORD}).status_code == 200
    return c


def test_admin_creates_a_team_and_a_worker_who_can_log_in(org):
    admin = client(org, "admin")
    team = admin.post("/api/teams", json={"name": "Perhetyö Pohjoinen"})
    assert team.status_code == 201
    made = admin.post(
        "/api/accounts",
        json={
            "username": "ville",
            "display_name": "Ville Virtanen",
            "role": "worker",
            "team_id": team.json["id"],
            "password": "pitkä salasana 123",
        },
    )
    assert made.status_code == 201 and made.json["team_id"] == team.json["id"]
    login = org.app.test_client().post(
        "/api/login", json={"username": "ville", "password": "pitkä salasana 123"}
    )
    assert login.status_code == 200
    assert [e.action for e in org.site.audit.entries(action="account.created")][-1:] == [
        "account.created"
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "x", "display_name": "X", "role": "boss", "password": "x" * 12}, "/role"),
        (
            {"username": "x", "display_name": "X", "role": "worker", "password": "short"},
            "/password",
        ),
        ({"display_name": "X", "role": "worker", "password": "x" * 12}, "/username"),
    ],
)
def test_bad_account_requests_name_the_field(org, body, field):
    response = client(org, "admin").post("/api/accounts", json=body)
    assert response.status_code == 400
    assert field in [f["path"] for f in response.json["fields"]]


def test_duplicate_username_and_unknown_team_are_explained(org):
    admin = client(org, "admin")
    dup = admin.post(
        "/api/accounts",
        json={"username": "aino", "display_name": "A", "role": "worker", "password": "x" * 12},
    )
    assert dup.status_code == 409
    shouted = admin.post(
        "/api/accounts",
        json={"username": "AINO", "display_name": "A", "role": "worker", "password": "x" * 12},
    )
    assert (shouted.status_code, shouted.json["field"]) == (409, "username")
    ghost = admin.post(
        "/api/accounts",
        json={
            "username": "new",
            "display_name": "N",
            "role": "worker",
            "team_id": "0" * 32,
            "password": "x" * 12,
        },
    )
    assert ghost.status_code == 404


@pytest.mark.parametrize("who", [None, "aino", "sanna"])
@pytest.mark.parametrize(("method", "path"), [("post", "/api/teams"), ("post", "/api/accounts")])
def test_only_admins_manage_accounts(org, who, method, path):
    response = getattr(client(org, who), method)(path, json={"name": "x"})
    assert response.status_code == (401 if who is None else 403)


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("aino", 403), ("sanna", 200), ("admin", 200)]
)
def test_quarantine_is_for_supervisors_and_admins(org, who, status):
    assert client(org, who).get("/api/quarantine").status_code == status


def test_supervisor_sees_their_teams_quarantined_push(org):
    org.site.quarantine.hold("d" * 32, org.workers["aino"], {"_id": "a" * 32}, "device_revoked")
    org.site.quarantine.hold("d" * 32, "f" * 32, {"_id": "b" * 32}, "device_revoked")
    items = client(org, "sanna").get("/api/quarantine").json
    assert [i["doc_id"] for i in items] == ["a" * 32]
    assert len(client(org, "admin").get("/api/quarantine").json) == 2
