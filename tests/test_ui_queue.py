"""The queue (/queue) in headless Chromium: pending and assessment cases oldest first
with their statutory deadlines counted in working days across Christmas, overdue and
due-this-week marks, the filters, a supervisor assigning an own worker, what an
instructor sees, and the access log entry for every case shown."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from tests.support.browser import axe_violations, screenshot
from tests.support.web import demo_web, log_in

TODAY = date(2026, 12, 21)  # a Monday; Christmas Eve and Christmas Day fall on Thu and Fri


def family(name: str) -> dict:
    return {
        "display_name": name,
        "members": [
            {"role": "guardian", "given_names": "Maija", "family_name": name},
            {"role": "child", "given_names": "Onni", "family_name": name},
        ],
    }


def first_case(pending_since: date, special_support: bool) -> dict:
    day = pending_since.isoformat()
    return {
        "service_task": "family_social_guidance",
        "pending_since": day,
        "special_support_need": special_support,
        "referral": {"source": "daycare", "received_on": day},
    }


def open_case(web, name, pending_since, special_support=True, own=None, team=None):
    """A family with its first case, made by the demo supervisor through the services."""
    supervisor = web.worker("esihenkilo")
    _family, case_id = web.site.families.create(
        team or supervisor["team_id"],
        family(name),
        first_case(pending_since, special_support),
        supervisor["id"],
        TODAY,
    )
    if own:
        worker = web.worker(own)["id"]
        web.site.casework.assign(case_id, worker, "own_worker", supervisor["id"], today=TODAY)
    return case_id


@pytest.fixture
def web(tmp_path):
    with demo_web(tmp_path) as served:
        served.app.config["SOPU_TODAY"] = lambda: TODAY
        served.cases = {
            # 7th working day after Thu 17.12.: Fri, Mon, Tue, Wed, (Christmas Eve and
            # Day, the weekend), Mon, Tue, Wed 30.12. — not Mon 28.12.
            "holiday": open_case(served, "Tähtinen", date(2026, 12, 17)),
            "overdue": open_case(served, "Routa", date(2026, 12, 1), own="kaisa"),
            "soon": open_case(served, "Kinnunen", date(2026, 12, 11), own="aino"),
            "no_support": open_case(served, "Lehto", date(2026, 11, 20), False, own="bertil"),
        }
        served.site.casework.change_status(
            served.cases["no_support"],
            "assessment",
            date(2026, 11, 27),
            served.worker("esihenkilo")["id"],
            TODAY,
        )
        yield served


def row(page, case_id: str):
    return page.locator(f"tr[data-case='{case_id}']")


def cell(page, case_id: str, name: str) -> str:
    return row(page, case_id).locator(f".sopu-queue__{name}").inner_text().strip()


def shown_cases(page) -> list[str]:
    return page.eval_on_selector_all("tr[data-case]", "rows => rows.map(r => r.dataset.case)")


def test_the_deadline_is_counted_across_christmas_and_marked(web, page):
    log_in(page, web, "esihenkilo")
    page.click("nav >> text=Jono")
    assert page.url == f"{web.url}/queue" and page.inner_text("h1") == "Jono"
    holiday, overdue, soon = (web.cases[k] for k in ("holiday", "overdue", "soon"))
    assert cell(page, holiday, "pending") == "17.12.2026"
    assert cell(page, holiday, "start") == "30.12.2026"
    assert cell(page, holiday, "complete") == "17.3.2027"
    assert cell(page, holiday, "left") == "5"
    assert cell(page, holiday, "status") == "Vireillä"
    assert "Tähtinen" in row(page, holiday).inner_text()

    assert cell(page, overdue, "start") == "10.12.2026"
    assert cell(page, overdue, "left") == "−7 Myöhässä"
    assert "sopu-queue__row--overdue" in row(page, overdue).get_attribute("class")
    assert cell(page, soon, "start") == "22.12.2026"
    assert cell(page, soon, "left") == "1 Erääntyy tällä viikolla"
    assert "sopu-queue__row--soon" in row(page, soon).get_attribute("class")
    assert "Myöhässä" not in cell(page, holiday, "left")

    no_support = web.cases["no_support"]
    assert cell(page, no_support, "status") == "Palvelutarpeen arviointi"
    assert cell(page, no_support, "start") == "—\naloitettu 27.11.2026"
    assert (cell(page, no_support, "complete"), cell(page, no_support, "left")) == ("—", "—")
    assert row(page, no_support).locator("a").get_attribute("href") == f"/cases/{no_support}"

    mine = [case for case in shown_cases(page) if case in web.cases.values()]
    assert mine == [no_support, overdue, soon, holiday]  # 20.11., 1.12., 11.12., 17.12.
    assert axe_violations(page) == []
    screenshot(page, "queue-fi")


def test_every_case_shown_is_in_the_access_log_with_its_purpose(web, page):
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/queue")
    supervisor = web.worker("esihenkilo")["id"]
    shown = shown_cases(page)
    waiting = web.site.cases.find("pending") + web.site.cases.find("assessment")
    assert sorted(shown) == sorted(case["id"] for case in waiting)  # the demo's four and ours
    for case_id in shown:
        [entry] = web.site.access_log.entries(case_id, supervisor)
        family_doc = web.site.cases.get(case_id)["family_doc_id"]
        assert (entry.purpose, entry.doc_ids) == ("supervision", sorted([case_id, family_doc]))
    active = [c["id"] for c in web.site.cases.find("active")]
    assert not any(web.site.access_log.entries(case_id, supervisor) for case_id in active)


def test_the_filters_narrow_the_queue_without_opening_the_rest(web, page):
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/queue")
    kaisa = web.worker("kaisa")["id"]
    page.select_option("#filter-worker", kaisa)
    page.click("button >> text=Rajaa")
    assert page.url == f"{web.url}/queue?worker={kaisa}&status="
    assert shown_cases(page) == [web.cases["overdue"]]
    assert page.input_value("#filter-worker") == kaisa

    page.select_option("#filter-worker", "none")
    page.select_option("#filter-status", "pending")
    page.click("button >> text=Rajaa")
    assert web.cases["holiday"] in shown_cases(page)
    assert not {web.cases["soon"], web.cases["overdue"]} & set(shown_cases(page))

    before = len(web.site.access_log.entries(web.cases["no_support"]))
    page.select_option("#filter-worker", "")
    page.select_option("#filter-status", "assessment")
    page.click("button >> text=Rajaa")
    assert web.cases["no_support"] in shown_cases(page)
    assert web.cases["holiday"] not in shown_cases(page)
    assert len(web.site.access_log.entries(web.cases["no_support"])) == before + 1
    page.goto(f"{web.url}/queue?worker={kaisa}")
    assert len(web.site.access_log.entries(web.cases["no_support"])) == before + 1
    page.click("text=Näytä kaikki")
    assert len(shown_cases(page)) == 8


def test_a_supervisor_assigns_an_own_worker_from_the_queue(web, page):
    holiday = web.cases["holiday"]
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/queue?status=pending")
    assert row(page, web.cases["overdue"]).locator("form").count() == 0  # Kaisa's
    aino = web.worker("aino")
    row(page, holiday).locator("select").select_option(aino["id"])
    row(page, holiday).locator("button >> text=Nimeä").click()
    assert page.url.startswith(f"{web.url}/queue?status=pending&assigned=")
    notice = page.inner_text(".hds-notification--success")
    assert notice == "Aino Ohjaaja on nyt asiakkuuden omatyöntekijä."
    assert cell(page, holiday, "worker") == "Aino Ohjaaja"
    assert row(page, holiday).locator("form").count() == 0

    [own] = web.site.cases.current_assignments(holiday, TODAY)
    assert (own["worker_id"], own["role"], own["start_date"]) == (
        aino["id"],
        "own_worker",
        str(TODAY),
    )
    [audited] = web.site.audit.entries("assignment.created", holiday)
    assert (audited.actor, audited.details["worker_id"]) == (
        web.worker("esihenkilo")["id"],
        aino["id"],
    )
    [mirrored] = web.site.records.read(holiday, holiday)["assignments"]  # what devices see
    assert mirrored["worker_id"] == aino["id"]


def test_an_assignment_the_service_refuses_is_explained(web, page):
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/queue")
    holiday = web.cases["holiday"]
    supervisor = web.worker("esihenkilo")["id"]
    bertil = web.worker("bertil")["id"]
    web.site.casework.assign(holiday, bertil, "own_worker", supervisor, today=TODAY)  # meanwhile
    row(page, holiday).locator("select").select_option(web.worker("kaisa")["id"])
    row(page, holiday).locator("button >> text=Nimeä").click()
    assert page.url == f"{web.url}/queue?refused=has_own_worker"
    assert page.inner_text("[role=alert]") == "Asiakkuudella on jo omatyöntekijä."
    assert cell(page, holiday, "worker") == "Bertil Handledare"


def test_an_instructor_sees_only_their_own_cases_and_no_assign_form(web, page):
    log_in(page, web, "kaisa")
    page.goto(f"{web.url}/queue")
    assert shown_cases(page) == [web.cases["overdue"]]
    assert page.locator("form.sopu-queue__assign").count() == 0
    [entry] = web.site.access_log.entries(web.cases["overdue"], web.worker("kaisa")["id"])
    assert entry.purpose == "case_work"
    assert web.site.access_log.entries(web.cases["holiday"]) == []

    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    token = page.get_attribute("input[name=csrf_token]", "value")
    form = {"csrf_token": token, "worker_id": web.worker("kaisa")["id"]}
    for case_id in (web.cases["holiday"], "0" * 32):  # the team's but not hers; none at all
        answer = requests.post(f"{web.url}/queue/{case_id}/own-worker", data=form, cookies=cookies)
        assert answer.status_code == 404 and "Sivua ei ole." in answer.text
    assert web.site.cases.current_assignments(web.cases["holiday"], TODAY) == []


def test_a_case_of_another_team_is_not_listed_and_cannot_be_assigned(web, page):
    other = web.site.accounts.create_team("Perhetyö Pohjoinen", "test")
    elsewhere = open_case(web, "Pohjola", date(2026, 12, 15), team=other)
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/queue")
    assert elsewhere not in shown_cases(page) and "Pohjola" not in page.inner_text("main")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    token = page.get_attribute("input[name=csrf_token]", "value")
    form = {"csrf_token": token, "worker_id": web.worker("aino")["id"]}
    answer = requests.post(f"{web.url}/queue/{elsewhere}/own-worker", data=form, cookies=cookies)
    assert answer.status_code == 404
    assert web.site.cases.current_assignments(elsewhere, TODAY) == []
    holiday = f"{web.url}/queue/{web.cases['holiday']}/own-worker"
    admin = form | {"worker_id": web.worker("admin")["id"], "status": "pending"}
    refused = requests.post(holiday, data=admin, cookies=cookies)
    assert refused.url == f"{web.url}/queue?status=pending&refused=not_instructor"
    assert "Valitse tiimin ohjaaja." in refused.text
    del form["csrf_token"]
    assert requests.post(holiday, data=form, cookies=cookies).status_code == 403
    assert web.site.cases.current_assignments(web.cases["holiday"], TODAY) == []


def test_the_queue_in_swedish_and_english_and_not_for_administrators(web, page):
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/queue")
    page.click("button[lang=sv]")
    assert page.url == f"{web.url}/queue" and page.inner_text("h1") == "Kö"
    assert cell(page, web.cases["overdue"], "left") == "−7 Försenad"
    assert axe_violations(page) == []
    screenshot(page, "queue-sv")
    page.click("button[lang=en]")
    assert cell(page, web.cases["soon"], "left") == "1 Due this week"
    assert "Working days left" in page.inner_text("thead")
    assert axe_violations(page) == []
    screenshot(page, "queue-en")

    page.context.clear_cookies()
    log_in(page, web, "admin")
    answer = page.goto(f"{web.url}/queue")
    assert answer.status == 403 and "Tähtinen" not in page.inner_text("main")
