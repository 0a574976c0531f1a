"""The case page's consents and disclosures: each consent with its lifecycle and
changes, the case's disclosure log, and the forms that give or withdraw a consent and
record a disclosure.

The forms are for the instructors assigned to the case today (a supervisor reads),
and do what the API does (`site.consents`, `site.disclosures`): a consent is a sealed
document that reaches the devices at their next sync; a disclosure whose consent does
not hold is refused with its reason in words. Every answer to a form is a redirect
back to the case page with the outcome, so reloading never sends a form twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from flask import redirect, request

from mobile_schema import DocumentInvalid
from mobile_schema.consent import SERVICE_KINDS

from ..casework.access_reports import document_ref
from ..casework.case_file import CaseFile, CaseFiles, readable_case
from ..casework.consents import consent_history, state_on
from ..disclosure_log import check_documents
from ..errors import DomainError, Forbidden, InvalidInput
from ..legal.disclosures import STATUTES
from ..web.context import site, today
from . import case_view, i18n
from .blueprint import bp
from .formats import as_date
from .i18n import N_, _
from .pages import viewer

BASES = {
    "consent": N_("On the client's consent"),
    "statute": N_("On a statutory basis"),
    "client": N_("A copy to the client"),
}
DOC_TYPES = {
    "case": N_("Case details"),
    "family": N_("Family details"),
    "assessment": N_("Service need assessment"),
    "plan": N_("Client plan"),
    "visit": N_("Visit"),
    "note": N_("Note"),
    "consent": N_("Consent"),
    "unavailable": N_("A document no longer available"),
}
# What the page says after a form (`?legal=`), and why a form was refused.
OUTCOMES = {
    "given": N_("The consent was recorded."),
    "withdrawn": N_("The withdrawal of the consent was recorded."),
    "disclosed": N_("The disclosure was recorded in the disclosure log."),
    "consent_missing": N_("Choose a consent of this case."),
    "consent_not_yet_valid": N_("The consent was not yet in force on that day."),
    "consent_expired": N_("The consent had expired by that day."),
    "consent_withdrawn": N_("The consent had been withdrawn by that day."),
    "consent_out_of_scope": N_(
        "The consent does not cover this recipient: it names another service."
    ),
    "consent_already_withdrawn": N_("The consent had already been withdrawn."),
    "unknown_statute": N_("Choose a statutory basis from the list."),
    "invalid_input": N_("Check the fields of the form."),
    "doc_validation": N_("Check the fields of the form."),
}
REFUSED = {k for k in OUTCOMES if k not in ("given", "withdrawn", "disclosed")}
# A refused form's field (`?field=`), by the label the form shows it with.
FIELD_LABELS = {
    "service_name": N_("Service"),
    "service_kind": N_("Kind of service"),
    "scope": N_("Scope: what may be shared, in the client's words"),
    "given_by": N_("Given by"),
    "valid_from": N_("Valid from"),
    "valid_to": N_("Valid until (optional)"),
    "withdrawn_by": N_("Withdrawn by"),
    "recipient": N_("Recipient service"),
    "basis": N_("Basis"),
    "consent_id": N_("Consent (on the client's consent)"),
    "statute": N_("Provision (on a statutory basis)"),
    "doc_ids": N_("Documents disclosed"),
    "member_ids": N_("About whom"),
    "disclosed_on": N_("Disclosed on"),
}


@dataclass
class Event:
    event: str  # given, withdrawn
    at: str | None
    recorded_by: str
    guardian: str | None


@dataclass
class ConsentView:
    id: str
    service: str
    kind: str
    scope: str
    given_by: str | None
    valid_from: str
    valid_to: str | None
    withdrawn_at: str | None
    state: str
    events: list[Event] = field(default_factory=list)
    history: list = field(default_factory=list)


@dataclass
class DisclosureView:
    disclosed_on: str
    recipient: str
    basis: str
    basis_detail: str
    documents: list[str]
    members: list[str]
    by: str
    at: str


def section(case: dict, file: CaseFile, histories: dict, me: dict, day: date) -> dict:
    """Everything the consents and disclosures section prints, in words."""
    names = case_view.worker_names(site().accounts.get)
    members = case_view.member_names(file)
    events = site().consents.events(case["id"])
    consents = [
        _consent_view(row, names, members, histories, day)
        for row in consent_history(file, histories, events)
    ]
    log = site().disclosures.of_case(case["id"])
    titles = {doc["_id"]: document_title(doc) for doc in file.documents}
    services = {c.id: c.service for c in consents}
    outcome = request.args.get("legal", "")
    return {
        "consents": consents,
        "disclosures": [
            _disclosure_view(r, names, members, titles, services) for r in reversed(log)
        ],
        "may_record": site().cases.is_assigned(me["id"], case["id"], day),
        "guardians": _guardians(file),
        "documents": sorted(titles.items(), key=lambda item: item[1]),
        "members": sorted(members.items(), key=lambda item: item[1]),
        "statutes": [(code, statute_citation(code)) for code in STATUTES],
        "kinds": SERVICE_KINDS,
        "kind_labels": case_view.SERVICE_KINDS,
        "bases": BASES,
        "today": day.isoformat(),
        "notice": _notice(outcome, request.args.get("field", "")),
        "refused": outcome in REFUSED,
        "family_id": case["family_id"],
    }


def document_title(doc: dict) -> str:
    """A document by type and date ("Note 20.11.2026"), never its content."""
    ref = document_ref(CaseFile(doc.get("case_id") or "", [doc]), doc["_id"])
    label = _(DOC_TYPES.get(ref.type, ref.type))
    return f"{label} {as_date(ref.date)}".strip()


def statute_citation(code: str) -> str:
    """The provision in the reader's language (Swedish, else Finnish; English as is)."""
    statute = STATUTES.get(code)
    if statute is None:
        return code
    return {"sv": statute.sv, "en": statute.en}.get(i18n.current(), statute.fi)


@bp.post("/cases/<case_id>/consents")
def give_consent(case_id: str):
    case = _instructors_case(case_id)
    form = request.form
    details = {
        "service_kind": form.get("service_kind", ""),
        "service_name": form.get("service_name", "").strip(),
        "scope": form.get("scope", "").strip(),
        "given_by": form.get("given_by", ""),
        "valid_from": form.get("valid_from", ""),
        "valid_to": form.get("valid_to", ""),
    }
    return _outcome(case_id, "given", lambda: site().consents.give(case["id"], viewer()["id"],
                                                                   details))  # fmt: skip


@bp.post("/cases/<case_id>/consents/<consent_id>/withdraw")
def withdraw_consent(case_id: str, consent_id: str):
    case = _instructors_case(case_id)
    guardian = request.form.get("withdrawn_by") or None
    return _outcome(
        case_id, "withdrawn",
        lambda: site().consents.withdraw(case["id"], consent_id, viewer()["id"], guardian),
    )  # fmt: skip


@bp.post("/cases/<case_id>/disclosures")
def record_disclosure(case_id: str):
    case = _instructors_case(case_id)
    form = request.form
    basis = form.get("basis", "")

    def record():
        doc_ids, member_ids = form.getlist("doc_ids"), form.getlist("member_ids")
        check_documents(CaseFiles.of(site()).open(case["id"]), doc_ids, member_ids)
        site().disclosures.record(
            viewer()["id"], case["id"],
            recipient=form.get("recipient", ""), basis=basis,
            doc_ids=doc_ids, member_ids=member_ids,
            consent_id=(form.get("consent_id") or None) if basis == "consent" else None,
            statute=(form.get("statute") or None) if basis == "statute" else None,
            disclosed_on=_day(form.get("disclosed_on")), today=today(),
        )  # fmt: skip

    return _outcome(case_id, "disclosed", record)


def _instructors_case(case_id: str) -> dict:
    me = viewer()
    case = readable_case(site().cases, me, case_id, today())
    if not site().cases.is_assigned(me["id"], case["id"], today()):
        raise Forbidden(_("Only the instructors of the case record consents and disclosures."))
    return case


def _outcome(case_id: str, done: str, action):
    """Do it, then back to the case's consents with what happened (or why not)."""
    query = {}
    try:
        action()
        query["legal"] = done
    except Forbidden:
        raise
    except DocumentInvalid as exc:
        query["legal"] = "doc_validation"
        query["field"] = exc.problems[0].path.strip("/").split("/")[0] if exc.problems else ""
    except DomainError as exc:
        query["legal"] = exc.code if exc.code in OUTCOMES else "invalid_input"
        query["field"] = exc.details.get("field") or ""
    if query.get("field") not in FIELD_LABELS:
        query.pop("field", None)
    anchor = "#disclosures" if done == "disclosed" else "#consents"
    return redirect(f"/cases/{case_id}?{urlencode(query)}{anchor}", 303)


def _notice(outcome: str, field: str) -> str | None:
    """What happened, and for a refusal the field to check, by its label on the form."""
    if outcome not in OUTCOMES:
        return None
    notice = _(OUTCOMES[outcome])
    if outcome in REFUSED and field in FIELD_LABELS:
        notice += " " + _("The field to check: %(field)s.", field=_(FIELD_LABELS[field]))
    return notice


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("disclosed_on is not a date", field="disclosed_on") from None


def _consent_view(row: dict, names, members: dict, histories: dict, day: date) -> ConsentView:
    doc = row["consent"]
    return ConsentView(
        id=doc["_id"],
        service=doc.get("service_name") or "",
        kind=case_view.SERVICE_KINDS.get(doc.get("service_kind"), doc.get("service_kind", "")),
        scope=doc.get("scope", ""),
        given_by=members.get(doc.get("given_by") or ""),
        valid_from=doc.get("valid_from", ""),
        valid_to=doc.get("valid_to"),
        withdrawn_at=doc.get("withdrawn_at"),
        state=state_on(doc, day),
        events=[
            Event(e["event"], e["at"], names(e["recorded_by"]), members.get(e["guardian"] or ""))
            for e in row["events"]
        ],
        history=case_view.changes(histories.get(doc["_id"], []), names),
    )


def _disclosure_view(
    row: dict, names, members: dict, titles: dict, services: dict
) -> DisclosureView:
    detail = ""
    if row["basis"] == "statute":
        detail = statute_citation(row["statute"])
    elif row["basis"] == "consent":
        detail = _("consent to %(service)s", service=services.get(row["consent_id"], "—"))
    return DisclosureView(
        disclosed_on=row["disclosed_on"],
        recipient=row["recipient"],
        basis=row["basis"],
        basis_detail=detail,
        documents=[titles.get(d, _(DOC_TYPES["unavailable"])) for d in row["doc_ids"]],
        members=[members.get(m, _("family member")) for m in row["member_ids"]],
        by=names(row["worker_id"]),
        at=row["at"],
    )


def _guardians(file: CaseFile) -> list[tuple[str, str]]:
    names = case_view.member_names(file)
    return [
        (m["id"], names[m["id"]])
        for doc in file.of_type("family")
        for m in doc.get("members") or []
        if m.get("role") == "guardian" and m.get("id") in names
    ]
