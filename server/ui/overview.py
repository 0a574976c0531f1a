"""The front page: for a supervisor the team overview, for an instructor their own
caseload and today's visits, for an administrator the way to the administration.

The team overview is counts per worker (`casework.team_overview`: directory data and
indexes, nothing decrypted) with the names of workers and device labels: no client
data, so it writes no access log entry. The instructor's page is their own numbers
and today's visits: it opens the visit and family documents of those visits only and
logs them (purpose `case_work`).
"""

from __future__ import annotations

import contextlib
from datetime import date

from flask import redirect

from sync.store.errors import NotFound

from ..casework.team_overview import OPEN_STATUSES, TeamOverview
from ..web.context import site, today
from .blueprint import bp
from .case_view import VISIT_KINDS
from .caseload_chart import caseload_chart
from .i18n import N_
from .pages import logged_read, render, viewer

STATUS_LABELS = {
    "pending": N_("Pending"),
    "assessment": N_("Assessment"),
    "active": N_("Active"),
}
VISIT_STATUSES = {"planned": N_("Planned"), "done": N_("Done"), "cancelled": N_("Cancelled")}


@bp.get("/")
def overview():
    me = viewer()
    if me["role"] == "admin":
        return redirect("/admin", 303)
    service = TeamOverview(site().directory, site().notes)
    day = today()
    if me["role"] == "supervisor" and me["team_id"]:
        return _team_page(me, service, day)
    return _own_page(me, service, day)


def _team_page(me: dict, service: TeamOverview, day: date):
    numbers = service.of_team(me["team_id"], day)
    team = site().directory.one("SELECT name FROM teams WHERE id = ?", (me["team_id"],))
    chart = caseload_chart([(w.worker["display_name"], w.load.cases) for w in numbers.workers])
    return render(
        "overview.html",
        overview=numbers,
        team=team["name"] if team else "",
        chart=chart,
        statuses=OPEN_STATUSES,
        status_labels=STATUS_LABELS,
    )


def _own_page(me: dict, service: TeamOverview, day: date):
    """The instructor's numbers and today's visits. Only the visits name families: a
    page seen at every login reads no more client data than the day needs, so a
    family's access report is not filled with front-page views."""
    numbers = service.of_worker(me["id"], day)
    open_cases = [
        case
        for case in site().cases.find(ids=site().cases.of_worker(me["id"], day))
        if case["status"] in OPEN_STATUSES
    ]
    visits = _visits_on(day, [case["id"] for case in open_cases])
    shown = []
    for case in open_cases:
        todays = [_visit(case["id"], visit_id) for visit_id in visits.get(case["id"], [])]
        todays = [v for v in todays if v]
        if not todays:
            continue
        family, ids = _family(case)
        logged_read(case["id"], ids + [v["_id"] for v in todays], "case_work")
        shown += [{"visit": v, "family": family, "case_id": case["id"]} for v in todays]
    own = numbers.workers[0] if numbers.workers else None
    return render(
        "overview_own.html",
        load=own.load if own else None,
        devices=own.devices if own else [],
        visits=sorted(shown, key=lambda v: v["visit"]["starts_at"]),
        day=day,
        statuses=OPEN_STATUSES,
        status_labels=STATUS_LABELS,
        visit_kinds=VISIT_KINDS,  # the case page's words for them
        visit_statuses=VISIT_STATUSES,
    )


def _visits_on(day: date, case_ids: list[str]) -> dict[str, list[str]]:
    """Case id → its visits on `day` (the directory's `case_visits`; nothing decrypted)."""
    if not case_ids:
        return {}
    marks = ",".join("?" * len(case_ids))
    rows = site().directory.query(
        f"SELECT case_id, visit_id FROM case_visits WHERE day = ? AND case_id IN ({marks})"
        " ORDER BY visit_id",
        (day.isoformat(), *case_ids),
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["case_id"], []).append(row["visit_id"])
    return out


def _family(case: dict) -> tuple[str | None, list[str]]:
    """The family's name and the ids of what was opened to show it."""
    if not case["family_doc_id"]:
        return None, []
    try:
        doc = site().records.read(case["id"], case["family_doc_id"])
    except NotFound:
        return None, []
    return doc.get("display_name"), [case["family_doc_id"]]


def _visit(case_id: str, visit_id: str) -> dict | None:
    with contextlib.suppress(NotFound):  # deleted since: the day index keeps no tombstones
        return site().records.read(case_id, visit_id)
    return None
