"""/devices in headless Chromium: the devices a supervisor, an instructor and an
administrator see; revoking a real reference device with the confirmation step, after
which its next pull wipes it; and the quarantine of what it had not pushed, which
names the document and never shows its content."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from server.tools.demo_data import note_doc
from sync.device import DeviceWiped
from tests.support.browser import axe_violations, screenshot
from tests.support.team import add_team, device, note, open_case
from tests.support.web import demo_web, log_in

SECRET = "Äiti kertoi huolestaan vain minulle."


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with demo_web(tmp_path_factory.mktemp("devices")) as served:
        served.people = people = add_team(
            served, "Perhetyö Länsi", ("liisa", "Liisa Lähiesihenkilö"),
            [("olli", "Olli Ohjaaja"), ("pia", "Pia Perheohjaaja")],
        )  # fmt: skip
        today = datetime.now(UTC).date()
        served.case = open_case(served, people, "liisa", "Aaltonen", today, "active", ("olli",))
        yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
        note(served, served.case, people["olli"], yesterday.isoformat())
        homes = tmp_path_factory.mktemp("phones")
        served.phone = device(served, homes, "olli", "Ollin puhelin")
        served.phone.pull()
        served.phone_id = served.phone.state()["device_id"]
        served.pias = device(served, homes, "pia", "Pian tabletti")  # never synced
        served.ainos = device(served, homes, "aino", "Ainon puhelin")  # the demo's team
        yield served


def rows(page) -> dict[str, str]:
    """Device label → its row's text."""
    found = page.locator("table.sopu-devices tbody tr")
    return {
        found.nth(n).locator("th").inner_text(): found.nth(n).inner_text()
        for n in range(found.count())
    }


def test_a_supervisor_revokes_a_device_and_it_wipes_itself_at_its_next_sync(web, page):
    phone = web.phone
    device_id = web.phone_id
    offline = note_doc(random.Random(5), web.case, web.people["olli"]) | {"discussion": SECRET}
    held = phone.write(offline, web.case)["id"]  # not pushed yet when the device is revoked
    key_before = web.site.keys.current(web.case).version

    log_in(page, web, "liisa")
    page.click("nav >> text=Laitteet")
    assert page.url == f"{web.url}/devices" and page.inner_text("h1") == "Laitteet"
    shown = rows(page)
    assert set(shown) == {"Ollin puhelin", "Pian tabletti"}  # not Aino's: another team
    assert "Olli Ohjaaja" in shown["Ollin puhelin"] and "x25519" in shown["Ollin puhelin"]
    assert re.search(r"\d{1,2}\.\d{1,2}\.20\d\d \d{1,2}\.\d\d", shown["Ollin puhelin"])
    assert "ei vielä synkronoitu" in shown["Pian tabletti"]
    assert "Käytössä" in shown["Ollin puhelin"]
    assert page.locator("#quarantine-heading").is_visible()
    assert "Mitään ei ole pidätetty." in page.inner_text("main")

    page.click(f"tr[data-device='{device_id}'] >> text=Poista käytöstä")
    assert page.url == f"{web.url}/devices/{device_id}/revoke"
    assert page.inner_text("h1") == "Poistetaanko Ollin puhelin käytöstä?"
    assert "pyyhkii kaikki paikalliset tietonsa seuraavassa synkronoinnissa" in page.inner_text(
        "main"
    )
    assert axe_violations(page) == []
    screenshot(page, "devices-revoke-fi")
    assert web.site.devices.get(device_id)["revoked_at"] is None  # nothing happened yet
    page.fill("#reason", "   ")
    page.click("text=Poista laite käytöstä ja pyyhi se")
    assert "Kirjoita, miksi laite poistetaan käytöstä" in page.inner_text("main")
    assert web.site.devices.get(device_id)["revoked_at"] is None

    page.fill("#reason", "Puhelin kadonnut")
    page.click("text=Poista laite käytöstä ja pyyhi se")
    assert page.url == f"{web.url}/devices?revoked={device_id}"
    assert "Työntekijän Olli Ohjaaja laite Ollin puhelin on poistettu käytöstä." in (
        page.inner_text("[role=status]")
    )
    assert "Poistettu käytöstä" in rows(page)["Ollin puhelin"]
    assert "Puhelin kadonnut" in rows(page)["Ollin puhelin"]
    assert page.locator(f"tr[data-device='{device_id}'] >> text=Poista käytöstä").count() == 0
    revoked = web.site.devices.get(device_id)
    assert revoked["revoked_by"] == web.people["liisa"] and revoked["revoke_reason"]
    assert web.site.keys.current(web.case).version == key_before + 1  # a new key for new writes

    with pytest.raises(DeviceWiped):
        phone.pull()
    assert phone.documents() == [] and phone.state() == {}

    page.reload()
    held_rows = page.locator("table.sopu-quarantine tbody tr")
    assert held_rows.count() == 1
    assert held_rows.first.get_attribute("data-doc") == held
    assert held_rows.first.inner_text().split("\t")[1:] == [
        "Olli Ohjaaja", "Ollin puhelin", "Lähetetty laitteen käytöstä poiston jälkeen", held
    ]  # fmt: skip
    assert SECRET not in page.content()  # the document id, never its content
    assert axe_violations(page) == []
    screenshot(page, "devices-fi")


def test_an_instructor_sees_only_their_own_devices_and_no_quarantine(web, page):
    log_in(page, web, "pia")
    page.goto(f"{web.url}/devices")
    assert set(rows(page)) == {"Pian tabletti"}
    assert page.locator("#quarantine-heading").count() == 0
    olli_device = web.phone_id
    answer = page.goto(f"{web.url}/devices/{olli_device}/revoke")
    assert answer.status == 404 and page.inner_text("h1") == "Ei löydy"
    aino = web.ainos.state()["device_id"]
    page.context.clear_cookies()
    log_in(page, web, "esihenkilo")  # another team's supervisor: not even told it exists
    assert page.goto(f"{web.url}/devices/{aino}/revoke").status == 200
    assert page.goto(f"{web.url}/devices/{olli_device}/revoke").status == 404


def test_an_administrator_sees_every_device_and_a_forged_revoke_is_refused(web, page):
    log_in(page, web, "admin")
    page.goto(f"{web.url}/devices")
    assert {"Ollin puhelin", "Pian tabletti", "Ainon puhelin"} <= set(rows(page))
    assert page.locator("#quarantine-heading").is_visible()
    aino = web.ainos.state()["device_id"]
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = requests.post(
        f"{web.url}/devices/{aino}/revoke", cookies=cookies, data={"reason": "x"},
        allow_redirects=False,
    )  # fmt: skip
    assert forged.status_code == 403
    assert web.site.devices.get(aino)["revoked_at"] is None
    for lang in ("sv", "en"):
        page.click(f"button[lang={lang}]")
        assert page.inner_text("h1") == {"sv": "Enheter", "en": "Devices"}[lang]
        assert axe_violations(page) == []
        screenshot(page, f"devices-{lang}")
