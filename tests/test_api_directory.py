"""The directory API: families, cases, status, assignments, the access log, and who may
do what (an authorization matrix over every role, endpoint and kind of target)."""

from __future__ import annotations

import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from mobile_schema.examples import example
from server.app import create_app
from server.casework.expiry import DailyExpiry
from server.config import Config
from sync.cases import database_name
from tests.support.site import open_test_site

PASSWORD = "pitkä-salasana-1"
TODAY = date(2026, 5, 4)
STAMPED = ("_id", "type", "schema_version", "created_at", "created_by", "updated_at")
SENSITIVE = ("Anna-Maria", "Lindqvist", "Rantakatu 5 B 12", "Neuvolan terveydenhoitaja")


def family_body() -> dict:
    """The example family as a client sends it (no server-stamped fields)."""
    doc = example("family")
    for key in (*STAMPED, "updated_by"):
        doc.pop(key, None)
    del doc["members"][1]["id"]  # the server gives it one
    return doc


def case_details(pending_since: str = "2026-04-27") -> dict:
    doc = example("case")
    return {
        "service_task": doc["service_task"],
        "pending_since": pending_since,
        "referral": doc["referral"] | {"received_on": pending_since},
        "special_support_need": True,
    }


@dataclass
class World:
    """A site and app with two teams and one logged-in client per person."""

    tmp: Path
    site: object
    app: object
    ids: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    clients: dict = field(default_factory=dict)
    day: list = field(default_factory=lambda: [TODAY])
    shared: dict = field(default_factory=dict)

    def person(self, name: str, role: str, team: str | None) -> None:
        team_id = self.teams.get(team)
        self.ids[name] = self.site.accounts.create(
            name, name.title(), role, "setup", team_id, PASSWORD
        )
        client = self.app.test_client()
        response = client.post("/api/login", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.json
        self.clients[name] = client

    def client(self, name: str):
        return self.clients.get(name) or self.app.test_client()

    def new_family(self, team: str, worker: str | None, actor: str | None = None) -> tuple:
        """(family id, case id) made through the services, the worker as own worker."""
        actor_id = self.ids[actor or f"sup_{team}"]
        family_id, case_id = self.site.families.create(
            self.teams[team], family_body(), case_details(), actor_id, TODAY
        )
        if worker:
            self.site.casework.assign(
                case_id, self.ids[worker], "own_worker", actor_id, today=TODAY
            )
        return family_id, case_id


def build_world(tmp: Path) -> World:
    site = open_test_site(tmp)
    app = create_app(Config(data_dir=tmp, secret_key="test-secret"), site=site)
    world = World(tmp, site, app)
    app.config["SOPU_TODAY"] = lambda: world.day[0]
    world.teams = {t: site.accounts.create_team(f"Tiimi {t}", "setup") for t in ("a", "b")}
    for name, role, team in (
        ("admin", "admin", None),
        ("sup_a", "supervisor", "a"),
        ("sup_b", "supervisor", "b"),
        ("w_a", "worker", "a"),
        ("w_a2", "worker", "a"),
        ("w_b", "worker", "b"),
    ):
        world.person(name, role, team)
    return world


@pytest.fixture
def world(tmp_path):
    world = build_world(tmp_path)
    yield world
    world.site.close()


def create_family(world: World, who: str = "sup_a", **extra) -> dict:
    body = {"family": family_body(), "first_case": case_details(), **extra}
    response = world.client(who).post("/api/families", json=body)
    assert response.status_code == 201, response.json
    return response.json


def assign(world: World, case_id: str, worker: str, role: str = "own_worker", **dates):
    body = {"worker_id": world.ids[worker], "role": role, **dates}
    return world.client("sup_a").post(f"/api/cases/{case_id}/assignments", json=body)


def raw_bytes(tmp: Path) -> bytes:
    """Every byte the site keeps on disk: store, directory and their WAL files."""
    return b"".join(p.read_bytes() for p in tmp.rglob("*") if p.is_file())


# ---------------------------------------------------------------- happy paths


def test_family_and_first_case_are_created_and_read_back_decrypted(world):
    created = create_family(world)
    family_id, case = created["family"]["id"], created["case"]
    assert created["family"]["team_id"] == world.teams["a"]
    assert case["status"] == "pending" and case["status_since"] == "2026-04-27"
    assert "document" not in case  # writes return metadata only, never client data

    family = world.client("sup_a").get(f"/api/families/{family_id}").json
    assert family["case_ids"] == [case["id"]] and family["source_case_id"] == case["id"]
    doc = family["document"]
    assert doc["type"] == "family" and doc["_id"] != family_id
    assert [m["given_names"] for m in doc["members"]] == ["Anna-Maria", "Eetu"]
    assert all(len(m["id"]) == 32 for m in doc["members"])
    assert doc["created_by"] == world.ids["sup_a"]

    got = world.client("sup_a").get(f"/api/cases/{case['id']}").json
    assert got["document"]["family_id"] == family_id
    assert got["document"]["status"] == "pending"
    assert got["document"]["referral"]["source"] == "child_health_clinic"
    assert got["service_task"] == "family_social_guidance"


def test_client_data_is_stored_only_as_ciphertext(world):
    create_family(world)
    world.site.directory.connection().execute("PRAGMA wal_checkpoint(FULL)")
    stored = raw_bytes(world.tmp)
    for text in SENSITIVE:
        assert text.encode() not in stored


def test_a_new_case_gets_a_copy_of_the_latest_family_document(world):
    created = create_family(world)
    family_id, first = created["family"]["id"], created["case"]["id"]
    # A worker edits the family document on a device (here: straight into the store).
    row = world.site.cases.get(first)
    doc = world.site.records.read(first, row["family_doc_id"])
    doc.update(address="Kauppakatu 1, 40100 Jyväskylä", updated_at="2026-05-04T12:00:00Z")
    assert world.site.records.write(first, [doc])[0]["ok"]

    body = {"family_id": family_id, **case_details("2026-05-01")}
    response = world.client("sup_a").post("/api/cases", json=body)
    assert response.status_code == 201, response.json
    second = world.site.cases.get(response.json["id"])
    assert second["family_id"] == family_id and second["team_id"] == world.teams["a"]
    copy = world.site.records.read(second["id"], second["family_doc_id"])
    assert copy["address"] == "Kauppakatu 1, 40100 Jyväskylä"
    assert copy["_id"] != doc["_id"]  # ids stay unique across a worker's synced cases
    assert copy["members"] == doc["members"]

    family = world.client("sup_a").get(f"/api/families/{family_id}").json
    assert sorted(family["case_ids"]) == sorted([first, second["id"]])
    assert family["document"]["address"] == "Kauppakatu 1, 40100 Jyväskylä"


def test_admin_names_the_team_and_supervisors_stay_in_theirs(world):
    response = world.client("admin").post(
        "/api/families", json={"family": family_body(), "first_case": case_details()}
    )
    assert response.status_code == 400 and response.json["error"] == "invalid_input"
    assert response.json["field"] == "team_id"
    created = create_family(world, "admin", team_id=world.teams["b"])
    assert created["family"]["team_id"] == world.teams["b"]
    response = world.client("sup_a").post(
        "/api/families",
        json={"team_id": world.teams["b"], "family": family_body(), "first_case": case_details()},
    )
    assert response.status_code == 403 and response.json["error"] == "forbidden"


def test_invalid_bodies_name_the_fields(world):
    body = {"family": family_body(), "first_case": case_details()}
    body["family"]["members"][0]["birth_date"] = "12.3.1991"
    del body["family"]["members"][0]["given_names"]
    del body["first_case"]["referral"]
    response = world.client("sup_a").post("/api/families", json=body)
    assert response.status_code == 400 and response.json["error"] == "invalid_input"
    paths = {f["path"] for f in response.json["fields"]}
    assert paths == {
        "/family/members/0/birth_date",
        "/family/members/0/given_names",
        "/first_case/referral",
    }
    response = world.client("sup_a").post("/api/cases", json={"family_id": "nope"})
    paths = {f["path"] for f in response.json["fields"]}
    assert {"/family_id", "/service_task", "/pending_since", "/referral"} <= paths
    response = world.client("sup_a").get("/api/cases?status=open")
    assert response.status_code == 400 and response.json["field"] == "status"


# ---------------------------------------------------------------- status lifecycle


def test_status_moves_forward_with_dates_and_refuses_invalid_transitions(world):
    case_id = create_family(world)["case"]["id"]
    sup = world.client("sup_a")

    def move(status, on=None, **extra):
        body = {"status": status, **({"on": on} if on else {}), **extra}
        return sup.post(f"/api/cases/{case_id}/status", json=body)

    skipped = move("active", "2026-04-28")
    assert skipped.status_code == 409 and skipped.json["error"] == "invalid_transition"
    early = move("assessment", "2026-04-20")  # before it became pending
    assert early.status_code == 400 and early.json["field"] == "on"
    future = move("assessment", "2026-05-05")
    assert future.status_code == 400 and future.json["field"] == "on"

    moved = move("assessment", "2026-04-28")
    assert moved.status_code == 200, moved.json
    assert moved.json["status"] == "assessment" and moved.json["status_since"] == "2026-04-28"
    assert move("pending", "2026-04-29").json["error"] == "invalid_transition"
    assert move("assessment", "2026-04-29").json["error"] == "invalid_transition"
    assert move("active").json["status_since"] == TODAY.isoformat()  # `on` defaults to today

    no_reason = move("closed")
    assert no_reason.status_code == 400 and no_reason.json["fields"][0]["path"] == "/closure_reason"
    closed = move("closed", closure_reason="goals_met")
    assert closed.json["status"] == "closed" and closed.json["closed_on"] == TODAY.isoformat()
    for status in ("pending", "assessment", "active", "closed"):
        again = move(status, closure_reason="other")
        assert again.status_code == 409 and again.json["error"] == "invalid_transition"

    doc = world.site.records.read(case_id, case_id)
    assert doc["status"] == "closed" and doc["closure_reason"] == "goals_met"
    assert doc["assessment_started_on"] == "2026-04-28"
    assert doc["active_since"] == doc["closed_on"] == TODAY.isoformat()
    assert doc["_rev"].startswith("4-")  # one new revision per change
    actions = [e.action for e in world.site.audit.entries(subject=case_id)]
    assert actions.count("case.status") == 2 and "case.closed" in actions


def test_closing_ends_every_assignment_rotates_the_key_and_starts_retention(world):
    case_id = create_family(world)["case"]["id"]
    assert assign(world, case_id, "w_a").status_code == 201
    assert assign(world, case_id, "w_a2", "pair_worker").status_code == 201
    assert world.client("w_a").get(f"/api/cases/{case_id}").status_code == 200
    version_before = world.site.keys.current(case_id).version

    response = world.client("sup_a").post(
        f"/api/cases/{case_id}/close", json={"closed_on": "2026-05-01", "closure_reason": "moved"}
    )
    assert response.status_code == 200, response.json
    assert response.json["closed_on"] == response.json["retention_starts_on"] == "2026-05-01"
    assert world.site.keys.current(case_id).version == version_before + 1
    assert all(a["ended_at"] for a in world.site.cases.assignments(case_id))
    for worker in ("w_a", "w_a2"):
        assert world.site.cases.of_worker(world.ids[worker], TODAY) == []
        assert world.client(worker).get(f"/api/cases/{case_id}").status_code == 403
        assert world.client(worker).get("/api/cases").json == []
    envelope = world.site.store.database(database_name(case_id)).get(case_id)
    assert envelope["key_version"] == version_before  # sealed before access ended
    doc = world.client("sup_a").get(f"/api/cases/{case_id}").json["document"]
    assert doc["status"] == "closed" and doc["assignments"] == []
    late = assign(world, case_id, "w_b", "pair_worker")
    assert late.status_code == 409 and late.json["error"] == "case_closed"
    again = world.client("sup_a").post(
        f"/api/cases/{case_id}/close", json={"closure_reason": "moved"}
    )
    assert again.status_code == 409 and again.json["error"] == "invalid_transition"


# ---------------------------------------------------------------- assignments


def test_assignments_mirror_into_the_case_document(world):
    case_id = create_family(world)["case"]["id"]
    own = assign(world, case_id, "w_a").json
    pair = assign(world, case_id, "w_a2", "pair_worker", start_date="2026-05-01").json
    assert own["in_force"] and own["start_date"] == TODAY.isoformat()
    doc = world.site.records.read(case_id, case_id)
    assert [(a["id"], a["role"]) for a in doc["assignments"]] == [
        (pair["id"], "pair_worker"),
        (own["id"], "own_worker"),
    ]
    second_own = assign(world, case_id, "w_b")
    assert second_own.status_code == 409 and second_own.json["field"] == "role"
    twice = assign(world, case_id, "w_a2", "substitute", end_date="2026-06-01")
    assert twice.status_code == 409 and twice.json["field"] == "worker_id"
    unknown = world.client("sup_a").post(
        f"/api/cases/{case_id}/assignments",
        json={"worker_id": secrets.token_hex(16), "role": "pair_worker"},
    )
    assert unknown.status_code == 404

    version = world.site.keys.current(case_id).version
    ended = world.client("sup_a").post(
        f"/api/assignments/{pair['id']}/end", json={"reason": "reassigned"}
    )
    assert ended.status_code == 200 and ended.json["ended_at"] and not ended.json["in_force"]
    assert world.site.keys.current(case_id).version == version + 1
    doc = world.site.records.read(case_id, case_id)
    assert [a["id"] for a in doc["assignments"]] == [own["id"]]
    envelope = world.site.store.database(database_name(case_id)).get(case_id)
    assert envelope["key_version"] == version + 1  # the ended worker cannot read it
    assert world.client("w_a2").get(f"/api/cases/{case_id}").status_code == 403
    listed = world.client("w_a").get(f"/api/cases/{case_id}/assignments").json
    assert {a["id"]: a["in_force"] for a in listed} == {own["id"]: True, pair["id"]: False}
    again = world.client("sup_a").post(f"/api/assignments/{pair['id']}/end", json={})
    assert again.status_code == 409


def test_substitute_access_ends_by_itself_after_its_end_date(world):
    family_id, case_id = world.new_family("a", "w_a")
    missing = assign(world, case_id, "w_a2", "substitute")
    assert missing.status_code == 400 and missing.json["fields"][0]["path"] == "/end_date"
    past = assign(world, case_id, "w_a2", "substitute", end_date="2026-05-01")
    assert past.status_code == 400 and past.json["field"] == "end_date"
    sub = assign(world, case_id, "w_a2", "substitute", end_date="2026-05-10").json
    worker = world.client("w_a2")
    assert worker.get(f"/api/cases/{case_id}").status_code == 200
    assert worker.get(f"/api/families/{family_id}").status_code == 200
    assert [c["id"] for c in worker.get("/api/cases").json] == [case_id]

    world.day[0] = date(2026, 5, 11)  # the day after the end date: nothing else happens
    assert worker.get(f"/api/cases/{case_id}").status_code == 403
    assert worker.get(f"/api/families/{family_id}").status_code == 403
    assert worker.get(f"/api/cases/{case_id}/assignments").status_code == 403
    assert worker.get("/api/cases").json == []
    assert world.site.cases.of_worker(world.ids["w_a2"], world.day[0]) == []
    assert not world.site.cases.is_assigned(world.ids["w_a2"], case_id, world.day[0])
    listed = world.client("sup_a").get(f"/api/cases/{case_id}/assignments").json
    assert {a["id"]: a["in_force"] for a in listed}[sub["id"]] is False
    # The next change to the assignments drops the expired substitute from the document.
    assign(world, case_id, "w_b", "pair_worker")
    doc = world.site.records.read(case_id, case_id)
    assert sub["id"] not in {a["id"] for a in doc["assignments"]}
    # And the worker may be the case's substitute again later.
    again = assign(world, case_id, "w_a2", "substitute", end_date="2026-05-20")
    assert again.status_code == 201
    assert worker.get(f"/api/cases/{case_id}").status_code == 200


def test_an_expired_substitute_is_ended_and_the_key_rotated_on_the_first_request_of_a_day(
    world,
):
    _, case_id = world.new_family("a", "w_a")
    sub = assign(world, case_id, "w_a2", "substitute", end_date="2026-05-10").json
    version = world.site.keys.current(case_id).version
    sup = world.client("sup_a")

    world.day[0] = date(2026, 5, 10)  # the last day: still the substitute's
    assert world.client("w_a2").get(f"/api/cases/{case_id}").status_code == 200
    assert world.site.keys.current(case_id).version == version
    assert world.site.cases.assignment(sub["id"])["ended_at"] is None

    world.day[0] = date(2026, 5, 11)
    sup.get("/api/cases")  # any request, by anyone
    assert world.site.cases.assignment(sub["id"])["ended_at"] is not None
    new_key = world.site.keys.current(case_id)
    assert new_key.version == version + 1  # what is written now, the substitute cannot read
    [ended] = world.site.audit.entries(action="assignment.ended", subject=case_id)
    assert (ended.actor, ended.details["reason"]) == ("expiry", "expired")
    assert world.client("w_a2").get(f"/api/cases/{case_id}").status_code == 403

    # Once a day: later requests that day, and the next day, rotate nothing more.
    sup.get("/api/cases")
    world.day[0] = date(2026, 5, 12)
    sup.get("/api/cases")
    assert world.site.keys.current(case_id).version == version + 1
    # The next write of the case uses the new key.
    assign(world, case_id, "w_b", "pair_worker")
    envelope = world.site.store.database(database_name(case_id)).get(case_id)
    assert envelope["key_version"] == new_key.version
    doc = world.site.records.read(case_id, case_id)
    assert [a["role"] for a in doc["assignments"]] == ["own_worker", "pair_worker"]


def test_two_processes_expiring_the_same_day_rotate_the_key_once(world):
    _, case_id = world.new_family("a", "w_a")
    sub = assign(world, case_id, "w_a2", "substitute", end_date="2026-05-10").json
    version = world.site.keys.current(case_id).version
    # One DailyExpiry per gunicorn worker process, all starting on the same morning.
    workers = [DailyExpiry(world.site.cases, lambda: date(2026, 5, 11)) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        ended = list(pool.map(lambda expiry: expiry(), workers))
    assert sorted(len(e) for e in ended) == [0, 0, 0, 1]
    assert world.site.keys.current(case_id).version == version + 1
    entries = world.site.audit.entries(action="assignment.ended", subject=case_id)
    assert [e.details["reason"] for e in entries] == ["expired"]
    assert world.site.cases.assignment(sub["id"])["ended_at"] is not None


def test_expiry_that_fails_is_logged_retried_and_never_fails_the_request(world, caplog):
    _, case_id = world.new_family("a", "w_a")
    sub = assign(world, case_id, "w_a2", "substitute", end_date="2026-05-10").json
    expiry = world.app.extensions["sopu.expiry"]
    real = expiry.cases

    class Unavailable:
        def expire_due(self, actor, today):
            raise OSError("disk full")

    expiry.cases = Unavailable()
    world.day[0] = date(2026, 5, 11)
    assert world.client("sup_a").get("/api/cases").status_code == 200
    assert "ending expired assignments failed" in caplog.text
    assert world.site.cases.assignment(sub["id"])["ended_at"] is None
    expiry.cases = real
    assert world.client("sup_a").get("/api/cases").status_code == 200
    assert world.site.cases.assignment(sub["id"])["ended_at"] is not None


# ---------------------------------------------------------------- access log


def test_every_read_of_client_data_is_access_logged_in_a_hash_chain(world):
    family_id, case_id = world.new_family("a", "w_a")
    worker = world.client("w_a")
    assert world.site.access_log.entries() == []
    worker.get("/api/cases")  # metadata only: not a read of client data
    worker.get(f"/api/cases/{case_id}/assignments")
    assert world.site.access_log.entries() == []

    worker.get(f"/api/cases/{case_id}")
    family = worker.get(f"/api/families/{family_id}").json
    world.client("sup_a").get(f"/api/cases/{case_id}")
    worker.get(f"/api/cases/{secrets.token_hex(16)}")  # unknown: nothing read
    world.client("w_b").get(f"/api/cases/{case_id}")  # forbidden: nothing read

    entries = world.site.access_log.entries(case_id=case_id)
    assert [(e.worker_id, e.doc_ids, e.action, e.device_id) for e in entries] == [
        (world.ids["w_a"], [case_id], "read", None),
        (world.ids["w_a"], [family["document"]["_id"]], "read", None),
        (world.ids["sup_a"], [case_id], "read", None),
    ]
    assert [e.seq for e in world.site.access_log.entries(worker_id=world.ids["sup_a"])] == [3]
    assert entries[1].prev_hash == entries[0].hash
    assert world.site.access_log.verify() is None
    assert world.site.audit.verify() is None

    path = world.tmp / "directory.sqlite3"
    con = sqlite3.connect(path)
    log_text = " ".join(str(v) for row in con.execute("SELECT * FROM access_log") for v in row)
    assert not any(text in log_text for text in SENSITIVE)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE access_log SET worker_id = ? WHERE seq = 2", (world.ids["w_b"],))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM access_log WHERE seq = 1")
    con.execute("DROP TRIGGER access_log_no_update")
    con.execute("UPDATE access_log SET worker_id = ? WHERE seq = 2", (world.ids["w_b"],))
    con.commit()
    con.close()
    assert world.site.access_log.verify() == 2


def test_the_access_log_takes_ids_only(world):
    case_id = world.new_family("a", "w_a")[1]
    with pytest.raises(ValueError):
        world.site.access_log.record(world.ids["w_a"], case_id, ["Anna-Maria Lindqvist"])
    with pytest.raises(ValueError):
        world.site.access_log.record(world.ids["w_a"], case_id, [case_id], action="print")
    assert world.site.access_log.entries() == []


# ---------------------------------------------------------------- the authorization matrix

ROLES = {"worker": "w_a", "supervisor": "sup_a", "admin": "admin", "anonymous": None}
TARGETS = ("own", "other_worker", "other_team", "none")
READS = {"get_family", "list_cases", "get_case", "list_assignments"}


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory):
    """Shared by the matrix: read targets made once, write targets made fresh per call.

    own: team a, assigned to w_a; other_worker: team a, assigned to w_a2 only;
    other_team: team b, assigned to w_b; none: an id that exists nowhere.
    """
    world = build_world(tmp_path_factory.mktemp("matrix"))
    world.shared = {
        "own": world.new_family("a", "w_a"),
        "other_worker": world.new_family("a", "w_a2"),
        "other_team": world.new_family("b", "w_b"),
    }
    yield world
    world.site.close()


def _fresh(world: World, target: str) -> tuple[str, str]:
    """A new (family, case) of the target kind, so writes never disturb other cells."""
    if target == "none":
        return secrets.token_hex(16), secrets.token_hex(16)
    team, worker = {"own": ("a", "w_a"), "other_worker": ("a", "w_a2"), "other_team": ("b", "w_b")}[
        target
    ]
    return world.new_family(team, worker)


def _shared(world: World, target: str) -> tuple[str, str]:
    if target == "none":
        return secrets.token_hex(16), secrets.token_hex(16)
    return world.shared[target]


def _team(world: World, target: str) -> str:
    if target == "none":
        return secrets.token_hex(16)
    return world.teams["b" if target == "other_team" else "a"]


def call(world: World, client, endpoint: str, target: str):
    """Make the endpoint's request against a target of the given kind."""
    if endpoint == "create_family":
        body = {"team_id": _team(world, target), "family": family_body()}
        return client.post("/api/families", json=body | {"first_case": case_details()})
    if endpoint == "get_family":
        return client.get(f"/api/families/{_shared(world, target)[0]}")
    if endpoint == "create_case":
        body = {"family_id": _shared(world, target)[0], **case_details()}
        return client.post("/api/cases", json=body)
    if endpoint == "list_cases":
        return client.get("/api/cases")
    if endpoint == "get_case":
        return client.get(f"/api/cases/{_shared(world, target)[1]}")
    if endpoint == "list_assignments":
        return client.get(f"/api/cases/{_shared(world, target)[1]}/assignments")
    case_id = _fresh(world, target)[1]
    if endpoint == "change_status":
        return client.post(f"/api/cases/{case_id}/status", json={"status": "assessment"})
    if endpoint == "close_case":
        return client.post(f"/api/cases/{case_id}/close", json={"closure_reason": "goals_met"})
    if endpoint == "assign":
        worker = "w_a" if target == "other_team" else "w_b"
        body = {"worker_id": world.ids[worker], "role": "pair_worker"}
        return client.post(f"/api/cases/{case_id}/assignments", json=body)
    if endpoint == "end_assignment":
        open_rows = world.site.cases.assignments(case_id) if target != "none" else []
        assignment_id = open_rows[0]["id"] if open_rows else secrets.token_hex(16)
        return client.post(f"/api/assignments/{assignment_id}/end", json={})
    raise AssertionError(endpoint)


ENDPOINTS = (
    "create_family",
    "get_family",
    "create_case",
    "list_cases",
    "get_case",
    "change_status",
    "close_case",
    "assign",
    "list_assignments",
    "end_assignment",
)


def allowed(role: str, endpoint: str, target: str) -> bool:
    """The rule under test, written out plainly."""
    if role == "admin":
        return target != "none"
    if role == "supervisor":
        return target in ("own", "other_worker")
    if role == "worker":
        return target == "own" and endpoint in READS
    return False


def expected_refusal(role: str, endpoint: str, target: str) -> int:
    if role == "anonymous":
        return 401
    if role == "worker" and endpoint not in READS:
        return 403  # the role check comes first: no existence is revealed
    if target == "none" and not (role == "supervisor" and endpoint == "create_family"):
        return 404
    return 403


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(matrix_world, role, endpoint, target):
    world = matrix_world
    client = world.client(ROLES[role]) if ROLES[role] else world.app.test_client()
    response = call(world, client, endpoint, target)
    if endpoint == "list_cases" and role != "anonymous":
        assert response.status_code == 200
        listed = {case["id"] for case in response.json}
        in_list = target != "none" and _shared(world, target)[1] in listed
        assert in_list == allowed(role, endpoint, target)
        return
    if allowed(role, endpoint, target):
        assert response.status_code in (200, 201), response.json
        if endpoint in ("get_case", "get_family") and role == "admin":
            assert response.json["document"] is None  # administrators read no client content
        elif endpoint in ("get_case", "get_family"):
            assert response.json["document"]["type"] in ("case", "family")
    else:
        assert response.status_code == expected_refusal(role, endpoint, target), response.json
        assert "document" not in response.json


# ---------------------------------------------------------------- the API description


def test_openapi_lists_every_directory_endpoint(world):
    spec = world.client("admin").get("/api/openapi.json").json
    rules = [r for r in world.app.url_map.iter_rules() if r.endpoint.startswith("directory.")]
    assert len(rules) == len(ENDPOINTS)
    for rule in rules:
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path][method.lower()]
            assert operation["summary"] and operation["tags"] == ["directory"]
    create = spec["paths"]["/api/families"]["post"]
    assert "requestBody" in create and "201" in create["responses"]
    assert "Roles: supervisor, admin" in create["description"]


def test_dates_in_the_past_are_kept_as_given(world):
    """A case whose matter became pending a week ago keeps that date as its status date."""
    pending = (TODAY - timedelta(days=7)).isoformat()
    body = {"family": family_body(), "first_case": case_details(pending)}
    created = world.client("sup_a").post("/api/families", json=body).json
    assert created["case"]["status_since"] == pending
    body["first_case"] = case_details((TODAY + timedelta(days=1)).isoformat())
    response = world.client("sup_a").post("/api/families", json=body)
    assert response.status_code == 400 and response.json["field"] == "pending_since"
    assert len(world.site.directory.query("SELECT * FROM families")) == 1


def test_an_administrator_gets_a_case_and_a_family_without_their_documents(world):
    family_id, case_id = world.new_family("a", "w_a")
    admin = world.client("admin")
    case = admin.get(f"/api/cases/{case_id}")
    family = admin.get(f"/api/families/{family_id}")
    assert case.status_code == family.status_code == 200
    assert case.json["document"] is None and case.json["team_id"] == world.teams["a"]
    assert family.json["document"] is None and family.json["case_ids"] == [case_id]
    assert not any(word in family.text or word in case.text for word in SENSITIVE)
    assert "referral" not in case.text
    assert world.site.access_log.entries(worker_id=world.ids["admin"]) == []  # nothing read


def test_a_case_without_a_case_document_reads_as_none_and_logs_nothing(world):
    """Cases seeded straight through `Cases.create` have no sealed case document."""
    case_id = world.site.cases.create(secrets.token_hex(16), "setup", world.teams["a"])
    response = world.client("sup_a").get(f"/api/cases/{case_id}")
    assert response.status_code == 200 and response.json["document"] is None
    assert world.site.access_log.entries() == []
