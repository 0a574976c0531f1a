"""`GET /api/cases/<id>/documents[/<doc id>]`: the decrypted documents of a case for
integrations, on the served demo organisation with real reference devices.

The list holds every live document (or one type), the read is access-logged with the
purpose `integration`; one document comes with its amendments and its history — who
wrote each revision and when, including a deletion that met an edit on another phone
and the merge that kept the document. A bad type is 400 `unknown_doc_type`; another
team's or an unassigned person's case, and every case for the administrator, is 404.
"""

from __future__ import annotations

import jsonschema
import pytest
import requests

from server.tools import fieldwork
from tests.support.case_files import other_team_worker, phone
from tests.support.web import session

pytestmark = pytest.mark.both_directories


def documents_url(web, case_id: str, doc_id: str = "") -> str:
    return f"{web.url}/api/cases/{case_id}/documents" + (f"/{doc_id}" if doc_id else "")


def test_the_list_holds_every_live_document_decrypted_and_is_access_logged(web, cases):
    http = session(web, "esihenkilo")
    answer = http.get(documents_url(web, cases.paired))
    assert answer.status_code == 200
    docs = answer.json()
    kinds = [doc["type"] for doc in docs]
    assert set(kinds) == {"case", "family", "assessment", "plan", "visit", "note", "consent"}
    assert kinds == sorted(kinds, key=["case", "family", "assessment", "plan", "visit", "note",
                                       "consent"].index)  # fmt: skip
    assert all(doc["_rev"] and doc.get("case_id", cases.paired) == cases.paired for doc in docs)
    [assessment] = [doc for doc in docs if doc["type"] == "assessment"]
    assert assessment["concern_zone"] == "small"  # the record as written, x-private
    supervisor = web.worker("esihenkilo")["id"]
    [entry] = web.site.access_log.entries(case_id=cases.paired, worker_id=supervisor)
    assert entry.purpose == "integration" and entry.doc_ids == sorted(d["_id"] for d in docs)


def test_the_type_filter_and_a_note_pushed_by_a_phone(web, cases, tmp_path):
    aino = phone(web, tmp_path, "aino")
    note = fieldwork.new_note(aino, cases.single, "Vi gick igenom morgonschemat tillsammans.")
    assert aino.push().errors == []
    aino.close()
    http = session(web, "aino")
    notes = http.get(documents_url(web, cases.single), params={"type": "note"}).json()
    assert {doc["type"] for doc in notes} == {"note"}
    assert note["_id"] in [doc["_id"] for doc in notes]
    [pushed] = [doc for doc in notes if doc["_id"] == note["_id"]]
    assert pushed["discussion"] == "Vi gick igenom morgonschemat tillsammans."
    [plan] = http.get(documents_url(web, cases.single), params={"type": "plan"}).json()
    assert [g["title"] for g in plan["goals"]] == ["Morgnarna går lugnt"]
    entries = web.site.access_log.entries(case_id=cases.single, worker_id=web.worker("aino")["id"])
    reads = [e.doc_ids for e in entries if e.purpose == "integration"]  # not the phone's sync
    assert reads == [sorted(d["_id"] for d in notes), [plan["_id"]]]


def test_a_bad_type_is_400_with_its_code(web, cases):
    answer = session(web, "esihenkilo").get(
        documents_url(web, cases.paired), params={"type": "observation"}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "unknown_doc_type" and "type must be one of" in body["reason"]
    assert web.site.access_log.entries(case_id=cases.paired) == []


def test_a_final_note_comes_with_its_amendment_and_the_plan_with_its_revisions(web, cases):
    http = session(web, "esihenkilo")
    notes = http.get(documents_url(web, cases.paired), params={"type": "note"}).json()
    [final] = [n for n in notes if n["state"] == "final" and n["kind"] == "entry"]
    answer = http.get(documents_url(web, cases.paired, final["_id"])).json()
    assert answer["document"] == final
    [amendment] = answer["amendments"]
    assert amendment["amends"] == final["_id"] and amendment["kind"] == "amendment"
    [plan] = http.get(documents_url(web, cases.paired), params={"type": "plan"}).json()
    history = http.get(documents_url(web, cases.paired, plan["_id"])).json()["history"]
    kaisa, aino = web.worker("kaisa")["id"], web.worker("aino")["id"]
    assert [(h["rev"][:2], h["updated_by"], h["deleted"]) for h in history] == [
        ("1-", kaisa, False), ("2-", kaisa, False), ("3-", aino, False),
    ]  # fmt: skip
    assert history[-1]["rev"] == plan["_rev"]
    assert [h["updated_at"] for h in history] == sorted(h["updated_at"] for h in history)


def test_the_history_names_who_deleted_what_another_phone_edited(web, cases, tmp_path):
    """Kaisa deletes a draft while Aino, offline, edits it: the merge keeps the note,
    and its history shows both revisions, the deletion by Kaisa, and the merge."""
    kaisa, aino = phone(web, tmp_path, "kaisa"), phone(web, tmp_path, "aino")
    note = fieldwork.new_note(kaisa, cases.paired, "Soitin päiväkotiin.", at="2026-11-20T08:00:00Z")
    kaisa.push()
    aino.pull()
    fieldwork.delete(kaisa, note["_id"])
    edit = [("set", "/discussion", "Soitin päiväkotiin ja sovimme palaverin.")]
    fieldwork.edit(aino, note["_id"], edit, at="2026-11-20T09:00:00Z")
    assert kaisa.push().errors == [] and aino.push().errors == []
    kaisa.close()
    aino.close()

    http = session(web, "esihenkilo")
    answer = http.get(documents_url(web, cases.paired, note["_id"]))
    assert answer.status_code == 200
    assert answer.json()["document"]["discussion"].startswith("Soitin päiväkotiin ja sovimme")
    history = answer.json()["history"]
    ids = {name: web.worker(name)["id"] for name in ("kaisa", "aino")}
    deleted = [h for h in history if h["deleted"] and not h["merged_into"]]
    assert [h["updated_by"] for h in deleted] == [ids["kaisa"]]
    assert ("2026-11-20T09:00:00Z", ids["aino"]) in [
        (h["updated_at"], h["updated_by"]) for h in history
    ]
    merged = [h["merged_into"] for h in history if h["merged_into"]]  # the merge that kept it
    assert merged == [answer.json()["document"]["_rev"]]


@pytest.mark.parametrize("who", ["admin", "other team", "unassigned instructor"])
def test_anyone_else_gets_404_for_the_list_and_the_document(web, cases, who):
    username = {"admin": "admin", "other team": "olli", "unassigned instructor": "kaisa"}[who]
    if who == "other team":
        other_team_worker(web, username)
    http = session(web, username)
    [plan] = (
        session(web, "aino").get(documents_url(web, cases.single), params={"type": "plan"}).json()
    )
    for url in (documents_url(web, cases.single), documents_url(web, cases.single, plan["_id"])):
        answer = http.get(url)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
        assert "Morgnarna" not in answer.text
    worker = web.worker(username)["id"]
    assert web.site.access_log.entries(case_id=cases.single, worker_id=worker) == []


def test_unknown_cases_and_documents_and_no_session(web, cases):
    http = session(web, "esihenkilo")
    assert http.get(documents_url(web, "0" * 32)).status_code == 404
    assert http.get(documents_url(web, cases.paired, "0" * 32)).status_code == 404
    assert requests.get(documents_url(web, cases.paired)).status_code == 401


def test_the_answers_keep_to_the_openapi_document(web, cases):
    """Schemathesis only meets 404s here (it cannot guess a case id): check the 200s."""
    spec = requests.get(f"{web.url}/api/openapi.json").json()
    paths = spec["paths"]
    http = session(web, "esihenkilo")
    listed = http.get(documents_url(web, cases.paired))
    one = http.get(documents_url(web, cases.paired, listed.json()[0]["_id"]))
    for path, answer in (
        ("/api/cases/{case_id}/documents", listed),
        ("/api/cases/{case_id}/documents/{doc_id}", one),
    ):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(answer.json(), {**schema, "components": spec["components"]})
