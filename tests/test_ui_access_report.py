"""Consents, disclosures and the client's access report in headless Chromium, on the
demo organisation's full case files.

Aino records a consent on the case page, withdraws it, and is told in words why a
disclosure on it is refused; a disclosure on the family's own consent is recorded
and listed. The supervisor then prints the family's access report: in Finnish, then
in Swedish through the switch, it names Aino's phone sync, the disclosure with its
recipient, the documents by type and date only, and leaves the site's controls out of
the print. Each page passes axe and is saved as a screenshot per language.
"""

from __future__ import annotations

from server.casework.case_file import CaseFiles
from tests.support.browser import axe_violations, screenshot
from tests.support.case_files import phone
from tests.support.web import log_in

CLINIC = "Neuvola Vaahtera"


def test_consents_and_a_disclosure_on_the_case_page(web, cases, page):
    log_in(page, web, "kaisa")
    page.goto(f"{web.url}/cases/{cases.paired}#consents")
    page.click("#consents .sopu-legal-form > summary")
    page.fill("#consent-service", CLINIC)
    page.select_option("#consent-kind", "child_health_clinic")
    page.fill("#consent-scope", "Lapsen terveys ja kasvu")
    page.click("#give-consent button[type=submit]")
    assert "Suostumus kirjattiin." in page.locator("#legal-notice").inner_text()
    row = page.locator("#consents tr", has_text=CLINIC)
    assert "Voimassa" in row.inner_text() and "kirjannut Kaisa Perheohjaaja" in row.inner_text()

    row.locator("button", has_text="Peru").click()
    assert "peruminen kirjattiin" in page.locator("#legal-notice").inner_text()
    row = page.locator("#consents tr", has_text=CLINIC)
    assert "Peruttu" in row.inner_text() or "Peruttu" in row.inner_text().title()
    assert row.locator("button", has_text="Peru").count() == 0  # withdrawn stays withdrawn

    # A disclosure on the withdrawn consent is refused, and says why.
    _disclose(page, CLINIC, consent_text=CLINIC)
    notice = page.locator("#legal-notice")
    assert notice.get_attribute("role") == "alert"
    assert "Suostumus oli peruttu" in notice.inner_text()
    assert web.site.disclosures.of_case(cases.paired) == []

    # On the family's own consent to the daycare it is recorded and listed.
    _disclose(page, "Päiväkoti Vaahtera", consent_text="Päiväkoti Vaahtera")
    assert "kirjattiin luovutuslokiin" in page.locator("#legal-notice").inner_text()
    listed = page.locator("#disclosures table").inner_text()
    assert "Päiväkoti Vaahtera" in listed and "Asiakkaan suostumuksella" in listed
    assert "Asiakassuunnitelma" in listed
    [row] = web.site.disclosures.of_case(cases.paired)
    assert row["basis"] == "consent" and row["worker_id"] == web.worker("kaisa")["id"]

    assert axe_violations(page) == []
    screenshot(page, "case-consents-fi")


def test_a_consent_ending_before_it_begins_is_refused_naming_the_field(web, cases, page):
    log_in(page, web, "kaisa")
    page.goto(f"{web.url}/cases/{cases.paired}#consents")
    before = len(CaseFiles.of(web.site).open(cases.paired, "consent").documents)
    page.click("#consents .sopu-legal-form > summary")
    page.fill("#consent-service", CLINIC)
    page.select_option("#consent-kind", "child_health_clinic")
    page.fill("#consent-scope", "Lapsen terveys ja kasvu")
    page.fill("#consent-from", "2026-06-01")
    page.fill("#consent-to", "2025-06-01")  # a slip of the year
    page.click("#give-consent button[type=submit]")
    notice = page.locator("#legal-notice")
    assert notice.get_attribute("role") == "alert"
    assert "Tarkistettava kenttä: Voimassa asti (valinnainen)." in notice.inner_text()
    assert len(CaseFiles.of(web.site).open(cases.paired, "consent").documents) == before


def _disclose(page, recipient: str, consent_text: str) -> None:
    page.click("#disclosures .sopu-legal-form > summary")
    page.fill("#disclosure-recipient", recipient)
    page.check("#basis-consent")
    page.select_option("#disclosure-consent", label=page.locator(
        "#disclosure-consent option", has_text=consent_text).first.inner_text())  # fmt: skip
    page.locator("#record-disclosure fieldset", has_text="Luovutetut").locator(
        "label", has_text="Asiakassuunnitelma").first.click()  # fmt: skip
    page.click("#record-disclosure button[type=submit]")
    page.wait_for_load_state()


def test_the_printable_access_report_in_finnish_and_swedish(web, cases, page, tmp_path):
    aino = phone(web, tmp_path, "aino")  # a delivery to Aino's phone
    aino.close()
    files = CaseFiles.of(web.site).open(cases.single)
    [consent] = files.of_type("consent")
    [plan] = files.of_type("plan")
    web.site.disclosures.record(
        web.worker("aino")["id"], cases.single, recipient=consent["service_name"],
        basis="consent", consent_id=consent["_id"], doc_ids=[plan["_id"]], member_ids=[],
    )  # fmt: skip
    family_id = web.site.cases.get(cases.single)["family_id"]

    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/cases/{cases.single}")
    page.click("text=Perheen lokitietoselvitys")
    page.wait_for_load_state()
    assert page.url.startswith(f"{web.url}/families/{family_id}/access-report")
    page.goto(f"{web.url}/families/{family_id}/access-report?lang=fi")
    assert page.locator("html").get_attribute("lang") == "fi"
    entries = page.locator("#report-entries")
    delivered = entries.locator("tr[data-kind=delivered]").first.inner_text()
    assert "Siirretty laitteelle" in delivered and "Aino Ohjaaja" in delivered
    assert "Ohjaaja" in delivered and "Asiakkuuden omatyöntekijä" in delivered
    disclosed = entries.locator("tr[data-kind=disclosed]").inner_text()
    assert f"Luovutettu: {consent['service_name']}" in disclosed
    assert "Asiakassuunnitelma" in disclosed and "Asiakkaan suostumus" in disclosed
    assert plan["goals"][0]["title"] not in page.locator("main").inner_text()  # no content
    assert "Sanna Esihenkilö" in page.locator("#report-summary").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "access-report-fi")

    page.emulate_media(media="print")
    assert not page.locator(".sopu-header").is_visible()
    assert not page.locator(".sopu-report__controls").is_visible()
    assert page.locator("#report-entries").is_visible()
    page.emulate_media(media="screen")

    page.click(".sopu-report__controls a[lang=sv]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "sv"
    assert "Loggutdrag" in page.locator("h1").inner_text()
    disclosed = page.locator("#report-entries tr[data-kind=disclosed]").inner_text()
    assert f"Utlämnad: {consent['service_name']}" in disclosed and "Klientens samtycke" in disclosed
    assert axe_violations(page) == []
    screenshot(page, "access-report-sv")

    # Producing the report was logged each time, as the client's report.
    supervisor = web.worker("esihenkilo")["id"]
    logged = web.site.access_log.entries(case_id=cases.single, worker_id=supervisor)
    assert [e.purpose for e in logged].count("client_report") >= 3


def test_an_instructor_of_another_case_and_the_admin_get_not_found(web, cases, page):
    family_id = web.site.cases.get(cases.single)["family_id"]
    for username in ("kaisa", "admin"):
        page.context.clear_cookies()
        log_in(page, web, username)
        response = page.goto(f"{web.url}/families/{family_id}/access-report")
        assert response.status == 404


def test_a_member_not_in_the_family_is_said_and_never_passed_off_as_one(web, cases, page):
    family_id = web.site.cases.get(cases.single)["family_id"]
    [other] = CaseFiles.of(web.site).open(cases.paired, "family").documents
    stranger = other["members"][0]["id"]  # a member of another family
    log_in(page, web, "esihenkilo")
    page.goto(f"{web.url}/families/{family_id}/access-report?lang=fi&member={stranger}")
    assert "ei ole tämän perheen jäsen" in page.locator("[role=alert]").inner_text()
    assert " – " not in page.locator("h1").inner_text()  # the family's report, named so
    page.emulate_media(media="print")
    assert page.locator("[role=alert]").is_visible()  # on paper too
