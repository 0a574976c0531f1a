"""/admin in headless Chromium: an administrator creates an account (which can log in),
is told why a taken username is refused, changes a role, deactivates the account after
a confirmation (it can no longer log in and its device wipes), creates a team, and
reads the key status (case keys per KEK, never a key); nobody else gets in."""

from __future__ import annotations

import base64

import pytest

from server.errors import InvalidCredentials
from sync.device import DeviceWiped
from tests.support.browser import axe_violations, screenshot
from tests.support.team import device
from tests.support.web import demo_web, log_in

NEW_PASSWORD = "uusi salasana 2027"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with demo_web(tmp_path_factory.mktemp("admin")) as served:
        served.homes = tmp_path_factory.mktemp("phones")
        yield served


def account_row(page, username: str):
    return page.locator(f"tr[data-account='{username}']")


def create(page, username: str, name: str, role: str, team: str, password: str) -> None:
    page.fill("#new-username", username)
    page.fill("#new-name", name)
    page.select_option("#new-role", role)
    page.select_option("#new-team", label=team)
    page.fill("#new-password", password)
    page.click("text=Luo käyttäjätili")


def test_an_administrator_creates_an_account_and_deactivates_it(web, page):
    log_in(page, web, "admin")
    assert page.url == f"{web.url}/admin"  # the front page sends an administrator here
    assert page.inner_text("h1") == "Ylläpito"

    create(page, "aino", "Toinen Aino", "worker", "Perhetyö Keskusta", NEW_PASSWORD)
    assert "Käyttäjätunnus on 1–100 merkkiä eikä se saa olla jo käytössä." in page.inner_text(
        "[role=alert]"
    )
    assert page.input_value("#new-name") == "Toinen Aino"  # kept, but never the password
    assert page.input_value("#new-password") == ""

    create(page, "tuuli", "Tuuli Tuore", "worker", "Perhetyö Keskusta", NEW_PASSWORD)
    assert "Käyttäjätili tuuli luotiin." in page.inner_text("[role=status]")
    row = account_row(page, "tuuli")
    assert row.inner_text().split("\t")[:2] == ["tuuli", "Tuuli Tuore"]
    assert "Perhetyö Keskusta" in row.inner_text()
    assert row.locator("[data-active]").get_attribute("data-active") == "yes"
    created = web.site.accounts.authenticate("tuuli", NEW_PASSWORD)
    assert (created["role"], created["active"]) == ("worker", 1)
    phone = device(web, web.homes, "tuuli", "Tuulin puhelin", NEW_PASSWORD)
    phone.pull()

    page.select_option("#role-" + created["id"], "supervisor")
    page.click("tr[data-account='tuuli'] >> text=Vaihda rooli")
    assert "Käyttäjällä tuuli on nyt toinen rooli" in page.inner_text("[role=status]")
    assert web.worker("tuuli")["role"] == "supervisor"

    account_row(page, "tuuli").locator("text=Poista käytöstä").click()
    assert page.inner_text("h1") == "Poistetaanko käyttäjän Tuuli Tuore tili käytöstä?"
    assert "Hänen 1 laitteensa poistetaan käytöstä" in page.inner_text("main")
    assert axe_violations(page) == []
    assert web.worker("tuuli")["active"] == 1  # nothing happened yet
    page.click("text=Poista käyttäjätili käytöstä")
    assert "tuuli ei voi enää kirjautua" in page.inner_text("[role=status]")
    assert account_row(page, "tuuli").locator("[data-active]").get_attribute("data-active") == "no"
    with pytest.raises(InvalidCredentials):
        web.site.accounts.authenticate("tuuli", NEW_PASSWORD)
    with pytest.raises(DeviceWiped):
        phone.pull()
    assert account_row(page, "admin").locator("form").count() == 0  # not one's own account


def test_the_key_status_counts_case_keys_per_kek_and_shows_no_key(web, page):
    log_in(page, web, "admin")
    current = web.site.keys.keks.current_id
    total = web.site.directory.one("SELECT COUNT(*) AS n FROM case_keys")["n"]
    row = page.locator(f"tr[data-kek='{current}']")
    assert row.locator("[data-keys]").inner_text() == str(total)
    assert "Nykyinen: salaa uudet avaimet" in row.inner_text()
    case_id = web.site.cases.find("active")[0]["id"]
    web.site.keys.rotate(case_id, "test", "a device was lost")
    page.reload()
    assert row.locator("[data-keys]").inner_text() == str(total + 1)
    content = page.content()
    for kek in web.site.keys.keks.keks.values():
        assert base64.b64encode(kek).decode() not in content and kek.hex() not in content


def test_teams_are_listed_and_created_and_only_administrators_get_in(web, page):
    log_in(page, web, "admin")
    page.fill("#new-team-name", "Perhetyö Itä")
    page.click("text=Luo tiimi")
    assert "Tiimi Perhetyö Itä luotiin." in page.inner_text("[role=status]")
    teams = page.locator("table.sopu-teams tbody tr")
    assert [t.locator("th").inner_text() for t in teams.all()] == [
        "Perhetyö Itä", "Perhetyö Keskusta"
    ]  # fmt: skip
    assert page.locator("#new-team option", has_text="Perhetyö Itä").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "admin-fi")
    for lang, heading in (("sv", "Administration"), ("en", "Administration")):
        page.click(f"button[lang={lang}]")
        assert page.get_attribute("html", "lang") == lang and page.inner_text("h1") == heading
        assert axe_violations(page) == []
        screenshot(page, f"admin-{lang}")

    page.context.clear_cookies()
    log_in(page, web, "esihenkilo")
    answer = page.goto(f"{web.url}/admin")
    assert answer.status == 403 and page.inner_text("h1") == "Ei sallittu"
    assert "Ylläpito on vain pääkäyttäjille." in page.inner_text("main")
