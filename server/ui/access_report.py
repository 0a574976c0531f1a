"""`/families/<family_id>/access-report`: the client's access report as a printable page,
in Finnish or Swedish — the family's language by default (the first of Finnish or
Swedish its guardians, then its children, speak), a switch to the other.

The same report as `GET /api/families/<id>/access-report` (`site.access_reports`: who
may ask, what it covers, logged with the purpose `client_report`), in words: what
happened, who (name and role), when (a device-side view with the device's time and
the upload time), which documents (type and date), and on what basis. A period and a
family member can be chosen; a bad date is said on the page, never guessed around.
"""

from __future__ import annotations

from flask import g, request

from ..casework.case_file import CaseFile, CaseFiles
from ..errors import InvalidInput
from ..legal.access_report import KINDS, default_period, parse_period
from ..web.context import site, today
from . import case_view
from .blueprint import bp
from .case_consents import DOC_TYPES, statute_citation
from .i18n import N_, _
from .pages import render, viewer

LANGUAGES = {"fi": "Suomi", "sv": "Svenska"}
KIND_LABELS = {
    "read": N_("Read on the web"),
    "delivered": N_("Delivered to a device"),
    "viewed": N_("Viewed on a device"),
    "changed": N_("Changed"),
    "disclosed": N_("Disclosed"),
}
ROLES = {
    "worker": N_("Instructor"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Administrator"),
    "system": N_("The system"),
    "unknown": N_("Unknown"),
}
BASES = {
    "case_work": N_("Case work"),
    "supervision": N_("Supervision"),
    "reconciliation": N_("Reconciling concurrent edits"),
    "integration": N_("Read by an integrated system"),
    "client_report": N_("Producing the client's access report"),
    "statistics": N_("Counted for a statutory report"),
    "own_worker": N_("Own worker of the case"),
    "pair_worker": N_("Pair worker of the case"),
    "substitute": N_("Substitute on the case"),
    "consent": N_("The client's consent"),
    "statute": N_("Statutory basis"),
    "client": N_("A copy to the client"),
}


@bp.get("/families/<family_id>/access-report")
def access_report_page(family_id: str):
    me = viewer()
    day = today()
    cases = site().access_reports.readable_cases(family_id, me, day)  # 404 for anyone else
    family = _family_document(cases)
    g.ui_language = _language(request.args.get("lang"), family)
    error = None
    try:
        start, end = parse_period(request.args.get("from"), request.args.get("to"), day)
    except InvalidInput:
        error = _("Choose the period with valid dates, the first day not after the last.")
        start, end = default_period(day)
    members = case_view.member_names(CaseFile("", [family])) if family else {}
    member = request.args.get("member") or None
    if member not in members:
        if member:  # never the whole family's report mistaken for one member's
            error = _(
                "“Family member”: that person is not a member of this family. This is the "
                "report of the whole family."
            )
        member = None
    report = site().access_reports.produce(family_id, me, start, end, day, member_id=member)
    return render(
        "access_report.html",
        family_id=family_id,
        family_name=(family or {}).get("display_name") or _("Family"),
        report=report,
        members=sorted(members.items(), key=lambda item: item[1]),
        member=member,
        member_name=members.get(member or ""),
        error=error,
        report_languages=LANGUAGES,
        kinds=KINDS,
        labels={"kinds": KIND_LABELS, "roles": ROLES, "bases": BASES, "types": DOC_TYPES},
        statute=statute_citation,
    )


def _family_document(cases: list[dict]) -> dict | None:
    """The latest family document among the readable cases (shown on the page only;
    the report's own access log entry names it)."""
    files = CaseFiles.of(site())
    docs = [doc for case in cases for doc in files.open(case["id"], "family").documents]
    return max(docs, key=lambda d: d.get("updated_at") or "", default=None)


def _language(asked: str | None, family: dict | None) -> str:
    """The language asked for, else the family's: guardians first, then the others."""
    if asked in LANGUAGES:
        return asked
    members = sorted((family or {}).get("members") or [], key=lambda m: m.get("role") != "guardian")
    for member in members:
        for language in member.get("languages") or []:
            if language in LANGUAGES:
                return language
    return "fi"
