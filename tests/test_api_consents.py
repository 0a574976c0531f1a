"""Consents and disclosures through the HTTP API, on the served demo organisation.

An assigned instructor records a consent a guardian gives and its withdrawal (a new
revision, never a deletion); the list shows both revisions and who recorded what for
which guardian. A disclosure on a consent that is missing, not yet valid, expired,
withdrawn or names another service is refused, each with its own code and a message
naming the consent; one on a valid consent, a statute or to the client is in the
case's disclosure log, whose hash chain verifies and whose rows cannot be changed.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from server.casework.case_file import CaseFiles
from server.disclosure_log import CHAIN
from tests.support.case_files import other_team_worker
from tests.support.web import session

CLINIC = "Neuvola Solrosen"


def family_of(web, case_id: str) -> dict:
    [family] = CaseFiles.of(web.site).open(case_id, "family").documents
    return {m["role"]: m["id"] for m in family["members"]}


def consent_body(guardian: str, **changes) -> dict:
    body = {
        "service_kind": "child_health_clinic",
        "service_name": CLINIC,
        "scope": "Barnets hälsa och språkstöd",
        "given_by": guardian,
        "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
    }
    return {k: v for k, v in (body | changes).items() if v is not None}


def give(http, web, case_id: str, body: dict) -> dict:
    answer = http.post(f"{web.url}/api/cases/{case_id}/consents", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_consent_is_given_withdrawn_and_both_are_in_its_history(web, cases):
    aino = session(web, "aino")
    guardian = family_of(web, cases.single)["guardian"]
    given = give(aino, web, cases.single, consent_body(guardian))
    assert given["service_name"] == CLINIC and given["given_by"] == guardian
    assert "withdrawn_at" not in given

    url = f"{web.url}/api/cases/{cases.single}/consents/{given['_id']}/withdraw"
    withdrawn = aino.post(url, json={"withdrawn_by": guardian})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_at"]
    again = aino.post(url, json={})
    assert again.status_code == 409 and again.json()["error"] == "consent_already_withdrawn"

    listed = aino.get(f"{web.url}/api/cases/{cases.single}/consents").json()
    [row] = [r for r in listed if r["consent"]["_id"] == given["_id"]]
    aino_id = web.worker("aino")["id"]
    assert row["state"] == "withdrawn"
    assert [(h["rev"][:2], h["updated_by"]) for h in row["history"]] == [
        ("1-", aino_id), ("2-", aino_id)
    ]  # fmt: skip
    assert [(e["event"], e["recorded_by"], e["guardian"]) for e in row["events"]] == [
        ("given", aino_id, guardian), ("withdrawn", aino_id, guardian)
    ]  # fmt: skip
    # The demo's own consent (written as a device would) has its lifecycle too.
    [demo] = [r for r in listed if r["consent"]["service_name"] == "Daghemmet Näckrosen"]
    assert demo["state"] == "valid" and [e["event"] for e in demo["events"]] == ["given"]
    actions = [e.action for e in web.site.audit.entries(subject=cases.single)]
    assert actions.count("consent.given") == 1 and actions.count("consent.withdrawn") == 1
    reads = web.site.access_log.entries(case_id=cases.single, worker_id=aino_id)
    assert reads[-1].purpose == "case_work" and given["_id"] in reads[-1].doc_ids
    later = give(aino, web, cases.single, consent_body(guardian))
    ahead = aino.post(
        f"{web.url}/api/cases/{cases.single}/consents/{later['_id']}/withdraw",
        json={"withdrawn_at": "2099-01-01T00:00:00Z"},  # not yet withdrawn, so not recorded
    )
    assert (ahead.status_code, ahead.json()["field"]) == (400, "withdrawn_at")
    assert "withdrawn_at" not in web.site.consents.consent(cases.single, later["_id"])


def test_a_consent_must_be_whole_and_given_by_a_guardian_of_the_family(web, cases):
    aino = session(web, "aino")
    members = family_of(web, cases.single)
    url = f"{web.url}/api/cases/{cases.single}/consents"
    no_scope = {k: v for k, v in consent_body(members["guardian"]).items() if k != "scope"}
    answer = aino.post(url, json=no_scope)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_input"
    answer = aino.post(url, json=consent_body(members["child"]))
    assert answer.status_code == 400 and "given_by must be a guardian" in answer.json()["reason"]
    backwards = consent_body(members["guardian"], valid_from="2026-06-01", valid_to="2025-06-01")
    answer = aino.post(url, json=backwards)
    assert (answer.status_code, answer.json()["field"]) == (400, "valid_to")
    listed = aino.get(url).json()
    assert [r["consent"]["service_name"] for r in listed] == ["Daghemmet Näckrosen"]  # no new
    one_day = consent_body(members["guardian"], valid_from="2026-06-01", valid_to="2026-06-01")
    assert aino.post(url, json=one_day).status_code == 201  # a consent for one day holds


@pytest.mark.parametrize("who", ["esihenkilo", "admin", "olli"])
def test_only_an_assigned_instructor_records_consents_and_disclosures(web, cases, who):
    if who == "olli":
        other_team_worker(web)
    http = session(web, who)
    guardian = family_of(web, cases.single)["guardian"]
    answer = http.post(f"{web.url}/api/cases/{cases.single}/consents", json=consent_body(guardian))
    expected = {"esihenkilo": 403, "admin": 403, "olli": 404}[who]  # admin: by role
    assert answer.status_code == expected
    listing = http.get(f"{web.url}/api/cases/{cases.single}/disclosures")
    assert listing.status_code == (200 if who == "esihenkilo" else 404)


def _day(offset: int | None) -> str | None:
    return None if offset is None else (date.today() + timedelta(offset)).isoformat()


def _disclose(http, web, case_id: str, **body):
    doc_ids = body.pop("doc_ids", None) or [CaseFiles.of(web.site).open(case_id, "plan").doc_ids[0]]
    return http.post(f"{web.url}/api/cases/{case_id}/disclosures", json={"doc_ids": doc_ids} | body)


REFUSALS = {
    "missing": "consent_missing",
    "not_yet": "consent_not_yet_valid",
    "expired": "consent_expired",
    "withdrawn": "consent_withdrawn",
    "out_of_scope": "consent_out_of_scope",
}


@pytest.mark.parametrize("reason", list(REFUSALS))
def test_a_disclosure_on_a_consent_that_does_not_hold_is_refused(web, cases, reason):
    aino = session(web, "aino")
    guardian = family_of(web, cases.single)["guardian"]
    windows = {"not_yet": (10, None), "expired": (-100, -1)}
    start, end = (_day(n) for n in windows.get(reason, (-30, None)))
    consent = give(aino, web, cases.single,
                   consent_body(guardian, valid_from=start, valid_to=end))  # fmt: skip
    if reason == "withdrawn":
        url = f"{web.url}/api/cases/{cases.single}/consents/{consent['_id']}/withdraw"
        assert aino.post(url, json={}).status_code == 200
    consent_id = "0" * 32 if reason == "missing" else consent["_id"]
    recipient = "Päiväkoti Muu" if reason == "out_of_scope" else CLINIC
    answer = _disclose(aino, web, cases.single, recipient=recipient, basis="consent",
                       consent_id=consent_id)  # fmt: skip
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == REFUSALS[reason]
    assert consent_id in body["reason"] and body["consent_id"] == consent_id
    assert web.site.disclosures.of_case(cases.single) == []


def test_disclosures_on_each_basis_are_logged_in_a_chain_that_verifies(web, cases):
    aino = session(web, "aino")
    members = family_of(web, cases.single)
    consent = give(aino, web, cases.single, consent_body(members["guardian"]))
    on_consent = _disclose(
        aino, web, cases.single, recipient="  neuvola   SOLROSEN ", basis="consent",
        consent_id=consent["_id"], member_ids=[members["child"]],
    )  # fmt: skip
    assert on_consent.status_code == 201, on_consent.text
    on_statute = _disclose(aino, web, cases.single, recipient="Barnskyddet i Vasa",
                           basis="statute", statute="LSL_25")  # fmt: skip
    assert on_statute.status_code == 201, on_statute.text
    to_client = _disclose(aino, web, cases.single, recipient="Abdi", basis="client")
    assert to_client.status_code == 201

    log = session(web, "esihenkilo").get(f"{web.url}/api/cases/{cases.single}/disclosures")
    rows = log.json()
    assert [(r["basis"], r["consent_id"], r["statute"]) for r in rows] == [
        ("consent", consent["_id"], None), ("statute", None, "LSL_25"), ("client", None, None)
    ]  # fmt: skip
    assert rows[0]["member_ids"] == [members["child"]]
    assert rows[0]["worker_id"] == web.worker("aino")["id"]
    # Reading who received what is itself in the access log, as the supervisor's read.
    supervisor = web.worker("esihenkilo")["id"]
    reads = [
        r for r in web.site.access_log.entries(case_id=cases.single)
        if r.worker_id == supervisor and r.action == "read"
    ]  # fmt: skip
    assert reads and set(rows[0]["doc_ids"]) <= set(reads[-1].doc_ids)
    assert reads[-1].purpose == "supervision"
    assert web.site.disclosures.verify() is None
    assert CHAIN.verify(web.site.directory) is None
    [entry] = web.site.audit.entries(action="disclosure.recorded", subject=cases.single)[:1]
    assert entry.details["basis"] == "consent"

    raw = sqlite3.connect(web.site.directory.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE disclosure_log SET recipient = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM disclosure_log")
    # An insider who drops the trigger and edits a row is caught by the chain.
    raw.execute("DROP TRIGGER disclosure_log_no_update")
    raw.execute("UPDATE disclosure_log SET recipient = 'Någon annan' WHERE seq = 2")
    raw.commit()
    raw.close()
    assert web.site.disclosures.verify() == 2


@pytest.mark.parametrize(
    "body, code",
    [
        ({"basis": "statute", "statute": "LSL_99"}, "unknown_statute"),
        ({"basis": "consent"}, "invalid_input"),
        ({"basis": "client", "doc_ids": ["f" * 32]}, "invalid_input"),
        ({"basis": "client", "disclosed_on": "2999-01-01"}, "invalid_input"),
    ],
)
def test_a_disclosure_without_a_proper_basis_or_documents_is_400(web, cases, body, code):
    answer = _disclose(session(web, "aino"), web, cases.single, recipient="Skolan", **body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == code
