"""`/cases/<case_id>`: the case page — the family, the workers, the status history, the
timeline of visits and notes, the service-need assessment, the client plan, consents.

Who sees it: the same rule as the API (`Cases.may_read`): a supervisor their team's
cases, an instructor the cases assigned to them today. A case one may not read, and
every case for an administrator (who sees no client content), is "not found" — never
"forbidden", which would confirm the case exists.

The whole case file is decrypted for the one response (`server.casework.case_file`)
and the page writes one access log entry naming every document it opened, with the
purpose: `case_work` for an instructor, `supervision` for a supervisor.
"""

from __future__ import annotations

from ..access_log import ROLE_PURPOSES
from ..casework.case_file import CaseFile, CaseFiles, readable_case
from ..casework.status_history import status_history
from ..web.context import site, today
from . import case_consents, case_plan, case_view
from .blueprint import bp
from .pages import logged_read, render, viewer

# The documents whose changes the page lists (the case and family documents' changes
# are the status history and the family section).
WITH_HISTORY = ("assessment", "plan", "visit", "note", "consent")


@bp.get("/cases/<case_id>")
def case_page(case_id: str):
    me = viewer()
    case = readable_case(site().cases, me, case_id, today())
    files = CaseFiles.of(site())
    file = files.open(case["id"])
    histories = {
        doc["_id"]: files.history(case["id"], doc["_id"])
        for doc in file.documents
        if doc["type"] in WITH_HISTORY
    }
    logged_read(case["id"], file.doc_ids, ROLE_PURPOSES[me["role"]])
    legal = _legal(case, file, histories, me)
    return render("case.html", **_page(case, file, histories), legal=legal)


def _page(case: dict, file: CaseFile, histories: dict) -> dict:
    """Everything the template prints, in words (`case_view`, `case_plan`)."""
    day = today()
    names = case_view.worker_names(site().accounts.get)
    members = case_view.member_names(file)
    context = case_view.Context(names, members, file, histories)
    case_doc = file.get(case["id"])
    steps = status_history(case, case_doc, site().audit.entries(subject=case["id"]))
    return {
        "case": case,
        "case_doc": case_doc or {},
        "family": case_view.family_name(file),
        "members": case_view.members(file),
        "assignments": case_view.assignment_rows(site().cases.assignments(case["id"]), names, day),
        "statuses": case_view.status_rows(steps, names),
        "timeline": case_view.timeline(file, context),
        "assessment": case_plan.assessment_section(file, members, names, histories, day),
        "plans": case_plan.plan_views(file, names, histories, day),
        "open_items": sum(row["items"] for row in site().reconciliation.open_items([case["id"]])),
        "unreadable": len(file.unreadable),
        "labels": _labels(),
    }


def _legal(case: dict, file: CaseFile, histories: dict, me: dict) -> dict:
    """Consents with their lifecycle, the disclosure log and their forms (`case_consents`)."""
    return case_consents.section(case, file, histories, me, today())


def _labels() -> dict:
    """The label tables the templates translate (`_(labels.x[code])`)."""
    return {
        "statuses": case_view.CASE_STATUSES,
        "tasks": case_view.SERVICE_TASKS,
        "consent_states": case_view.CONSENT_STATES,
        "raters": case_plan.RATERS,
    }
