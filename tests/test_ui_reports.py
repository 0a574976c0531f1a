"""The statutory reports and the client's copy in headless Chromium, on the demo
organisation with a second team whose figures are known (tests/support/reports.py).

THL processing times: the tables and the server-drawn chart with the same numbers;
social reporting: observations recorded through the form, a tag seen fewer than five
times shown as "< 5" with none of its text; the client's copy of the assessment
summary in Finnish and Swedish (the family's language by default), without the concern
zone, recorded as a disclosure to the client. Every page passes axe and is saved as a
screenshot per language; no page ever shows the concern zone."""

from __future__ import annotations

import pytest

from tests.support.browser import axe_violations, screenshot
from tests.support.reports import CONCERN_WORDS, on_report_day
from tests.support.web import log_in


@pytest.fixture
def web(web):
    return on_report_day(web)


def counts(page, table: str) -> dict[str, str]:
    row = page.locator(f"#table-{table} tbody tr").first
    cells = row.locator("td[data-count]")
    return {
        cells.nth(n).get_attribute("data-count"): cells.nth(n).inner_text()
        for n in range(cells.count())
    }


def no_concern_zone(page) -> None:
    text = page.content().lower()
    assert not any(word.lower() in text for word in CONCERN_WORDS)


def test_the_processing_times_in_three_languages_with_a_chart(web, page):
    log_in(page, web, "pia")
    page.click("nav >> text=Raportit")
    page.click("text=Palvelutarpeen arviointien käsittelyajat (THL)")
    assert page.url.endswith("/reports/processing-times")
    assert page.inner_text("h1") == "Palvelutarpeen arviointien käsittelyajat"
    assert "1.10.2026–31.3.2027" in page.inner_text("main")
    assert counts(page, "start") == {
        "became_pending": "3",
        "started_in_time": "1",
        "started_late": "1",
        "start_overdue": "1",
        "start_not_yet_due": "0",
        "ended_unstarted": "0",
    }
    assert counts(page, "complete") == {
        "completed_in_time": "1",
        "completed_late": "0",
        "open_overdue": "1",
    }
    chart = page.locator("svg.sopu-chart")
    assert chart.get_attribute("role") == "img"
    titles = chart.locator("rect title").all_text_contents()
    assert titles == [
        "Perhetyö Pohjoinen, Aloitus, Ajallaan: 1",
        "Perhetyö Pohjoinen, Aloitus, Myöhässä: 1",
        "Perhetyö Pohjoinen, Aloitus, Kesken, myöhässä: 1",
        "Perhetyö Pohjoinen, Valmistuminen, Ajallaan: 1",
        "Perhetyö Pohjoinen, Valmistuminen, Kesken, myöhässä: 1",
    ]
    no_concern_zone(page)
    assert axe_violations(page) == []
    screenshot(page, "reports-processing-times-fi")

    page.select_option("#period", "2026H1")
    page.click("button >> text=Näytä")
    assert "1.4.2026–30.9.2026" in page.inner_text("main")
    assert counts(page, "start")["became_pending"] == "1"

    page.click("button[lang=sv]")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1") == "Handläggningstider för bedömningar av servicebehov"
    assert axe_violations(page) == []
    screenshot(page, "reports-processing-times-sv")
    page.click("button[lang=en]")
    assert "Started within 7 working days" in page.inner_text("#table-start")
    assert axe_violations(page) == []
    screenshot(page, "reports-processing-times-en")


def test_an_instructor_has_no_processing_times_and_an_admin_sees_every_team(web, page):
    log_in(page, web, "iida")
    page.goto(f"{web.url}/reports")
    assert page.locator("text=käsittelyajat").count() == 0
    assert page.goto(f"{web.url}/reports/processing-times").status == 403
    page.context.clear_cookies()
    log_in(page, web, "admin")
    page.goto(f"{web.url}/reports/processing-times")
    teams = page.locator("#table-start tbody th").all_inner_texts()
    assert "Perhetyö Pohjoinen" in teams and len(teams) >= 2
    assert page.locator("#table-start tfoot").count() == 1  # all teams together
    assert axe_violations(page) == []


def test_a_report_asked_for_with_a_bad_period_or_month_says_which_field(web, page):
    log_in(page, web, "pia")
    page.goto(f"{web.url}/reports/processing-times?period=2026H3")
    assert "1.10.2026–31.3.2027" in page.inner_text("main")  # the half-year under way
    assert "”Puolivuotisjakso” ei ole puolivuotisjakso" in page.inner_text("[role=alert]")
    page.goto(f"{web.url}/reports/observations?from=2026-10&to=2026-13")
    assert "”Loppukuukausi” ei ole kuukausi" in page.inner_text("[role=alert]")
    page.goto(f"{web.url}/reports/observations?from=2026-10&to=2027-01")
    assert page.locator("[role=alert]").count() == 0
    assert axe_violations(page) == []


def record(page, month: str, tags: str, text: str) -> None:
    page.fill("#observed_in", month)
    page.fill("#tags", tags)
    page.fill("#text", text)
    page.click("button >> text=Kirjaa")
    page.wait_for_load_state()


def test_observations_recorded_on_the_form_with_a_small_cell_suppressed(web, page):
    log_in(page, web, "iida")
    page.goto(f"{web.url}/reports/observations")
    for n in range(5):
        record(page, "2026-11", "evening-routines", f"Iltavuorot kuormittavat perheitä ({n}).")
        assert "Havainto tallennettiin." in page.inner_text("[role=status]")
    record(page, "2026-12", "Housing, evening-routines", "Asunnot ovat ahtaita.")
    record(page, "2026-12", "housing", "Vuokra-asuntoja ei löydy lapsiperheille.")
    page.fill("#from", "2026-10")
    page.fill("#to", "2027-01")
    page.click("form[method=get] button")
    assert page.inner_text("#total") == "Havaintoja: 7"
    evenings = page.locator("tr[data-tag=evening-routines] td").inner_text()
    housing = page.locator("tr[data-tag=housing] td").inner_text()
    assert (evenings, housing) == ("6", "< 5")
    excerpts = page.inner_text("[data-excerpts=evening-routines]")
    assert "Iltavuorot kuormittavat perheitä (0)." in excerpts
    assert "Asunnot ovat ahtaita." in excerpts
    assert page.locator("[data-excerpts=housing]").count() == 0
    assert "Vuokra-asuntoja" not in page.content()  # a suppressed cell's text, nowhere
    no_concern_zone(page)
    assert axe_violations(page) == []
    screenshot(page, "reports-observations-fi")

    record(page, "2026-12", "Ei kelpaa!", "x")  # not a tag: the form says so, keeps the text
    assert "Tarkista kuukausi, tunnisteet ja teksti." in page.inner_text("[role=alert]")
    assert page.input_value("#text") == "x"

    page.goto(f"{web.url}/reports/observations?from=2026-10&to=2027-01")
    page.click("button[lang=sv]")
    assert page.locator("tr[data-tag=housing] td").inner_text() == "< 5"
    assert "Observationer: 7" in page.inner_text("#total")
    assert axe_violations(page) == []
    screenshot(page, "reports-observations-sv")
    page.click("button[lang=en]")
    assert "Record an observation" in page.inner_text("main")
    assert axe_violations(page) == []
    screenshot(page, "reports-observations-en")


def test_the_clients_copy_in_finnish_and_swedish_is_a_disclosure_without_the_concern_zone(
    web, page
):
    case_id = web.north.cases["in_time"]  # a Finnish-speaking guardian
    log_in(page, web, "pia")
    page.goto(f"{web.url}/cases/{case_id}")
    page.click("#assessment a[hreflang=fi]")
    assert page.get_attribute("html", "lang") == "fi"
    assert page.inner_text("h1") == "Palvelutarpeen arvioinnin yhteenveto"
    copy = page.inner_text("article")
    assert "Aalto" in copy and "Arviointi aloitettiin 5.10.2026." in copy
    assert "Se valmistui 30.11.2026." in copy
    assert "Äiti toivoo apua iltoihin." in copy and "Perhe hyötyy perheohjauksesta." in copy
    assert "Kiireellinen tarve" in copy and "Omatyöntekijä tarvitaan" in copy
    assert "Pia Pohjola" in copy and "15.1.2027" in copy
    no_concern_zone(page)
    assert axe_violations(page) == []
    screenshot(page, "client-copy-fi")
    page.emulate_media(media="print")  # on paper: the document only, not the links
    assert not page.locator(".sopu-copy__toolbar").is_visible()
    assert page.locator("article h1").is_visible()
    page.emulate_media(media="screen")

    [disclosure] = web.site.disclosures.of_case(case_id)
    assert disclosure["basis"] == "client" and disclosure["worker_id"] == web.north.people["pia"]
    assert disclosure["disclosed_on"] == "2027-01-15"
    [assessment] = disclosure["doc_ids"]
    assert len(disclosure["member_ids"]) == 2

    page.click("a[hreflang=sv]")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1") == "Sammanfattning av bedömningen av servicebehovet"
    assert "Bedömningen inleddes 5.10.2026." in page.inner_text("article")
    no_concern_zone(page)
    assert axe_violations(page) == []
    screenshot(page, "client-copy-sv")
    assert len(web.site.disclosures.of_case(case_id)) == 2  # each copy opened is recorded
    assert assessment in web.site.disclosures.of_case(case_id)[1]["doc_ids"]


def test_the_copy_speaks_the_familys_language_and_only_to_those_who_may_read_the_case(web, page):
    swedish = web.north.cases["late_start"]  # Berg: a Swedish-speaking guardian
    log_in(page, web, "pia")
    page.goto(f"{web.url}/cases/{swedish}/assessment/client-copy")
    assert page.get_attribute("html", "lang") == "sv"
    no_concern_zone(page)
    # Without an assessment there is nothing to copy, and nothing is recorded.
    not_started = web.north.cases["not_started"]
    assert page.goto(f"{web.url}/cases/{not_started}/assessment/client-copy").status == 404
    assert web.site.disclosures.of_case(not_started) == []
    page.context.clear_cookies()
    log_in(page, web, "esihenkilo")  # another team's supervisor
    assert page.goto(f"{web.url}/cases/{swedish}/assessment/client-copy").status == 404
    page.context.clear_cookies()
    log_in(page, web, "admin")
    assert page.goto(f"{web.url}/cases/{swedish}/assessment/client-copy").status == 404
    assert len(web.site.disclosures.of_case(swedish)) == 1
