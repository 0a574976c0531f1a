"""The field app (/app/) in headless Chromium, as an instructor uses it on a phone.

Served with its own Content-Security-Policy (and it runs under it, not only with the
test's bypass); every screen in Finnish, Swedish and English without serious axe-core
violations, screenshotted; the service worker opens the app with the network cut; a
note written and finalised offline reaches the supervisor's case page decrypted once
the network returns; a plan rating and a reconciliation reach the server; a revoked
device wipes its IndexedDB and says so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import requests

from server.field_app import blueprint
from server.tools.demo import DEMO_PASSWORD
from tests.support.browser import ROOT, axe_violations, screenshot
from tests.support.field_app import (
    AINO_SAYS,
    BERTIL_SAYS,
    PHONE,
    PIN,
    browser_device,
    enrol,
    field_app,
    python_phone,
    revoke,
    unlock,
    wait_synced,
)
from tests.support.web import log_in

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; worker-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
LANGS = {"fi": "Suomi", "sv": "Svenska", "en": "English"}
DOCS = ROOT / "docs" / "screenshots"
VIEWED = "Kävimme läpi kuvakortit; äiti kertoi illan sujuneen ilman itkua."
WIPED_FI = "Tämä laite on poistettu käytöstä, ja sen tiedot on poistettu."
WIPED_HEADINGS = {"fi": "poistettu käytöstä", "sv": "spärrad", "en": "revoked"}
AINO_PAIR = "Isä kertoi iltojen sujuvan nyt ilman riitaa."
BERTIL_PAIR = "Isä kertoi, että illat ovat yhä raskaita."
OWN_WORDS = "Minusta tuntuu, että arki helpottaa jo."
ACTION = "Kokeillaan iltasatua joka ilta kahden viikon ajan."


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with field_app(tmp_path_factory.mktemp("field-app")) as served:
        yield served


@pytest.fixture
def phone(browser):
    """A phone-sized context with its own IndexedDB; CSP bypassed only to inject axe."""
    context = browser.new_context(bypass_csp=True, locale="fi-FI", viewport=PHONE)
    yield context.new_page()
    context.close()


# ---------------------------------------------------------------- served files


def test_the_app_is_served_under_its_own_policy_and_revalidated(app):
    shell = requests.get(app.url)
    assert shell.status_code == 200
    assert shell.headers["Content-Security-Policy"] == CSP
    assert shell.headers["Cache-Control"] == "no-cache"
    assert '<script type="module" src="/app/static/js/app.mjs">' in shell.text
    assert "style=" not in shell.text and "<script>" not in shell.text  # nothing inline

    module = requests.get(f"{app.web.url}/app/static/js/app.mjs")
    assert module.headers["Content-Type"].startswith("text/javascript")
    assert module.headers["Cache-Control"] == "no-cache" and module.headers["ETag"]
    assert requests.get(f"{app.web.url}/app/static/vendor/vendor.js").status_code == 200
    manifest = requests.get(f"{app.web.url}/app/manifest.webmanifest")
    assert manifest.headers["Content-Type"].startswith("application/manifest+json")
    assert manifest.json()["scope"] == "/app/"

    worker = requests.get(f"{app.web.url}/app/sw.js").text
    for url in ("/app/", "/app/static/js/replica.mjs", "/app/static/js/screens/note.mjs",
                "/app/static/vendor/vendor.js", "/assets/hds/base.min.css", "/app/static/app.css",
                "/app/static/icons/icon-192.png"):  # fmt: skip
        assert f'"{url}"' in worker
    assert "__SOPU_" not in worker and "vendor-entry" not in worker
    # The rest of the server keeps the global policy.
    assert requests.get(f"{app.web.url}/health").headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )


def test_a_missing_vendor_bundle_says_how_to_build_it(app, monkeypatch, tmp_path):
    monkeypatch.setattr(blueprint, "VENDOR", tmp_path / "vendor.js")
    answer = requests.get(f"{app.web.url}/app/static/vendor/vendor.js")
    assert answer.status_code == 404
    assert "run scripts/build_app.sh" in answer.text


# ---------------------------------------------------------------- every screen


def _language(page, code: str) -> None:
    page.click(f"#languages button[lang={code}]")
    page.wait_for_function(f"document.documentElement.lang === '{code}'")


def _check(page, name: str, lang: str, heading: str) -> None:
    page.wait_for_selector("main h1")
    assert re.search(heading, page.inner_text("main h1")), (name, lang, page.inner_text("main h1"))
    assert page.locator("#sync").is_visible()
    assert axe_violations(page) == [], (name, lang)
    path = screenshot(page, f"field-app-{name}-{lang}")
    if lang == "fi" and os.environ.get("SOPU_DOCS_SCREENSHOTS"):  # refresh docs/screenshots
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"field-app-{name}.png")


HEADINGS = {
    "signin": {"fi": "Ota laite käyttöön", "sv": "Ta enheten i bruk", "en": "Set up this device"},
    "unlock": {"fi": "Avaa sovellus", "sv": "Öppna appen", "en": "Open the app"},
    "today": {"fi": "Tämän päivän käynnit", "sv": "Dagens besök", "en": "Today's visits"},
    "caseload": {"fi": "Asiakkuudet", "sv": "Klientrelationer", "en": "Caseload"},
    "case": {"fi": ".", "sv": ".", "en": "."},  # the family's name
    "note": {"fi": "Kirjaus", "sv": "Anteckning", "en": "Note"},
    "note-editor": {"fi": "Uusi kirjaus", "sv": "Ny anteckning", "en": "New note"},
    "plan": {"fi": "Asiakassuunnitelma", "sv": "Klientplan", "en": "Client plan"},
    "reconcile": {"fi": "Sovitettavaa", "sv": "Att jämka", "en": "To reconcile"},
}


def test_every_screen_in_every_language_has_no_serious_axe_violations(app, phone):
    page = phone
    page.goto(app.url)
    for lang in LANGS:
        _language(page, lang)
        _check(page, "signin", lang, HEADINGS["signin"][lang])
    _language(page, "fi")
    enrol(page, app)
    plan_id = _plan_of(app, app.files.single)
    note_id = app.collided
    routes = {
        "today": "#/today", "caseload": "#/cases", "case": f"#/case/{app.files.single}",
        "note": f"#/note/{note_id}", "note-editor": f"#/note/new/{app.files.single}",
        "plan": f"#/plan/{plan_id}", "reconcile": f"#/reconcile/{note_id}",
    }  # fmt: skip
    for lang in LANGS:
        _language(page, lang)
        for name, hash_ in routes.items():
            page.goto(f"{app.url}{hash_}")
            _check(page, name, lang, HEADINGS[name][lang])
    page.reload()
    for lang in LANGS:
        _language(page, lang)
        _check(page, "unlock", lang, HEADINGS["unlock"][lang])
    _language(page, "fi")
    page.fill("#pin", "135790")  # not the PIN
    page.click("#unlock-button")
    page.wait_for_selector("[role=alert] >> text=Väärä PIN-koodi.")
    unlock(page)  # back where the worker was
    assert page.inner_text("main h1").startswith("Sovitettavaa")


def _plan_of(app, case_id: str) -> str:
    from server.casework.case_file import CaseFiles

    return CaseFiles.of(app.web.site).open(case_id, "plan").documents[0]["_id"]


def test_the_case_screen_shows_family_notes_plan_and_assessment(app, phone):
    page = phone
    enrol(page, app)
    page.goto(f"{app.url}#/case/{app.files.single}")
    page.wait_for_selector("#family")
    for section in ("#family", "#notes", "#plan", "#assessment", "#reconcile"):
        assert page.locator(section).is_visible(), section
    assert page.locator("#family li").count() >= 2
    assert page.locator("#plan li").count() >= 1
    assert "Palvelutarpeen arviointi" in page.inner_text("#assessment")
    page.click(f"#notes a[href='#/note/{app.collided}']")
    page.wait_for_selector("#discussion")
    assert "Ilta meni hyvin." in page.inner_text("#discussion")


# ---------------------------------------------------------------- the real loop


def test_offline_a_note_is_finalised_and_reaches_the_supervisor_decrypted(app, browser):
    context = browser.new_context(locale="fi-FI", viewport=PHONE)  # the real CSP
    page = context.new_page()
    blocked = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    try:
        enrol(page, app)
        # The worker is active once its install has precached every file.
        assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active !== null)")
        visits = page.locator("#today li")
        assert visits.count() >= 1

        context.set_offline(True)
        page.reload()
        unlock(page)  # the shell, modules and vendor bundle came from the service worker
        page.wait_for_selector(".fa-sync--offline")
        assert page.locator("#today li").count() == visits.count()  # from IndexedDB
        page.click("#today li >> text=Kirjoita kirjaus >> nth=0")
        _write_note(page)
        page.click("#finalise")
        page.click("#finalise-yes")
        page.wait_for_selector("#note-state >> text=Viimeistelty")
        assert OWN_WORDS in page.inner_text("#client_view")
        # Waiting: the note, its visit (the interpreter joined) and the access events.
        assert int(page.inner_text("#unsynced").split(":")[1]) >= 2
        assert "Ei verkkoa" in page.inner_text("#sync-state")
        case_id = page.locator("main a[href^='#/case/']").first.get_attribute("href").split("/")[-1]
        note_id = page.url.rsplit("/", 1)[-1]
        assert note_id not in {d["_id"] for d in _documents(app, case_id)}  # not sent yet

        context.set_offline(False)
        wait_synced(page)
        assert blocked == []
    finally:
        context.close()
    _supervisor_reads(app, browser, case_id)
    # The Python reference device reads what the browser sealed.
    reference = python_phone(app.web, app.home, "aino", label="reference")
    try:
        assert reference.read(note_id)["client_view"] == OWN_WORDS
    finally:
        reference.close()
    # Opening the note on the phone is in the family's access log, with the phone's time.
    device = browser_device(app)["id"]
    views = [e for e in app.web.site.access_log.entries(case_id=case_id) if e.action == "view"]
    assert any(note_id in e.doc_ids and e.device_id == device and e.device_at for e in views)


def _write_note(page) -> None:
    page.fill("#discussion", VIEWED)
    page.fill("#client_view", OWN_WORDS)
    page.click("#add-action")
    action = page.locator("[data-action] textarea").first
    action.fill(ACTION)
    page.locator("[data-action] input[name^=action-responsible]").first.fill("äiti")
    page.click("#add-external")
    page.locator("input[name^=ext-name]").first.fill("Layla Haddad")
    page.locator("input[name^=ext-org]").first.fill("Tulkkikeskus")
    page.locator("[data-external] .hds-checkbox label").first.click()
    page.locator("select[name^=ext-language]").first.select_option("ar")
    page.click("label[for=review_status-agrees]")
    page.fill("#review_comment", "Hyvä näin.")


def _supervisor_reads(app, browser, case_id: str) -> None:
    context = browser.new_context(locale="fi-FI")
    page = context.new_page()
    try:
        log_in(page, app.web, "esihenkilo")
        page.goto(f"{app.web.url}/cases/{case_id}")
        timeline = page.inner_text("#timeline")
        assert VIEWED in timeline and OWN_WORDS in timeline and ACTION in timeline
        assert "Layla Haddad" in timeline
    finally:
        context.close()
    notes = [
        d for d in _documents(app, case_id) if d["type"] == "note" and d.get("discussion") == VIEWED
    ]
    assert len(notes) == 1 and notes[0]["state"] == "final"
    assert notes[0]["client_review"] == {"status": "agrees", "comment": "Hyvä näin."}
    assert notes[0]["agreed_actions"][0]["text"] == ACTION


def _documents(app, case_id: str) -> list[dict]:
    from server.casework.case_file import CaseFiles

    files = CaseFiles.of(app.web.site)
    return [d for kind in ("note",) for d in files.open(case_id, kind).documents]


def test_a_rating_and_a_reconciliation_reach_the_server(app, phone):
    page = phone
    enrol(page, app)
    plan_id = _plan_of(app, app.files.single)
    page.goto(f"{app.url}#/plan/{plan_id}")
    goal = page.locator("form[id^=rate-]").first
    goal.locator("input[name^=rating-parent]").fill("6")
    goal.locator("input[name^=rating-worker]").fill("7")
    goal.locator("button[type=submit]").click()
    page.wait_for_selector("text=Arvio tallennettu.")
    assert "6/10" in page.inner_text("main") and "7/10" in page.inner_text("main")

    page.goto(f"{app.url}#/reconcile/{app.collided}")
    item = page.locator("section[id^=item-]").first
    assert AINO_SAYS in item.inner_text() and BERTIL_SAYS in item.inner_text()
    # Both authors by name: "you" and the pair worker's name (GET /api/devices/colleagues).
    assert "sinä" in item.inner_text() and "Bertil Handledare" in item.inner_text()
    item.locator("button >> text=Käytä myöhempää").click()
    item.locator("button[type=submit]").click()
    page.wait_for_selector("#no-items")
    wait_synced(page)

    plan = app.web.site.records.read(app.files.single, plan_id)
    values = sorted(r["value"] for g in plan["goals"] for r in g.get("ratings") or [])
    assert 6 in values and 7 in values
    note = app.web.site.records.read(app.files.single, app.collided)
    assert not note.get("reconciliation")
    assert note["discussion"].startswith(BERTIL_SAYS)


def test_a_revoked_device_wipes_its_data_and_says_so(app, phone):
    page = phone
    enrol(page, app)
    page.goto(f"{app.url}#/note/new/{app.files.single}")
    secret_words = "Salaisuus-sanat-jotka-eivät-saa-jäädä"
    page.fill("#discussion", secret_words)
    page.click("#save-draft")
    wait_synced(page)
    # At rest the note is in IndexedDB as an envelope only: none of its words.
    held = _indexeddb_text(page)
    assert '"doc_type":"note"' in held and '"ciphertext"' in held
    assert secret_words not in held
    revoke(app, browser_device(app)["id"])
    page.wait_for_selector(f"text={WIPED_FI}", timeout=30_000)
    for lang in LANGS:
        _language(page, lang)
        _check(page, "wiped", lang, WIPED_HEADINGS[lang])
    names = page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)")
    assert not [n for n in names if "sopu-replica" in n], names
    assert secret_words not in _indexeddb_text(page)
    page.reload()
    page.wait_for_selector("text=This device was revoked; its data has been removed.")


ALL_OF_INDEXEDDB = """async () => {
  const open = (name) => new Promise((ok, no) => {
    const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = no;
  });
  const all = (db, store) => new Promise((ok) => {
    const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result);
  });
  const out = [];
  for (const { name } of await indexedDB.databases()) {
    const db = await open(name);
    for (const store of db.objectStoreNames) out.push(JSON.stringify(await all(db, store)));
    db.close();
  }
  return out.join("\\n");
}"""


def _indexeddb_text(page) -> str:
    """Every value of every object store of every IndexedDB database, as text."""
    return page.evaluate(ALL_OF_INDEXEDDB)


def test_a_final_note_stays_as_it_is_and_an_amendment_names_it(app, phone):
    page = phone
    enrol(page, app)
    final = next(
        d
        for d in _documents(app, app.files.single)
        if d["state"] == "final" and d["kind"] == "entry"
    )
    page.goto(f"{app.url}#/note/{final['_id']}")
    page.wait_for_selector("#note-state >> text=Viimeistelty")
    assert page.locator("a >> text=Muokkaa kirjausta").count() == 0  # never edited in place
    page.click("a >> text=Kirjoita korjaus")
    page.fill("#amendment_reason", "Päiväkodin nimi oli väärin.")
    page.click("#save-draft")
    page.wait_for_selector("text=Tallennettu luonnoksena laitteelle.")
    wait_synced(page)
    reason = "Päiväkodin nimi oli väärin."
    ours = [d for d in _documents(app, app.files.single) if d.get("amendment_reason") == reason]
    assert len(ours) == 1 and ours[0]["amends"] == final["_id"]
    assert ours[0]["kind"] == "amendment" and ours[0]["state"] == "draft"
    assert app.web.site.records.read(app.files.single, final["_id"]) == final


def test_every_language_has_every_string():
    script = (
        "import('./server/field_app/static/js/i18n.mjs').then(({STRINGS}) =>"
        " console.log(JSON.stringify(Object.fromEntries("
        "Object.entries(STRINGS).map(([k, v]) => [k, Object.keys(v).sort()])))))"
    )
    keys = json.loads(subprocess.run(
        ["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout)  # fmt: skip
    assert keys["sv"] == keys["fi"] and keys["en"] == keys["fi"]
    assert len(keys["fi"]) > 150


WATCH_SYNC_BAR = """() => {
  window.syncBar = [];
  const bar = document.getElementById("sync");
  const note = () => window.syncBar.push({
    text: bar.innerText, progress: bar.querySelector("progress")?.value ?? null,
    max: bar.querySelector("progress")?.max ?? null,
  });
  new MutationObserver(note).observe(bar, { childList: true, subtree: true, characterData: true });
}"""


def test_the_first_pull_shows_its_progress_then_up_to_date(app, phone):
    page = phone

    def slow(route):  # a slow mobile network: the documents take a while to arrive
        page.wait_for_timeout(1000)
        route.continue_()

    page.route("**/_bulk_get*", slow)
    page.goto(app.url)
    page.wait_for_selector("#signin")
    page.evaluate(WATCH_SYNC_BAR)
    page.fill("#username", "aino")
    page.fill("#password", DEMO_PASSWORD)
    page.fill("#pin", PIN)
    page.fill("#pin2", PIN)
    page.click("#enrol")
    wait_synced(page)
    seen = page.evaluate("window.syncBar")
    bars = [s for s in seen if s["max"]]
    assert bars and "Haetaan tietoja" in bars[0]["text"]
    total = bars[0]["max"]
    assert total >= 10 and f"0 / {total}" in bars[0]["text"]
    assert bars[-1]["progress"] == total
    assert "Ajan tasalla" in seen[-1]["text"] and seen[-1]["max"] is None


def test_pair_work_offline_merges_and_a_collision_names_both_on_both_phones(app, browser):
    contexts = {
        name: browser.new_context(locale="fi-FI", viewport=PHONE) for name in ("aino", "bertil")
    }
    pages = {name: context.new_page() for name, context in contexts.items()}
    try:
        for name, page in pages.items():
            enrol(page, app, name)
        aino, bertil = pages["aino"], pages["bertil"]
        aino.goto(f"{app.url}#/note/new/{app.files.single}")
        aino.fill("#discussion", "Isä kertoi iltojen sujuvan. Lapsi nukahti ajoissa.")
        aino.click("#save-draft")
        aino.wait_for_selector("text=Tallennettu luonnoksena laitteelle.")
        note_id = aino.url.rsplit("/", 1)[-1]
        wait_synced(aino)
        bertil.goto(f"{app.url}#/note/{note_id}")
        bertil.wait_for_selector("#discussion >> text=Lapsi nukahti ajoissa.")  # live sync

        for name, text in (("aino", AINO_PAIR), ("bertil", BERTIL_PAIR)):
            contexts[name].set_offline(True)
            page = pages[name]
            page.goto(f"{app.url}#/note/{note_id}/edit")
            page.fill("#discussion", f"{text} Lapsi nukahti ajoissa.")
            page.click("#save-draft")
            page.wait_for_selector("text=Tallennettu luonnoksena laitteelle.")
        for name in ("aino", "bertil"):
            contexts[name].set_offline(False)
            wait_synced(pages[name])
        for page in pages.values():  # the merge arrives at the next pull
            page.goto(f"{app.url}#/reconcile/{note_id}")
            page.wait_for_selector("section[id^=item-]", timeout=30_000)
        texts = {name: page.inner_text("section[id^=item-]") for name, page in pages.items()}
        other = {"aino": "Bertil Handledare", "bertil": "Aino Ohjaaja"}
        for name, text in texts.items():
            assert AINO_PAIR in text and BERTIL_PAIR in text
            assert "sinä" in text and other[name] in text, (name, text)
        server = app.web.site.records.read(app.files.single, note_id)
        assert AINO_PAIR in server["discussion"] and BERTIL_PAIR in server["discussion"]
        for page in pages.values():  # both phones hold the same merged note
            page.goto(f"{app.url}#/note/{note_id}")
            page.wait_for_selector("#discussion")
            assert page.inner_text("#discussion").strip() == server["discussion"].strip()
        assert [i["kind"] for i in server["reconciliation"]] == ["text"]

        # Bertil acknowledges it in his own name; nothing else changes.
        bertil.goto(f"{app.url}#/reconcile/{note_id}")
        bertil.wait_for_selector("section[id^=item-]")
        bertil.click("button >> text=Kuittaa nähdyksi omissa nimissäni")
        bertil.wait_for_selector("#no-items")
        wait_synced(bertil)
        after = app.web.site.records.read(app.files.single, note_id)
        [item] = after["reconciliation"]
        assert [a["by"] for a in item["acknowledged"]] == [app.web.worker("bertil")["id"]]
        assert after["discussion"] == server["discussion"]
        assert after["updated_by"] == server["updated_by"]
    finally:
        for context in contexts.values():
            context.close()
