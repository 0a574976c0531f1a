"""The case page in headless Chromium, on the demo organisation's full case files.

A note Aino's phone pushed seconds before is on the supervisor's page; the final note
names who finalised it and its amendment stands right after it; the plan's ratings are
a chart with a title, a description and the same numbers as a table; the concern zone
is inside the assessment and nowhere else. Who may see the page: the team's
supervisor and the assigned instructors (each read logged with its purpose); another
team's worker, an unassigned instructor and the administrator get "not found".
"""

from __future__ import annotations

import pytest
import requests

from server.casework.case_file import CaseFiles
from server.tools import fieldwork
from server.tools.demo import DEMO_PASSWORD
from tests.support.browser import axe_violations, screenshot
from tests.support.case_files import other_team_worker, phone
from tests.support.web import log_in

FRESH = (
    "Kävimme läpi viikon kuvakortit; äiti kertoi, että ilta meni ensimmäistä kertaa ilman itkua."
)
PRIVATE = "[data-private]"


def text_outside(page, selector: str) -> str:
    """The page's text with the elements `selector` names taken out."""
    return page.evaluate(
        """(selector) => {
            const copy = document.body.cloneNode(true);
            copy.querySelectorAll(selector).forEach((node) => node.remove());
            return copy.innerText;
        }""",
        selector,
    )


def test_the_supervisor_reads_a_note_pushed_seconds_before_and_the_whole_case_file(
    web, cases, page, tmp_path
):
    aino = phone(web, tmp_path, "aino")
    note = fieldwork.new_note(aino, cases.paired, FRESH, client_view="Äiti on helpottunut.")
    assert aino.push().errors == []
    aino.close()

    log_in(page, web, "esihenkilo")
    response = page.goto(f"{web.url}/cases/{cases.paired}")
    assert response.status == 200
    timeline = page.locator("#timeline")
    assert FRESH in timeline.inner_text()
    pushed = page.locator(f"#doc-{note['_id']}")
    assert "Kirjoittanut Aino Ohjaaja" in pushed.inner_text()
    assert "Luonnos" in pushed.inner_text()

    # The final note says who finalised it; its amendment is right after it, labelled.
    final = timeline.locator("li.sopu-timeline__entry", has=page.locator(".sopu-amendments"))
    assert final.count() == 1
    original = final.locator("article.sopu-note").first
    assert "Viimeistelty" in original.inner_text()
    assert "Viimeistellyt Kaisa Perheohjaaja" in original.inner_text()
    amendment = final.locator(".sopu-amendments article.sopu-note--amendment")
    assert amendment.count() == 1
    assert amendment.locator("h3").inner_text().startswith("Korjaus")
    assert "Korjaa kirjausta" in amendment.inner_text()
    assert "Päiväkoti Vaahterassa" in amendment.inner_text()

    # The visit names its interpreter and the language, in Finnish.
    assert "Layla Haddad, Tulkkikeskus, tulkki: arabia" in timeline.inner_text()
    # The client disagrees with the daycare note, in her own words.
    assert "Asiakas on eri mieltä kirjauksesta" in timeline.inner_text()

    _check_the_plan_chart(page)
    _check_the_concern_zone_is_only_in_the_assessment(page)
    assert page.locator("#workers").inner_text().count("voimassa") == 2
    assert "Sanna Esihenkilö" in page.locator("#status").inner_text()
    assert "Päiväkoti Vaahtera" in page.locator("#consents").inner_text()

    supervisor = web.worker("esihenkilo")["id"]
    [entry] = [e for e in web.site.access_log.entries(case_id=cases.paired, worker_id=supervisor)]
    assert entry.purpose == "supervision" and entry.action == "read"
    everything = CaseFiles.of(web.site).open(cases.paired).doc_ids
    assert note["_id"] in entry.doc_ids and sorted(everything) == entry.doc_ids

    assert axe_violations(page) == []
    screenshot(page, "case-fi")


def _check_the_plan_chart(page) -> None:
    """The first goal: an SVG per rater over three dates, and the table of the same."""
    goal = page.locator("#plan .sopu-goal").first
    assert "Tavoite: Illat rauhoittuvat" in goal.locator("h4").inner_text()
    chart = goal.locator("svg.sopu-chart")
    assert chart.get_attribute("role") == "img"
    assert "Illat rauhoittuvat" in chart.locator("title").text_content()
    assert "0–10" in chart.locator("desc").text_content()
    assert chart.locator("polyline").count() == 3  # parent, child, worker
    table = goal.locator("table.sopu-ratings__table")
    headers = table.locator("thead th").all_inner_texts()
    assert headers == ["Päivä", "Vanhempi", "Lapsi", "Työntekijä"]
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    assert rows == [["3", "4", "3"], ["5", "5", "4"], ["6", "7", "6"]]


def _check_the_concern_zone_is_only_in_the_assessment(page) -> None:
    private = page.locator(PRIVATE)
    assert private.count() == 1
    assert page.locator(f"#assessment {PRIVATE}").count() == 1
    assert "Huolen vyöhyke: Pieni huoli" in private.inner_text()
    elsewhere = text_outside(page, PRIVATE)
    assert "Huolen vyöhyke" not in elsewhere and "Pieni huoli" not in elsewhere
    assert page.content().count("Pieni huoli") == 1  # not in an attribute, title or table


def test_the_page_in_swedish_and_english_with_its_deadlines(web, cases, page):
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/cases/{cases.single}")
    page.click("button[lang=sv]")
    assert page.get_attribute("html", "lang") == "sv"
    assessment = page.locator("#assessment").inner_text()
    assert "Lagstadgade tidsfrister" in assessment  # a child who may need special support
    assert "Ska inledas senast" in assessment and "Ska vara klar senast" in assessment
    assert "Oroszon: Liten oro" in page.locator(PRIVATE).inner_text()
    assert "Oroszon" not in text_outside(page, PRIVATE)
    assert "Sahra Warsame, Tolkcentralen, tolk: somaliska" in page.inner_text("#timeline")
    assert axe_violations(page) == []
    screenshot(page, "case-sv")

    page.click("button[lang=en]")
    assert page.get_attribute("html", "lang") == "en"
    assert "Statutory deadlines" in page.inner_text("#assessment")
    assert page.locator("#plan svg.sopu-chart").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "case-en")


def test_a_collision_is_counted_with_the_way_to_reconcile_and_the_changes_name_the_deleter(
    web, cases, page, tmp_path
):
    """Kaisa deletes a draft while Aino, offline, edits it: the merge keeps the note
    with an item; the page counts it, links to /reconciliation and lists the changes."""
    kaisa, aino = phone(web, tmp_path, "kaisa"), phone(web, tmp_path, "aino")
    note = fieldwork.new_note(kaisa, cases.paired, "Soitin päiväkotiin.")
    kaisa.push()
    aino.pull()
    fieldwork.delete(kaisa, note["_id"])
    fieldwork.edit(aino, note["_id"], [("set", "/discussion", "Soitin päiväkotiin uudelleen.")])
    assert kaisa.push().errors == [] and aino.push().errors == []
    kaisa.close()
    aino.close()

    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/cases/{cases.paired}")
    notice = page.locator("section.hds-notification", has_text="täsmennettävä")
    assert "Asiakkuudessa on 1 täsmennettävä kohta." in notice.inner_text()
    assert notice.locator("a").get_attribute("href") == "/reconciliation"
    kept = page.locator(f"#doc-{note['_id']}")
    assert "Soitin päiväkotiin uudelleen." in kept.inner_text()
    assert "1 täsmennettävä kohta" in kept.locator(".hds-status-label--alert").inner_text()
    kept.locator("details.sopu-history summary").click()
    changes = kept.locator("details.sopu-history li").all_inner_texts()
    assert changes[0].startswith("Kaisa Perheohjaaja")
    assert any(c.startswith("poistanut Kaisa Perheohjaaja") for c in changes)
    assert "samanaikainen versio, otettu mukaan yhdistämiseen" in changes
    assert axe_violations(page) == []


def test_an_assigned_instructor_reads_it_for_case_work(web, cases):
    http = requests.Session()
    login = http.post(f"{web.url}/api/login", json={"username": "aino", "password": DEMO_PASSWORD})
    assert login.status_code == 200
    page = http.get(f"{web.url}/cases/{cases.single}")
    assert page.status_code == 200 and "Morgnarna går lugnt" in page.text
    [entry] = web.site.access_log.entries(case_id=cases.single, worker_id=login.json()["id"])
    assert entry.purpose == "case_work"


@pytest.mark.parametrize("who", ["other team", "unassigned instructor", "admin"])
def test_anyone_else_finds_no_such_case(web, cases, page, who):
    username = {"other team": "olli", "unassigned instructor": "kaisa", "admin": "admin"}[who]
    if who == "other team":
        other_team_worker(web, username)
    log_in(page, web, username)
    response = page.goto(f"{web.url}/cases/{cases.single}")
    assert response.status == 404
    assert page.inner_text("h1") == "Ei löydy"
    assert "Morgnarna" not in page.content() and page.locator(PRIVATE).count() == 0
    worker = web.worker(username)["id"]
    assert web.site.access_log.entries(case_id=cases.single, worker_id=worker) == []


def test_an_unknown_case_is_not_found_either(web, page):
    log_in(page, web, "esihenkilo")
    assert page.goto(f"{web.url}/cases/{'0' * 32}").status == 404
    assert page.goto(f"{web.url}/cases/not-an-id").status == 404
