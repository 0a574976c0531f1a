"""The front page in headless Chromium: a supervisor's team overview (per worker, open
cases by status, visits this week, drafts older than 3 working days, open
reconciliation items from a real pair-work merge, each device's last sync after it
pulled; the team's totals; the caseload chart with the same numbers), no access log
entry for counts, and an instructor's own caseload and today's visits, logged."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sync.crypto import DeviceKeys
from tests.support.browser import axe_violations, screenshot
from tests.support.team import add_team, device, note, open_case, visit
from tests.support.web import demo_web, log_in

HELSINKI = ZoneInfo("Europe/Helsinki")
# Thursday after Epiphany (Wed 6.1.) and New Year's Day (Fri 1.1.): three working days
# back are 5.1., 4.1. and 31.12., so a draft about 31.12. is not late, one about 30.12. is.
TODAY = date(2027, 1, 7)
CLOCK = iter(f"2027-01-07T12:{m:02d}:00Z" for m in range(60))


def at(day: int, hour: int, month: int = 1, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, tzinfo=HELSINKI)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with demo_web(tmp_path_factory.mktemp("overview")) as served:
        served.app.config["SOPU_TODAY"] = lambda: TODAY
        served.people = people = add_team(
            served,
            "Perhetyö Länsi",
            ("liisa", "Liisa Lähiesihenkilö"),
            [("olli", "Olli Ohjaaja"), ("pia", "Pia Perheohjaaja"), ("ville", "Ville Vuorela")],
        )
        served.cases = cases = {
            "a": open_case(served, people, "liisa", "Aaltonen", TODAY, "active", ("olli",)),
            "b": open_case(served, people, "liisa", "Virtanen", TODAY, "assessment",
                           ("olli", "pia")),
            "c": open_case(served, people, "liisa", "Coskun", TODAY, "pending", ("pia",)),
            "d": open_case(served, people, "liisa", "Dahl", TODAY, "pending"),
            "e": open_case(served, people, "liisa", "Eskola", TODAY, "active", ("olli",)),
        }  # fmt: skip
        olli, pia = people["olli"], people["pia"]
        for day in (5, 11, 3):  # this week; next week; the Sunday before
            visit(served, cases["a"], olli, at(day, 10))
        visit(served, cases["a"], olli, at(31, 9, 12, 2026))  # last year
        served.today_visit = visit(served, cases["b"], olli, at(7, 10))
        visit(served, cases["b"], pia, at(8, 13))
        note(served, cases["a"], olli, "2026-12-30T15:00:00+02:00")  # late
        note(served, cases["a"], olli, "2026-12-31T09:00:00+02:00")  # 3 working days
        note(served, cases["a"], olli, "2026-12-20T09:00:00+02:00", final=True)
        note(served, cases["c"], pia, "2026-12-28T09:00:00+02:00")  # late
        note(served, cases["e"], olli, "2026-12-01T09:00:00+02:00")  # late, case closed:
        served.site.casework.close(cases["e"], TODAY, "goals_met", people["liisa"], TODAY)
        served.devices = _pair_work(served, tmp_path_factory.mktemp("phones"))
        served.site.devices.enrol(
            people["ville"], "Ville tabletti", DeviceKeys.generate().public().to_json(), "test"
        )
        yield served


def _pair_work(web, homes) -> dict:
    """Olli and Pia rewrite the same sentence of a note offline; the merge keeps both
    with a reconciliation item. Their phones have pulled and pushed: they synced."""
    case = web.cases["b"]
    text = "Äiti kertoi aamuista. Lapsi nukkuu huonosti."
    shared_id = note(web, case, web.people["olli"], "2027-01-07T09:00:00+02:00",
                     discussion=text)["_id"]  # fmt: skip
    phones = {name: device(web, homes, name, f"{name} puhelin") for name in ("olli", "pia")}
    for phone in phones.values():
        phone.pull()
    for name, sentence in (("olli", "Lapsi valvoo öisin."), ("pia", "Lapsi heräilee.")):
        doc = phones[name].read(shared_id)
        doc["discussion"] = doc["discussion"].replace("Lapsi nukkuu huonosti.", sentence)
        doc |= {"updated_by": web.people[name], "updated_at": next(CLOCK)}
        phones[name].write(doc, case)
    for _ in range(2):
        for phone in phones.values():
            phone.push()
            phone.pull()
    merged = web.site.records.read(case, shared_id)
    assert len(merged["reconciliation"]) == 1
    return {name: phone.state()["device_id"] for name, phone in phones.items()}


def counts(page, username: str) -> dict[str, str]:
    row = page.locator(f"tr[data-worker='{username}']")
    cells = row.locator("[data-count]")
    return {
        cells.nth(n).get_attribute("data-count"): cells.nth(n).inner_text().strip()
        for n in range(cells.count())
    }


def numbers(pending, assessment, active, visits, late, items) -> dict[str, str]:
    values = [pending, assessment, active, pending + assessment + active, visits, late, items]
    keys = ["pending", "assessment", "active", "open", "visits", "late_drafts", "items"]
    return dict(zip(keys, map(str, values), strict=True))


def test_the_supervisor_sees_each_workers_numbers_and_the_team_total(web, page):
    log_in(page, web, "liisa")
    assert page.url == f"{web.url}/" and page.inner_text("h1") == "Tiimin yleiskuva"
    assert "Perhetyö Länsi, viikko 4.1.2027–10.1.2027." in page.inner_text("main")
    assert counts(page, "olli") == numbers(0, 1, 1, visits=3, late=1, items=1)
    assert counts(page, "pia") == numbers(1, 1, 0, visits=2, late=1, items=1)
    assert counts(page, "ville") == numbers(0, 0, 0, visits=0, late=0, items=0)
    assert counts(page, "") == numbers(2, 1, 1, visits=3, late=2, items=1)  # each case once
    assert "1 avoimelle asiakkuudelle ei ole nimetty ketään." in page.inner_text("main")
    assert "koskee päivää 30.12.2026 tai aiempaa" in page.inner_text("main")
    assert [r.get_attribute("data-worker") for r in page.locator("tbody tr").all()] == [
        "olli", "pia", "ville"
    ]  # fmt: skip
    assert "aino" not in page.content()  # another team's worker

    synced = page.locator(f"[data-device='{web.devices['olli']}']").inner_text()
    assert synced.startswith("olli puhelin:")
    assert re.search(r"\d{1,2}\.\d{1,2}\.20\d\d \d{1,2}\.\d\d", synced), synced
    ville = page.locator("tr[data-worker='ville']").inner_text()
    assert "Ville tabletti: ei vielä synkronoitu" in ville

    titles = page.eval_on_selector_all("svg rect title", "ts => ts.map(t => t.textContent)")
    assert titles == [
        "Olli Ohjaaja, Palvelutarpeen arviointi: 1",
        "Olli Ohjaaja, Aktiivinen: 1",
        "Pia Perheohjaaja, Vireillä: 1",
        "Pia Perheohjaaja, Palvelutarpeen arviointi: 1",
    ]
    assert page.text_content("svg title#caseload-title") == (
        "Avoimet asiakkuudet työntekijöittäin tilan mukaan"
    )
    liisa = web.people["liisa"]
    assert web.site.access_log.entries(worker_id=liisa) == []  # counts, names: no client data
    assert axe_violations(page) == []
    screenshot(page, "overview-fi")
    for lang, heading in (("sv", "Teamets översikt"), ("en", "Team overview")):
        page.click(f"button[lang={lang}]")
        assert page.inner_text("h1") == heading
        assert counts(page, "olli") == numbers(0, 1, 1, visits=3, late=1, items=1)
        assert axe_violations(page) == []
        screenshot(page, f"overview-{lang}")


def test_an_instructor_sees_their_numbers_and_todays_visits_which_alone_are_logged(web, page):
    log_in(page, web, "olli")
    assert page.inner_text("h1") == "Oma työni"
    assert "Tänään on 7.1.2027." in page.inner_text("main")
    figures = page.locator("dl [data-count]")
    shown = {figures.nth(n).get_attribute("data-count"): figures.nth(n).inner_text()
             for n in range(figures.count())}  # fmt: skip
    assert shown == numbers(0, 1, 1, visits=3, late=1, items=1)

    visits = page.locator("table.sopu-visits tbody tr")
    assert visits.count() == 1  # not the one tomorrow, nor Pia's case's pending family
    assert visits.first.inner_text().split("\t") == [
        "10.00", "Virtanen", "Kotikäynti", "Suunniteltu"
    ]  # fmt: skip
    assert visits.first.locator("a").get_attribute("href") == f"/cases/{web.cases['b']}"
    for family in ("Aaltonen", "Coskun", "Dahl", "Eskola"):
        assert family not in page.content()  # no visit today: no name on the front page

    olli = web.people["olli"]
    reads = [e for e in web.site.access_log.entries(worker_id=olli) if e.action == "read"]
    b = web.site.cases.get(web.cases["b"])
    assert [(e.case_id, e.doc_ids, e.purpose) for e in reads] == [
        (b["id"], sorted([b["family_doc_id"], web.today_visit["_id"]]), "case_work")
    ]
    assert axe_violations(page) == []
    screenshot(page, "overview-own-fi")
