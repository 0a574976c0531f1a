"""The statutory reports through the HTTP API, on the served demo organisation with a
second team whose cases are known: THL processing times (JSON and CSV), recording
observations, and the social report with a cell under 5 suppressed. Who sees what:
a supervisor their team, an administrator every team's counts, an instructor no
processing times; another team is 404. No report ever shows the concern zone."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import requests

from server.errors import InvalidInput
from tests.support.reports import CONCERN_WORDS, TODAY, new_case, on_report_day
from tests.support.web import session


@pytest.fixture
def web(web):
    return on_report_day(web)


EXPECTED_2026H2 = {
    "became_pending": 3,
    "started_in_time": 1,
    "started_late": 1,
    "start_overdue": 1,
    "start_not_yet_due": 0,
    "ended_unstarted": 0,
    "completed_in_time": 1,
    "completed_late": 0,
    "open_overdue": 1,
}


def test_a_supervisor_gets_the_own_teams_processing_times(web):
    http = session(web, "pia")
    answer = http.get(f"{web.url}/api/reports/processing-times", params={"period": "2026H2"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["period"], body["starts"], body["ends"]) == ("2026H2", "2026-10-01", "2027-03-31")
    assert body["as_of"] == "2027-01-15"
    [team] = body["teams"]
    assert (team["team_id"], team["name"]) == (web.north.people["team"], "Perhetyö Pohjoinen")
    assert team["counts"] == EXPECTED_2026H2 == body["total"]
    # The half-year under way is the default; the backlog case counts in 2026H1.
    assert http.get(f"{web.url}/api/reports/processing-times").json()["period"] == "2026H2"
    h1 = http.get(f"{web.url}/api/reports/processing-times?period=2026H1").json()
    assert h1["total"]["became_pending"] == 1 and h1["total"]["started_in_time"] == 1
    assert h1["total"]["open_overdue"] == 1  # due 1.9.2026, still open on 30.9.


def test_counting_is_logged_as_statistics_naming_the_documents_read(web):
    pia = web.north.people["pia"]
    closed = new_case(web, web.north.people, "Forsman", date(2026, 4, 1), date(2026, 4, 2))
    web.site.casework.close(closed, date(2026, 5, 4), "goals_met", pia, TODAY)
    session(web, "pia").get(f"{web.url}/api/reports/processing-times?period=2026H2")
    # Closed before the half-year began: it cannot count, so it is not even opened.
    assert web.site.access_log.entries(case_id=closed, worker_id=pia) == []
    h1 = session(web, "pia").get(f"{web.url}/api/reports/processing-times?period=2026H1")
    assert h1.json()["total"]["became_pending"] == 2  # the backlog case and this one
    assert len(web.site.access_log.entries(case_id=closed, worker_id=pia)) == 1
    for what, case_id in web.north.cases.items():
        entries = web.site.access_log.entries(case_id=case_id, worker_id=pia)
        assert len(entries) == 2  # once per report made
        entry = entries[-1]
        assert entry.purpose == "statistics" and entry.action == "read"
        expected = 1 if what == "no_support" or what == "not_started" else 2
        assert len(entry.doc_ids) == expected and case_id in entry.doc_ids


def test_the_csv_has_a_row_per_team(web):
    answer = session(web, "pia").get(f"{web.url}/reports/processing-times.csv?period=2026H2")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "processing-times-2026H2.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 1
    assert rows[0]["period"] == "2026H2" and rows[0]["team"] == "Perhetyö Pohjoinen"
    assert rows[0]["starts"] == "2026-10-01" and rows[0]["ends"] == "2027-03-31"
    assert {k: int(rows[0][k]) for k in EXPECTED_2026H2} == EXPECTED_2026H2


def test_who_sees_which_teams_figures(web):
    north = web.north.people["team"]
    admin = session(web, "admin").get(f"{web.url}/api/reports/processing-times").json()
    west = web.worker("esihenkilo")["team_id"]
    assert {t["team_id"] for t in admin["teams"]} >= {west, north}
    only = session(web, "admin").get(f"{web.url}/api/reports/processing-times?team={north}")
    assert [t["team_id"] for t in only.json()["teams"]] == [north]
    other = session(web, "esihenkilo").get(f"{web.url}/api/reports/processing-times?team={north}")
    assert other.status_code == 404
    assert session(web, "iida").get(f"{web.url}/api/reports/processing-times").status_code == 403
    assert requests.get(f"{web.url}/api/reports/processing-times").status_code == 401
    bad = session(web, "pia").get(f"{web.url}/api/reports/processing-times?period=2026H3")
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_half_year")


def observe(http, web, month, tags, text, **extra):
    body = {"observed_in": month, "phenomenon_tags": tags, "text": text, **extra}
    return http.post(f"{web.url}/api/observations", json=body)


def test_observations_are_recorded_for_the_own_team_and_counted_with_small_cells_suppressed(web):
    iida, pia = session(web, "iida"), session(web, "pia")
    for n in range(5):
        answer = observe(iida, web, "2026-11", ["evening-routines"], f"Illat kuormittavat {n}.")
        assert answer.status_code == 201, answer.text
    observe(pia, web, "2026-12", ["evening-routines", "housing"], "Asunnot ahtaita ja illat.")
    for n in range(3):
        observe(pia, web, "2026-12", ["housing"], f"Vuokra-asuntoja ei löydy {n}.")
    observe(iida, web, "2027-02", ["housing"], "Myöhemmin.")  # outside the span below

    query = {"from": "2026-10", "to": "2027-01"}
    body = pia.get(f"{web.url}/api/reports/observations", params=query).json()
    assert (body["from"], body["to"], body["threshold"]) == ("2026-10", "2027-01", 5)
    assert body["observations"] == 9
    rows = {row["tag"]: row for row in body["tags"]}
    assert rows["evening-routines"]["count"] == 6 and not rows["evening-routines"]["suppressed"]
    assert "Illat kuormittavat 0." in rows["evening-routines"]["excerpts"]
    assert rows["housing"] == {"tag": "housing", "count": "< 5", "suppressed": True,
                               "excerpts": []}  # fmt: skip
    assert "Vuokra-asuntoja" not in str(body)

    answer = pia.get(f"{web.url}/reports/observations.csv", params=query)
    assert answer.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.text)))
    assert lines[0] == ["team_id", "from", "to", "tag", "observations"]
    team = web.north.people["team"]
    assert lines[1:] == [
        [team, "2026-10", "2027-01", "(all)", "9"],
        [team, "2026-10", "2027-01", "evening-routines", "6"],
        [team, "2026-10", "2027-01", "housing", "< 5"],
    ]

    admin = session(web, "admin").get(
        f"{web.url}/api/reports/observations", params=query | {"team": team}
    )
    assert all(row["excerpts"] == [] for row in admin.json()["tags"])  # counts only
    assert session(web, "admin").get(f"{web.url}/api/reports/observations").status_code == 400
    other = session(web, "esihenkilo").get(
        f"{web.url}/api/reports/observations", params=query | {"team": team}
    )
    assert other.status_code == 404
    west = session(web, "esihenkilo").get(f"{web.url}/api/reports/observations", params=query)
    # The demo team's own observations are of the real clock's last months (seed-demo),
    # so they may fall in the span; none of the north team's is in its report.
    assert west.status_code == 200 and "housing" not in {t["tag"] for t in west.json()["tags"]}


def north_observations(web) -> list:
    """The north team's stored observations (the demo team has its own, seed-demo's)."""
    return web.site.directory.query(
        "SELECT * FROM observations WHERE team_id = ?", (web.north.people["team"],)
    )


def test_an_observation_has_no_room_for_a_case_and_is_checked(web):
    iida = session(web, "iida")
    smuggled = observe(iida, web, "2026-11", ["housing"], "x", case_id="a" * 32)
    assert smuggled.status_code == 400
    bad_tag = observe(iida, web, "2026-11", ["Asuminen!"], "x")
    assert bad_tag.status_code == 400
    bad_month = observe(iida, web, "2026-1", ["housing"], "x")
    assert bad_month.status_code == 400
    west = web.site.accounts.by_username("esihenkilo")["team_id"]
    assert observe(iida, web, "2026-11", ["housing"], "x", team_id=west).status_code == 403
    admin = observe(session(web, "admin"), web, "2026-11", ["housing"], "x")
    assert admin.status_code == 403
    assert north_observations(web) == []
    columns = {row["name"] for row in web.site.directory.query("PRAGMA table_info(observations)")}
    assert columns == {"id", "team_id", "observed_in", "tags", "text", "recorded_at"}


def test_a_month_not_in_the_calendar_or_no_tag_is_refused_naming_the_field(web):
    iida = session(web, "iida")
    for month in ("2026-13", "2026-00", "2026-99"):
        answer = observe(iida, web, month, ["housing"], "x")
        assert answer.status_code == 400, month
        assert [f["path"] for f in answer.json()["fields"]] == ["/observed_in"]
    untagged = observe(iida, web, "2026-11", [], "x")
    assert untagged.status_code == 400
    assert [f["path"] for f in untagged.json()["fields"]] == ["/phenomenon_tags"]
    # The form on the page goes to the same service, which checks the same.
    with pytest.raises(InvalidInput) as refused:
        web.site.observations.record(web.worker("iida"), {
            "observed_in": "2026-13", "phenomenon_tags": ["housing"], "text": "x"})  # fmt: skip
    assert refused.value.details["field"] == "observed_in"
    with pytest.raises(InvalidInput) as refused:
        web.site.observations.record(web.worker("iida"), {
            "observed_in": "2026-11", "phenomenon_tags": [], "text": "x"})  # fmt: skip
    assert refused.value.details["field"] == "phenomenon_tags"
    assert north_observations(web) == []

    bad_to = iida.get(f"{web.url}/api/reports/observations", params={"to": "2026-13"})
    assert bad_to.status_code == 400
    assert (bad_to.json()["error"], bad_to.json()["parameter"]) == ("invalid_months", "to")
    bad_from = iida.get(f"{web.url}/api/reports/observations", params={"from": "x"})
    assert bad_from.json()["parameter"] == "from"


def test_no_report_shows_the_concern_zone(web):
    pia = session(web, "pia")
    observe(pia, web, "2026-12", ["housing"], "Asunnot ahtaita.")
    texts = [
        pia.get(f"{web.url}/api/reports/processing-times").text,
        pia.get(f"{web.url}/reports/processing-times.csv").text,
        pia.get(f"{web.url}/api/reports/observations").text,
        pia.get(f"{web.url}/reports/observations.csv").text,
    ]
    for text in texts:
        assert not any(word.lower() in text.lower() for word in CONCERN_WORDS), text


def test_a_phone_sends_an_observation_with_its_device_token(web, tmp_path):
    from tests.support.team import device

    phone = device(web, tmp_path, "iida", "iida-phone")
    token = phone.state()["access_token"]
    body = {"observed_in": "2026-12", "phenomenon_tags": ["housing"], "text": "Ahtaat asunnot."}
    answer = requests.post(
        f"{web.url}/api/observations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["team_id"] == web.north.people["team"]
    [entry] = [
        e
        for e in web.site.audit.entries(action="observation.recorded")
        if e.actor == web.north.people["iida"]
    ]  # the demo's own are recorded by its workers
    assert entry.actor == web.north.people["iida"] and entry.subject == answer.json()["id"]
    bad = requests.post(
        f"{web.url}/api/observations", json=body, headers={"Authorization": "Bearer nonsense"}
    )
    assert bad.status_code == 401
    phone.close()
