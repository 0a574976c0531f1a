"""`/cases/<id>/assessment/client-copy`: the client's copy of the service-need
assessment summary, a printable page in Finnish or Swedish.

The family's right to their own record: the summary of the latest assessment as the
family may read it — when it started and was completed, the client's own view, each
child's own view, the worker's conclusions and the three conclusions the law asks for
(urgent need, need for child protection, an own worker). Never the concern zone
(huolen vyöhykkeistö): it is the worker's private reflection aid (`mobile_schema.
assessment`), not a finding about the family, and it appears only on the case page.

`?lang=fi|sv` chooses the language of the copy; by default the family's language (the
first guardian's first language that is Finnish or Swedish, else Finnish), whatever
language the worker's own pages are in. The case's supervisor and its instructors may
print it (`readable_case`; anyone else: 404). Opening the copy records a disclosure to
the client (`site.disclosures`, basis `client`, naming the assessment and the family's
members) and the read in the access log (`case_work` or `supervision`).
"""

from __future__ import annotations

from flask import g, request

from ..access_log import ROLE_PURPOSES
from ..casework.case_file import CaseFile, CaseFiles, readable_case
from ..errors import NotFoundError
from ..web.context import site, today
from .blueprint import bp
from .case_view import family_name, member_names
from .i18n import N_
from .pages import logged_read, render, viewer

LANGUAGES = ("fi", "sv")
CONCLUSIONS = {
    "urgent_need": N_("Urgent need"),
    "child_protection_need": N_("Need for child protection"),
    "own_worker_needed": N_("Own worker needed"),
}
RECIPIENT = "asiakas / klienten"  # the client themselves (fi / sv): no service's name


@bp.get("/cases/<case_id>/assessment/client-copy")
def client_copy(case_id: str):
    me = viewer()
    case = readable_case(site().cases, me, case_id, today())
    files = CaseFiles.of(site())
    family = files.open(case["id"], "family")
    assessments = files.open(case["id"], "assessment")
    doc = latest(assessments.documents)
    if doc is None:
        raise NotFoundError(f"case {case_id} has no assessment yet")
    language = copy_language(request.args.get("lang"), family)
    site().disclosures.record(
        me["id"], case["id"], recipient=RECIPIENT, basis="client",
        doc_ids=[doc["_id"]], member_ids=[m["id"] for m in _members(family)], today=today(),
    )  # fmt: skip
    logged_read(case["id"], [doc["_id"], *family.doc_ids], ROLE_PURPOSES[me["role"]])
    g.ui_language = language  # the copy speaks the family's language, not the worker's
    members = member_names(family)
    return render(
        "client_copy.html",
        copy_lang=language,
        other_lang=next(code for code in LANGUAGES if code != language),
        case_id=case["id"],
        family=family_name(family),
        a=summary(doc, members),
        given_on=today(),
    )


def _members(family: CaseFile) -> list[dict]:
    return [m for doc in family.documents for m in doc.get("members") or [] if m.get("id")]


def latest(docs: list[dict]) -> dict | None:
    """The assessment begun last (the one the family is living with now)."""
    ordered = sorted(docs, key=lambda d: (d.get("started_on") or "", d.get("updated_at") or ""))
    return ordered[-1] if ordered else None


def copy_language(asked: str | None, family: CaseFile) -> str:
    if asked in LANGUAGES:
        return asked
    for doc in family.documents:
        for member in doc.get("members") or []:
            if member.get("role") != "guardian":
                continue
            for code in member.get("languages") or []:
                if code in LANGUAGES:
                    return code
    return "fi"


def summary(doc: dict, members: dict[str, str]) -> dict:
    """What the copy prints: the case page's view of the assessment, minus the concern
    zone (left out here, so no template can show it by mistake)."""
    return {
        "started_on": doc.get("started_on"),
        "completed_on": doc.get("completed_on"),
        "client_view": doc.get("client_view"),
        "child_views": [
            (members.get(v.get("member_id"), ""), v.get("view", ""))
            for v in doc.get("child_views") or []
        ],
        "worker_conclusions": doc.get("worker_conclusions"),
        "conclusions": [
            (CONCLUSIONS[key], doc.get(key)) for key in CONCLUSIONS if doc.get(key) is not None
        ],
    }
