"""The reconciliation page in headless Chromium, with two real reference devices.

Aino and Bertil write the same sentence of their pair visit's note differently while
offline and sync; the page shows both versions and both authors; Aino keeps one in the
browser, and Bertil's phone receives that revision at its next pull. A double
finalisation is acknowledged without the final note changing. Who sees and resolves
what: the team's supervisor reads, another team's supervisor gets 404.
"""

from __future__ import annotations

import json
import random

import pytest
import requests

from mobile_schema.base import open_items
from mobile_schema.examples import example
from server.tools import fieldwork
from server.tools.demo import DEMO_PASSWORD
from server.tools.demo_data import family_doc
from sync.device import Device
from tests.support.browser import axe_violations, screenshot
from tests.support.web import demo_web, log_in

NEXT_VISIT = "Sovimme seuraavasta käynnistä."
STORY = f"Tapasimme kotona. Äiti kertoi aamuista. {NEXT_VISIT}"
AINO_SAYS = "Äiti kertoi, että aamut sujuvat nyt paremmin."
BERTIL_SAYS = "Äiti kertoi aamujen olevan yhä raskaita."
EVENINGS = "Illat ovat yhä vaikeita."


class Pair:
    """The demo organisation served, and a case Aino and Bertil share, each with a
    phone enrolled against the served site and holding the pair visit's note."""

    def __init__(self, web, tmp_path):
        self.web, self.site = web, web.site
        self.ids = {name: web.worker(name)["id"] for name in ("esihenkilo", "aino", "bertil")}
        self.case = self._shared_case()
        self.phones = {name: self._phone(tmp_path, name) for name in ("aino", "bertil")}
        visit = fieldwork.new_visit(
            self.phones["aino"], self.case, "home", "2026-11-22T08:00:00Z",
            with_workers=(self.ids["bertil"],), at="2026-11-22T07:00:00Z",
        )  # fmt: skip
        note = fieldwork.new_note(
            self.phones["aino"], self.case, STORY, visit_id=visit["_id"], at="2026-11-22T09:00:00Z"
        )
        self.note = note["_id"]
        self.sync("aino", "bertil")

    def _shared_case(self) -> str:
        supervisor = self.web.worker("esihenkilo")
        family = family_doc(random.Random(11), supervisor["id"])
        details = {"display_name": "Perhe Koivisto", "members": family["members"]}
        first_case = {
            "service_task": "family_social_guidance",
            "pending_since": "2026-10-01",
            "special_support_need": False,
            "referral": {"source": "parent_self", "received_on": "2026-10-01"},
        }
        _family, case = self.site.families.create(
            supervisor["team_id"], details, first_case, supervisor["id"]
        )
        self.site.casework.assign(case, self.ids["aino"], "own_worker", supervisor["id"])
        self.site.casework.assign(case, self.ids["bertil"], "pair_worker", supervisor["id"])
        return case

    def _phone(self, tmp_path, name: str) -> Device:
        phone = Device(tmp_path / f"phone-{name}", passphrase="2468", scrypt_n=2**10)
        phone.enrol(self.web.url, name, DEMO_PASSWORD, label=f"{name}'s phone")
        phone.pull()  # the case's keyring
        return phone

    def sync(self, *names: str) -> None:
        for _ in range(2):
            for name in names:
                pushed, _pulled = self.phones[name].sync()
                assert pushed.errors == []

    def edit(self, name: str, at: str, **fields) -> None:
        edits = [("set", f"/{key}", value) for key, value in fields.items()]
        fieldwork.edit(self.phones[name], self.note, edits, at=at)

    def server_note(self) -> dict:
        return self.site.records.read(self.case, self.note)

    def url(self, doc_id: str | None = None) -> str:
        return f"{self.web.url}/reconciliation/{self.case}/{doc_id or self.note}"

    def close(self) -> None:
        for phone in self.phones.values():
            phone.close()


@pytest.fixture
def pair(tmp_path):
    with demo_web(tmp_path) as web:
        made = Pair(web, tmp_path)
        yield made
        made.close()


def collide_on_one_sentence(pair: Pair) -> None:
    """Both rewrite the same sentence offline (Aino first), then both phones sync."""
    pair.edit(
        "aino", "2026-11-22T10:01:00Z", discussion=STORY.replace("Äiti kertoi aamuista.", AINO_SAYS)
    )
    pair.edit(
        "bertil",
        "2026-11-22T10:02:00Z",
        discussion=STORY.replace("Äiti kertoi aamuista.", BERTIL_SAYS),
    )
    pair.sync("aino", "bertil")


def test_an_instructor_keeps_one_version_and_the_other_phone_receives_it(pair, page):
    collide_on_one_sentence(pair)
    [item] = open_items(pair.server_note())
    assert item["kind"] == "text"
    log_in(page, pair.web, "aino")
    page.goto(f"{pair.web.url}/reconciliation")
    main = page.inner_text("main")
    assert "Perhe Koivisto" in main and "Keskustelu" in main and "/discussion" in main
    earlier, later = page.locator(".sopu-version").all_inner_texts()
    assert AINO_SAYS in earlier and "Aino Ohjaaja" in earlier and "22.11.2026 12.01" in earlier
    assert BERTIL_SAYS in later and "Bertil Handledare" in later and "22.11.2026 12.02" in later
    assert axe_violations(page) == []
    screenshot(page, "reconciliation-fi")
    for lang, label in (("sv", "Diskussion"), ("en", "Discussion")):
        page.click(f"button[lang={lang}]")
        assert label in page.inner_text("main")
        assert axe_violations(page) == []
        screenshot(page, f"reconciliation-{lang}")
    page.click("button[lang=fi]")

    page.click("text=Säilytä aiempi versio")
    assert "Tallennettu" in page.inner_text("main")
    assert "Ei täsmennettävää." in page.inner_text("main")

    kept = STORY.replace("Äiti kertoi aamuista.", AINO_SAYS)
    server = pair.server_note()
    assert server["discussion"] == kept and not server.get("reconciliation")
    assert server["updated_by"] == pair.ids["aino"]
    pair.phones["bertil"].pull()
    phone = pair.phones["bertil"]
    local = phone.db.get(pair.note, conflicts=True)
    assert "_conflicts" not in local and local["_rev"] == server["_rev"]
    held = phone.read(pair.note)
    assert held["discussion"] == kept and not open_items(held)
    assert pair.site.reconciliation.open_items([pair.case]) == []
    reads = pair.site.access_log.entries(case_id=pair.case, worker_id=pair.ids["aino"])
    assert any(e.purpose == "reconciliation" and pair.note in e.doc_ids for e in reads)
    [audit] = pair.site.audit.entries("reconciliation.resolved", pair.case)
    assert audit.actor == pair.ids["aino"] and audit.details["choice"] == "earlier"


def test_an_edited_text_replaces_both_passages_and_meets_an_offline_edit_as_a_merge(pair, page):
    collide_on_one_sentence(pair)
    offline = pair.phones["aino"].read(pair.note)["discussion"]  # the merge, both passages
    later = "Sovimme käynnistä ensi viikolla."
    pair.edit("aino", "2026-11-22T10:05:00Z", discussion=offline.replace(NEXT_VISIT, later))
    log_in(page, pair.web, "bertil")
    page.goto(pair.url())
    page.click("text=Muokkaa tekstiä")
    editor = page.locator("textarea")
    assert AINO_SAYS in editor.input_value() and BERTIL_SAYS in editor.input_value()
    written = STORY.replace("Äiti kertoi aamuista.", "Äiti kertoi, että aamut vaihtelevat.")
    editor.fill(written)
    page.click("text=Tallenna teksti")
    assert "Tallennettu" in page.inner_text("main")
    assert "Ei enää täsmennettävää tässä asiakirjassa." in page.inner_text("main")
    pair.phones["bertil"].pull()
    held = pair.phones["bertil"].read(pair.note)
    assert held["discussion"] == written and not open_items(held)
    assert held["updated_by"] == pair.ids["bertil"]
    pair.sync("aino", "bertil")  # Aino's offline edit was based on the merge: merged again
    for phone in pair.phones.values():
        doc = phone.read(pair.note)
        assert doc["discussion"] == written.replace(NEXT_VISIT, later)
        assert not open_items(doc) and "_conflicts" not in phone.db.get(pair.note, conflicts=True)


def test_a_text_edited_while_a_device_changed_the_note_is_kept_in_the_editor(pair, page):
    collide_on_one_sentence(pair)
    log_in(page, pair.web, "bertil")
    page.goto(pair.url())
    page.click("text=Muokkaa tekstiä")
    written = STORY.replace("Äiti kertoi aamuista.", "Äiti kertoi aamuista lyhyesti.")
    page.locator("textarea").fill(written)
    pair.edit("aino", "2026-11-22T10:05:00Z", written_with_client=False)
    pair.sync("aino")  # the note changes on the server under the open editor
    page.click("text=Tallenna teksti")
    assert "Asiakirja muuttui muokkauksesi aikana" in page.inner_text("[role=alert]")
    assert page.locator("textarea").input_value() == written  # nothing typed is lost
    assert open_items(pair.server_note())
    page.click("text=Tallenna teksti")  # written again, knowingly, on the new revision
    assert pair.server_note()["discussion"] == written


def test_a_double_finalisation_is_acknowledged_and_the_note_stays_as_it_was(pair, page):
    pair.edit("aino", "2026-11-22T10:01:00Z", client_view="Aamut sujuvat.")
    fieldwork.finalise(pair.phones["aino"], pair.note, at="2026-11-22T10:02:00Z")
    pair.edit("bertil", "2026-11-22T10:03:00Z", client_view="Aamut sujuvat paremmin.")
    fieldwork.finalise(pair.phones["bertil"], pair.note, at="2026-11-22T10:04:00Z")
    pair.sync("aino", "bertil")
    before = pair.server_note()
    [item] = open_items(before)
    assert item["kind"] == "finalised_twice"
    log_in(page, pair.web, "aino")
    page.goto(pair.url())
    sides = " ".join(page.locator(".sopu-version").all_inner_texts())
    assert "Aamut sujuvat." in sides and "Aamut sujuvat paremmin." in sides
    assert "Säilytetty lopullisena korjauksena." in sides
    assert page.locator("button[value=earlier], button[value=later]").count() == 0
    assert page.locator("textarea").count() == 0
    assert axe_violations(page) == []
    page.click("button[value=acknowledge]")
    assert "Tallennettu" in page.inner_text("main")

    after = pair.server_note()
    strip = lambda d: {k: v for k, v in d.items() if k not in ("reconciliation", "_rev")}  # noqa: E731
    assert strip(after) == strip(before)  # content and stamps as finalised
    [acked] = after["reconciliation"]
    [ack] = acked["acknowledged"]
    assert ack["by"] == pair.ids["aino"]
    assert pair.site.reconciliation.open_items([pair.case]) == []
    pair.phones["bertil"].pull()
    local = pair.phones["bertil"].db.get(pair.note, conflicts=True)
    assert "_conflicts" not in local and local["_rev"] == after["_rev"]
    assert not open_items(pair.phones["bertil"].read(pair.note))


def item(n: int, path: str, kind: str, ours, theirs, pair: Pair) -> dict:
    return {
        "id": f"{n:032x}", "path": path, "kind": kind,
        "ours": json.dumps(ours, ensure_ascii=False), "ours_by": pair.ids["aino"],
        "ours_at": "2026-11-20T08:00:00Z",
        "theirs": json.dumps(theirs, ensure_ascii=False), "theirs_by": pair.ids["bertil"],
        "theirs_at": "2026-11-20T09:00:00Z",
    }  # fmt: skip


def test_every_kind_reads_in_words_and_a_compacted_item_lists_what_it_holds(pair, page):
    plan = example("plan") | {"case_id": pair.case}
    goal = plan["goals"][0]
    rating = f"/goals/{goal['id']}/ratings/{goal['ratings'][0]['id']}/value"
    held = [
        item(1, f"/goals/{goal['id']}/parent_view", "text", "Illat ovat hyviä.", EVENINGS, pair),
        item(2, "/review_on", "value", "2026-07-20", "2026-08-20", pair),
    ]
    compacted = item(3, "", "compacted", None, None, pair) | {"compacted": held}
    plan["reconciliation"] = [
        compacted,
        item(4, rating, "value", 3, 6, pair),
        item(5, "", "deleted_edited", None, plan["_id"], pair),
    ]
    assert pair.site.records.write(pair.case, [plan])[0]["ok"]
    pair.site.reconciliation.note(pair.case, plan)
    log_in(page, pair.web, "aino")
    page.goto(pair.url(plan["_id"]))
    main = page.inner_text("main")
    assert "Asiakassuunnitelma 20.4.2026: Perhe Koivisto" in main
    assert "Tavoite “Rauhallisemmat illat”: Arvio 20.4.2026: Arvo" in main and rating in main
    assert "Toinen poisti asiakirjan, kun toinen muokkasi sitä" in main
    assert "Poisti asiakirjan." in main and "Muokkasi asiakirjaa." in main
    page.click("text=Siihen kootut vanhemmat kohdat: 2")
    assert EVENINGS in page.inner_text("main")
    assert "Tavoite “Rauhallisemmat illat”: Vanhemman näkemys" in page.inner_text("main")
    assert page.locator("button[value=earlier]").count() == 1  # the rating only
    assert page.locator("textarea").count() == 0  # a rating is no text to write
    assert axe_violations(page) == []


def test_the_team_supervisor_reads_and_another_team_s_supervisor_finds_nothing(pair, page):
    collide_on_one_sentence(pair)
    log_in(page, pair.web, "esihenkilo")
    page.goto(f"{pair.web.url}/reconciliation")
    assert BERTIL_SAYS in page.inner_text("main")
    assert "Vain asiakkuuteen nimetyt ohjaajat" in page.inner_text("main")
    assert page.locator("form.sopu-recon__choices").count() == 0
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    [token] = {i.get_attribute("value") for i in page.locator("input[name=csrf_token]").all()}
    item = open_items(pair.server_note())[0]["id"]
    refused = requests.post(
        f"{pair.url()}/{item}", cookies=cookies, data={"csrf_token": token, "choice": "later"},
        allow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 403 and open_items(pair.server_note())

    team = pair.site.accounts.create_team("Perhetyö Itä", "test")
    pair.site.accounts.create(
        "toinen", "Tuula Toinen", "supervisor", "test", team_id=team, password=DEMO_PASSWORD
    )
    page.context.clear_cookies()
    log_in(page, pair.web, "toinen")
    page.goto(f"{pair.web.url}/reconciliation")
    assert BERTIL_SAYS not in page.inner_text("main")
    assert page.goto(pair.url()).status == 404
    assert BERTIL_SAYS not in page.inner_text("main")

    page.context.clear_cookies()
    log_in(page, pair.web, "admin")  # an administrator sees no client data
    assert page.goto(f"{pair.web.url}/reconciliation").status == 403
    assert page.goto(pair.url()).status == 404
