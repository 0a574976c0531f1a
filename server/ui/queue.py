"""`/queue`: the matters waiting for or in their service-need assessment, oldest first,
each with its statutory deadlines (SHL 36 §) and the working days left of them.

A supervisor sees their team's pending and assessment cases and assigns an own worker
from here; an instructor sees the cases assigned to them. Filtering (by own worker and
status) uses the directory only, so a case filtered out is never decrypted; each case
shown opens its case and family documents and is written to the access log with them.
Assigning goes through the same service and audit as `POST /api/cases/<id>/assignments`.
"""

from __future__ import annotations

import contextlib
from datetime import date
from urllib.parse import urlencode

from flask import redirect, request

from sync.store.errors import NotFound

from ..access_log import ROLE_PURPOSES
from ..errors import CaseClosed, ConflictError, Forbidden, NotFoundError
from ..web.context import site, today
from .blueprint import bp
from .i18n import N_, _
from .pages import logged_read, render, viewer
from .queue_rows import QueueRow, oldest_first, queue_row

STATUSES = {"pending": N_("Pending"), "assessment": N_("Assessment")}
WITHOUT_OWN_WORKER = "none"  # the worker filter's value for "nobody yet"
# Why an assignment from the queue was refused (`?refused=` after the redirect).
REFUSALS = {
    "not_instructor": N_("Choose an instructor of the team."),
    "has_own_worker": N_("The case already has an own worker."),
    "already_working": N_("This instructor already works on the case; choose another."),
    "closed": N_("The case is closed; nobody can be assigned to it."),
}


@bp.get("/queue")
def queue():
    me = _queue_viewer()
    notice = _assigned_notice(me, request.args.get("assigned"))
    refusal = REFUSALS.get(request.args.get("refused", ""))
    return _page(me, _filters(request.args), notice=notice, error=refusal and _(refusal))


@bp.post("/queue/<case_id>/own-worker")
def assign_own_worker(case_id: str):
    """Make a team instructor the case's own worker (a supervisor of the case's team).

    The answer is always a redirect to the queue (its filters kept), with who was
    assigned or why not, so reloading the page never sends the form again.
    """
    me = _queue_viewer()
    case = site().cases.get(case_id)
    if not site().cases.may_read(me, case, today()):
        raise NotFoundError(f"no case {case_id}")  # never confirm another team's case
    if not site().cases.may_manage(me, case):
        raise Forbidden(_("Only a supervisor of the case's team assigns its workers."))
    filters = _filters(request.form)
    worker_id = request.form.get("worker_id", "")
    if worker_id not in {w["id"] for w in site().accounts.instructors(case["team_id"])}:
        return _back(filters, refused="not_instructor")
    try:
        assignment = site().casework.assign(
            case_id, worker_id, "own_worker", me["id"], today=today()
        )
    except ConflictError as exc:  # the case changed meanwhile (another supervisor, closed)
        return _back(filters, refused=_refusal(exc))
    return _back(filters, assigned=assignment["id"])


def _back(filters: dict, **outcome: str):
    query = {k: v for k, v in filters.items() if v} | outcome
    return redirect(f"/queue?{urlencode(query)}", 303)


def _queue_viewer() -> dict:
    """Supervisors and instructors; an administrator sees no client data at all."""
    me = viewer()
    if me["role"] not in ROLE_PURPOSES:
        raise Forbidden(_("The queue shows client data, which administrators do not see."))
    return me


def _filters(values) -> dict:
    """The worker and status chosen in the filter form (anything else: no filter)."""
    status = values.get("status", "")
    return {
        "worker": values.get("worker", ""),
        "status": status if status in STATUSES else "",
    }


def _page(me: dict, filters: dict, notice: str | None = None, error: str | None = None):
    day = today()
    cases = [
        case
        for case in site().cases.visible(me, None, day)
        if case["status"] in STATUSES and not case["shredded_at"]
    ]
    owners = {case["id"]: _own_worker(case["id"], day) for case in cases}
    shown = [case for case in cases if _matches(case, owners[case["id"]], filters)]
    rows = [_read_row(me, case, owners[case["id"]], day) for case in shown]
    return render(
        "queue.html",
        rows=sorted(rows, key=oldest_first),
        assignable={case["id"] for case in shown if _assigns(me, case, owners[case["id"]])},
        filters=filters,
        filtered=any(filters.values()),
        statuses=STATUSES,
        instructors=site().accounts.instructors(me["team_id"]),
        without_own_worker=WITHOUT_OWN_WORKER,
        notice=notice,
        error=error,
    )


def _own_worker(case_id: str, day: date) -> dict | None:
    for assignment in site().cases.current_assignments(case_id, day):
        if assignment["role"] == "own_worker":
            return site().accounts.get(assignment["worker_id"])
    return None


def _matches(case: dict, owner: dict | None, filters: dict) -> bool:
    if filters["status"] and case["status"] != filters["status"]:
        return False
    if filters["worker"] == WITHOUT_OWN_WORKER:
        return owner is None
    return not filters["worker"] or (owner is not None and owner["id"] == filters["worker"])


def _read_row(me: dict, case: dict, owner: dict | None, day: date) -> QueueRow:
    """Open what the row shows (the case and family documents) and log exactly that."""
    docs = {}
    for doc_id in (case["id"], case["family_doc_id"]):
        if doc_id:
            with contextlib.suppress(NotFound):  # an older case without its documents
                docs[doc_id] = site().records.read(case["id"], doc_id)
    logged_read(case["id"], docs, ROLE_PURPOSES[me["role"]])
    row_docs = docs.get(case["id"]), docs.get(case["family_doc_id"])
    return queue_row(case, *row_docs, owner, day)


def _assigns(me: dict, case: dict, owner: dict | None) -> bool:
    """Whether the row gets the assign form: no own worker yet, and a supervisor's case."""
    return owner is None and me["role"] == "supervisor" and site().cases.may_manage(me, case)


def _assigned_notice(me: dict, assignment_id: str | None) -> str | None:
    """After an assignment: who became the own worker (only of a case this person sees)."""
    if not assignment_id:
        return None
    try:
        assignment = site().cases.assignment(assignment_id)
        case = site().cases.get(assignment["case_id"])
    except NotFoundError:
        return None
    if not site().cases.may_read(me, case, today()):
        return None
    worker = site().accounts.get(assignment["worker_id"])
    return _("%(worker)s is now the own worker of the case.", worker=worker["display_name"])


def _refusal(exc: ConflictError) -> str:
    """Which of REFUSALS the service's refusal is."""
    if isinstance(exc, CaseClosed):
        return "closed"
    return "already_working" if exc.details.get("field") == "worker_id" else "has_own_worker"
