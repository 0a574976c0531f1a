"""The account lifecycle on /admin and /password in headless Chromium: an administrator
sees each account's live sessions and devices, ends a person's sessions (they are
logged out at their next request) and sets a new password (only that one works); a
person changes their own password from the page frame, needing the current one, and
stays logged in while their other sessions end."""

from __future__ import annotations

import pytest

from server.errors import InvalidCredentials
from server.tools.demo import DEMO_PASSWORD
from tests.support.browser import axe_violations, screenshot
from tests.support.team import device
from tests.support.web import demo_web, log_in, session

NEW_PASSWORD = "uusi salasana 2027"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with demo_web(tmp_path_factory.mktemp("lifecycle")) as served:
        served.homes = tmp_path_factory.mktemp("phones")
        yield served


def person(web, username: str) -> str:
    """A new instructor of the demo's team, with the demo's password."""
    team = web.worker("aino")["team_id"]
    return web.site.accounts.create(
        username, username.title(), "worker", "test", team_id=team, password=DEMO_PASSWORD
    )


def row(page, username: str):
    return page.locator(f"tr[data-account='{username}']")


def test_an_administrator_ends_a_persons_sessions_and_sets_a_new_password(web, page):
    liisa = person(web, "liisa")
    laptop, desktop = session(web, "liisa"), session(web, "liisa")
    device(web, web.homes, "liisa", "Liisan puhelin")  # its enrolment logs in once more
    log_in(page, web, "admin")
    assert row(page, "liisa").locator("[data-sessions]").get_attribute("data-sessions") == "3"
    assert "Liisan puhelin" in row(page, "liisa").locator("[data-devices]").inner_text()
    assert row(page, "admin").locator("text=Päätä istunnot").count() == 0  # not one's own
    assert axe_violations(page) == []

    row(page, "liisa").locator("text=Päätä istunnot").click()
    assert "Käyttäjän liisa kaikki istunnot päättyivät" in page.inner_text("[role=status]")
    assert row(page, "liisa").locator("[data-sessions]").get_attribute("data-sessions") == "0"
    assert laptop.get(f"{web.url}/api/me").status_code == 401
    assert desktop.get(f"{web.url}/api/me").status_code == 401
    [ended] = web.site.audit.entries(action="account.sessions_ended", subject=liisa)
    assert ended.actor == web.worker("admin")["id"]

    session(web, "liisa")
    page.reload()
    row(page, "liisa").locator("text=Aseta uusi salasana").click()
    assert page.inner_text("h1") == "Uusi salasana käyttäjälle Liisa"
    assert axe_violations(page) == []
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("text=Aseta uusi salasana käyttöön")
    assert "Käyttäjällä liisa on uusi salasana" in page.inner_text("[role=status]")
    assert row(page, "liisa").locator("[data-sessions]").get_attribute("data-sessions") == "0"
    with pytest.raises(InvalidCredentials):
        web.site.accounts.authenticate("liisa", DEMO_PASSWORD)
    assert web.site.accounts.authenticate("liisa", NEW_PASSWORD)["id"] == liisa
    [reset] = web.site.audit.entries(action="account.password_changed", subject=liisa)
    assert reset.actor == web.worker("admin")["id"]


def test_a_person_changes_their_own_password_from_the_page_frame(web, page):
    person(web, "maija")
    elsewhere = session(web, "maija")
    log_in(page, web, "maija")
    page.click("header >> text=Vaihda salasanasi")
    assert page.inner_text("h1") == "Vaihda salasanasi"
    assert axe_violations(page) == []

    page.fill("#current-password", "not my password")
    page.fill("#new-password", NEW_PASSWORD)
    page.click("main >> button[type=submit]")
    assert "Nykyinen salasana on väärin." in page.inner_text("[role=alert]")
    assert elsewhere.get(f"{web.url}/api/me").status_code == 200  # nothing changed

    page.fill("#current-password", DEMO_PASSWORD)
    page.fill("#new-password", NEW_PASSWORD)
    page.click("main >> button[type=submit]")
    assert "Salasanasi vaihdettiin." in page.inner_text("[role=status]")
    assert page.input_value("#new-password") == ""  # never echoed back
    assert elsewhere.get(f"{web.url}/api/me").status_code == 401
    page.goto(f"{web.url}/password")  # still logged in here, with a new session
    assert page.inner_text("h1") == "Vaihda salasanasi"
    assert web.site.accounts.authenticate("maija", NEW_PASSWORD)["username"] == "maija"
    screenshot(page, "password-fi")
    for lang, heading in (("sv", "Byt ditt lösenord"), ("en", "Change your password")):
        page.click(f"button[lang={lang}]")
        assert page.inner_text("h1") == heading
        assert axe_violations(page) == []
