"""The field app (/app/) in headless Chromium: a served demo organisation with a
reconciliation item waiting on a note, and the steps every test takes in the app
(enrol, wait for the sync, unlock)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from server.tools import fieldwork
from server.tools.demo import DEMO_PASSWORD
from sync.device import Device
from tests.support.case_files import CaseFilesOfDemo, demo_case_files
from tests.support.web import Web, demo_web, session

PIN = "246810"
PHONE = {"width": 390, "height": 844}
# The label the app enrols with (i18n.mjs `device_label`), in the app's three languages.
BROWSER_LABELS = {
    "Selain (Sopu-kenttäsovellus)",
    "Webbläsare (Sopu fältapp)",
    "Browser (Sopu field app)",
}
AINO_SAYS = "Äiti kertoi, että aamut sujuvat nyt ilman riitaa."
BERTIL_SAYS = "Äiti kertoi, että aamuisin riidellään yhä vaatteista."


@dataclass
class FieldApp:
    web: Web
    files: CaseFilesOfDemo
    collided: str  # a draft note of `files.single` with an open reconciliation item
    home: Path

    @property
    def url(self) -> str:
        return f"{self.web.url}/app/"


@contextlib.contextmanager
def field_app(home: Path):
    """The demo served; Bertil made pair worker of Aino's own case, and both their
    Python phones rewriting the same sentence of one note offline: a `text` item."""
    with demo_web(home) as web:
        files = demo_case_files(web)
        yield FieldApp(web, files, _collide(web, home, files.single), home)


def _collide(web: Web, home: Path, case_id: str) -> str:
    supervisor = web.worker("esihenkilo")["id"]
    web.site.casework.assign(case_id, web.worker("bertil")["id"], "pair_worker", supervisor)
    aino, bertil = (python_phone(web, home, name) for name in ("aino", "bertil"))
    note = fieldwork.new_note(aino, case_id, "Äiti kertoi aamuista. Ilta meni hyvin.")
    _sync(aino, bertil)
    for device, text, at in ((aino, AINO_SAYS, "10:01"), (bertil, BERTIL_SAYS, "10:02")):
        edit = [("set", "/discussion", f"{text} Ilta meni hyvin.")]
        fieldwork.edit(device, note["_id"], edit, at=f"2026-11-22T{at}:00Z")
    _sync(aino, bertil)
    merged = web.site.records.read(case_id, note["_id"])
    assert merged.get("reconciliation"), merged
    aino.close()
    bertil.close()
    return note["_id"]


def python_phone(web: Web, home: Path, name: str, label: str = "phone") -> Device:
    """The Python reference device of `name`, enrolled and pulled."""
    device = Device(home / f"{label}-{name}", passphrase="2468", scrypt_n=2**10)
    device.enrol(web.url, name, DEMO_PASSWORD, label=f"{name}'s phone")
    device.pull()
    return device


def _sync(*devices: Device) -> None:
    for _ in range(2):
        for device in devices:
            pushed, _pulled = device.sync()
            assert pushed.errors == []


def enrol(page, app: FieldApp, username: str = "aino", pin: str = PIN) -> None:
    """Sign in and enrol this browser context, then wait for the first pull."""
    page.goto(app.url)
    page.wait_for_selector("#signin")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.fill("#pin", pin)
    page.fill("#pin2", pin)
    page.click("#enrol")
    wait_synced(page)


def wait_synced(page, timeout: float = 30_000) -> None:
    """Until the sync bar says up to date with nothing left to send; and nothing the
    app wrote was refused by the server (the bar would name it)."""
    page.wait_for_function(
        """() => document.querySelector('.fa-sync--idle')
              && /\\b0\\b/.test(document.querySelector('#unsynced')?.textContent || '')""",
        timeout=timeout,
    )
    assert page.locator("#denied").count() == 0, page.inner_text("#denied")


def unlock(page, pin: str = PIN) -> None:
    page.wait_for_selector("#unlock")
    page.fill("#pin", pin)
    page.click("#unlock-button")
    page.wait_for_selector("#nav a")


def browser_device(app: FieldApp, username: str = "aino") -> dict:
    """The device this worker enrolled last from the browser (the API's list)."""
    http = session(app.web, username)
    devices = [
        d
        for d in http.get(f"{app.web.url}/api/devices").json()
        if not d.get("revoked_at") and d["label"] in BROWSER_LABELS
    ]
    return max(devices, key=lambda d: d["enrolled_at"])


def revoke(app: FieldApp, device_id: str, username: str = "aino") -> None:
    http = session(app.web, username)
    answer = http.post(
        f"{app.web.url}/api/devices/{device_id}/revoke", json={"reason": "phone lost"}
    )
    assert answer.status_code == 200, answer.text
