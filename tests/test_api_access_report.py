"""`GET /api/families/<id>/access-report`: the client's access report, on the served demo
organisation with a real reference device.

The supervisor reads the case on the web, Aino's phone syncs it (a delivery) and
pushes a note (a change), and Aino records a disclosure to the child health clinic on
the family's consent: the report lists each with who (name and role), when, which
documents (type and date, no content) and the basis. The period and the member
filters narrow it; a bad date or a period backwards is 400 with its code; an
administrator or another team's worker gets 404; producing the report is logged.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from server.casework.case_file import CaseFiles
from server.legal.access_report import local_day
from server.tools import fieldwork
from tests.support.case_files import other_team_worker, phone
from tests.support.web import session

pytestmark = pytest.mark.both_directories

NOTE = "Vi övade morgonschemat med bilderna; pappan tyckte att det gick bättre."


def report_url(web, case_id: str) -> str:
    return f"{web.url}/api/families/{web.site.cases.get(case_id)['family_id']}/access-report"


@pytest.fixture
def story(web, cases, tmp_path):
    """A web read, a delivery, a change from a phone and a disclosure ten days ago."""
    supervisor = session(web, "esihenkilo")
    assert supervisor.get(f"{web.url}/api/cases/{cases.single}/documents").status_code == 200
    aino_phone = phone(web, tmp_path, "aino")  # enrols and pulls: a delivery
    note = fieldwork.new_note(aino_phone, cases.single, NOTE, at="2026-11-20T08:00:00Z")
    assert aino_phone.push().errors == []
    aino_phone.close()
    files = CaseFiles.of(web.site).open(cases.single)
    [consent] = files.of_type("consent")
    [plan] = files.of_type("plan")
    [family] = files.of_type("family")
    child = next(m["id"] for m in family["members"] if m["role"] == "child")
    aino = session(web, "aino")
    disclosed_on = (date.today() - timedelta(days=10)).isoformat()
    disclosure = aino.post(
        f"{web.url}/api/cases/{cases.single}/disclosures",
        json={"recipient": consent["service_name"], "basis": "consent",
              "consent_id": consent["_id"], "doc_ids": [plan["_id"]], "member_ids": [child],
              "disclosed_on": disclosed_on},
    )  # fmt: skip
    assert disclosure.status_code == 201, disclosure.text
    return {"note": note, "plan": plan, "consent": consent, "child": child,
            "disclosed_on": disclosed_on, "family": family}  # fmt: skip


def test_the_report_lists_a_read_a_delivery_a_change_and_a_disclosure(web, cases, story):
    answer = session(web, "esihenkilo").get(report_url(web, cases.single))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    today = date.today()
    assert report["to"] == today.isoformat()
    assert report["from"] == today.replace(year=today.year - 2).isoformat()
    entries = report["entries"]
    sanna = {"id": web.worker("esihenkilo")["id"], "name": "Sanna Esihenkilö",
             "role": "supervisor"}  # fmt: skip
    aino = {"id": web.worker("aino")["id"], "name": "Aino Ohjaaja", "role": "worker"}

    [read] = [e for e in entries if e["kind"] == "read" and e["basis"] == "integration"]
    assert read["who"] == sanna
    assert {"plan", "note", "consent", "family"} <= {d["type"] for d in read["documents"]}

    delivered = [e for e in entries if e["kind"] == "delivered"]
    assert delivered and all(e["who"] == aino and e["basis"] == "own_worker" for e in delivered)

    [pushed] = [e for e in entries if e["kind"] == "changed" and e["who"] == aino
                and story["note"]["_id"] in [d["id"] for d in e["documents"]]]  # fmt: skip
    [doc] = pushed["documents"]
    assert doc == {"id": story["note"]["_id"], "type": "note", "date": "2026-11-20"}
    assert pushed["at"].startswith(today.isoformat()[:4])

    [disclosed] = [e for e in entries if e["kind"] == "disclosed"]
    assert disclosed["who"] == aino and disclosed["day"] == story["disclosed_on"]
    assert disclosed["recipient"] == story["consent"]["service_name"]
    assert disclosed["basis"] == "consent" and disclosed["consent_id"] == story["consent"]["_id"]
    assert [d["type"] for d in disclosed["documents"]] == ["plan"]
    assert entries.index(disclosed) == 0  # oldest first: ten days ago

    # Never content: no word of the note, the plan or the family in the report.
    text = json.dumps(report, ensure_ascii=False)
    assert NOTE not in text and "Morgnarna" not in text
    assert story["family"]["members"][0]["given_names"] not in text
    summary = {row["who"]["name"]: row["counts"] for row in report["summary"]}
    assert summary["Aino Ohjaaja"]["disclosed"] == 1 and summary["Sanna Esihenkilö"]["read"] >= 1

    logged = web.site.access_log.entries(case_id=cases.single, worker_id=sanna["id"])
    assert logged[-1].purpose == "client_report" and logged[-1].action == "read"


def test_the_period_filter(web, cases, story):
    http = session(web, "esihenkilo")
    day = date.fromisoformat(story["disclosed_on"])
    window = {"from": (day - timedelta(days=2)).isoformat(), "to": (day + timedelta(1)).isoformat()}
    entries = http.get(report_url(web, cases.single), params=window).json()["entries"]
    assert [e["kind"] for e in entries] == ["disclosed"]
    earlier = http.get(report_url(web, cases.single), params={"to": "2020-12-31"}).json()
    assert earlier["entries"] == [] and earlier["from"] == "2018-12-31"
    # The report produced just now is itself in the next one.
    again = http.get(report_url(web, cases.single)).json()["entries"]
    assert any(e["basis"] == "client_report" for e in again)


def test_the_member_filter(web, cases, story):
    http = session(web, "esihenkilo")
    answer = http.get(report_url(web, cases.single), params={"member": story["child"]})
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entries"]
    types = {d["type"] for e in entries for d in e["documents"]}
    assert "family" in types and "note" not in types  # the pushed note names no child
    assert story["note"]["_id"] not in {d["id"] for e in entries for d in e["documents"]}
    assert [e["recipient"] for e in entries if e["kind"] == "disclosed"] == [
        story["consent"]["service_name"]
    ]
    unknown = http.get(report_url(web, cases.single), params={"member": "a" * 32})
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_member"


@pytest.mark.parametrize(
    "params, code",
    [
        ({"from": "1.1.2026"}, "invalid_date"),
        ({"to": "2026-02-30"}, "invalid_date"),
        ({"from": "2026-06-01", "to": "2026-05-31"}, "invalid_period"),
    ],
)
def test_a_bad_period_is_400_with_its_code(web, cases, params, code):
    answer = session(web, "esihenkilo").get(report_url(web, cases.single), params=params)
    assert answer.status_code == 400 and answer.json()["error"] == code
    assert "from" in answer.json()["reason"] or "to" in answer.json()["reason"]


@pytest.mark.parametrize("who", ["admin", "olli", "kaisa"])
def test_anyone_who_may_not_read_the_family_gets_404(web, cases, who):
    if who == "olli":
        other_team_worker(web)
    answer = session(web, who).get(report_url(web, cases.single))
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    unknown = session(web, "esihenkilo").get(f"{web.url}/api/families/{'b' * 32}/access-report")
    assert unknown.status_code == 404


def test_a_view_on_the_phone_shows_the_device_time_and_the_upload_time(web, cases, tmp_path):
    aino_phone = phone(web, tmp_path, "aino")
    [plan] = CaseFiles.of(web.site).open(cases.single, "plan").documents
    seen = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    aino_phone.record_view(cases.single, [plan["_id"]], at=seen)  # offline, minutes ago
    assert aino_phone.push().errors == []
    aino_phone.close()
    entries = session(web, "aino").get(report_url(web, cases.single)).json()["entries"]
    [viewed] = [e for e in entries if e["kind"] == "viewed"]
    assert viewed["device_at"] == seen and viewed["day"] == local_day(seen)
    assert viewed["uploaded_at"] == viewed["at"] and viewed["at"] > viewed["device_at"]
    assert viewed["who"]["name"] == "Aino Ohjaaja" and viewed["basis"] == "own_worker"
    assert viewed["documents"] == [{"id": plan["_id"], "type": "plan", "date": plan["drawn_up_on"]}]
