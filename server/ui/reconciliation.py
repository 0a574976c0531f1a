"""`/reconciliation`: the documents whose concurrent edits left open items, each item
with both versions side by side, both authors and times, and the ways to resolve it.

The list comes from the reconciliation index (`server.casework.reconciliation`, as
`GET /api/reconciliation`), narrowed to the cases the person may read: an instructor's
assigned cases, a supervisor's team's (and any assigned to them); an administrator sees
no client data here. Every document shown, the family document its case is known by
and any final amendment an item shows are written to the access log (purpose
`reconciliation`).

Only the instructors assigned to the case resolve its items (a supervisor on the case's
assignments too): the note is the record of work they did with the family, and only
they know which version is true. A supervisor sees the items and who is to resolve
them. A resolution is written by `server.casework.resolutions` through the sealed write
path and reaches every device at its next sync.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

from flask import redirect, request

from mobile_schema.base import open_items
from sync.crypto import CryptoError
from sync.store.errors import NotFound

from ..casework.resolutions import CHOICES, EDIT, ResolutionRefused, Resolutions
from ..errors import Forbidden, NotFoundError
from ..web.context import site, today
from . import reconciliation_view as view
from .blueprint import bp
from .i18n import N_, _
from .pages import logged_read, render, viewer

PURPOSE = "reconciliation"
ID = re.compile(r"[0-9a-f]{32}")
REFUSALS = {  # ResolutionRefused.reason → (status, what the worker reads)
    "item_closed": (409, N_("This item was already resolved or acknowledged meanwhile.")),
    "changed": (
        409,
        N_(
            "The document changed while you were editing it (a device synced). Your text "
            "was not saved: it is in the editor below; check the document again first."
        ),
    ),
    "conflict": (
        409,
        N_(
            "The document changed at the same moment (a device synced). Nothing was saved: "
            "check the item and choose again."
        ),
    ),
    "acknowledge_only": (400, N_("This item can only be acknowledged.")),
    "path_gone": (
        409,
        N_("The field this item names is no longer in the document: acknowledge the item."),
    ),
    "passages_moved": (
        409,
        N_(
            "The passages were edited after the merge, so neither can be kept as it was. "
            "Edit the text instead."
        ),
    ),
    "not_text": (400, N_("This field is not a text to edit.")),
    "unknown_choice": (400, N_("Choose one of the offered resolutions.")),
    "invalid": (400, N_("The result would not be a valid document (%(problems)s).")),
}


@dataclass
class DocumentView:
    case_id: str
    doc_id: str
    rev: str
    title: str
    changed_at: str
    changed_by: str
    items: list
    may_resolve: bool


@dataclass
class CaseView:
    case_id: str
    family: str
    instructors: list[str]
    may_resolve: bool
    documents: list[DocumentView] = field(default_factory=list)


@bp.get("/reconciliation")
def reconciliation():
    me = _reconciler()
    resolved = request.args.get("resolved") == "1"
    return render("reconciliation.html", cases=_open_cases(me), resolved=resolved)


@bp.get("/reconciliation/<case_id>/<doc_id>")
def reconciliation_document(case_id: str, doc_id: str):
    me = _reconciler(document=True)
    case = _readable_case(me, case_id)
    resolved = request.args.get("resolved") == "1"
    return _document_page(me, case, _read(case_id, doc_id), resolved=resolved)


@bp.post("/reconciliation/<case_id>/<doc_id>/<item_id>")
def resolve(case_id: str, doc_id: str, item_id: str):
    """One item resolved as the form says (choice: earlier, later, text, acknowledge)."""
    me = _reconciler(document=True)
    case = _readable_case(me, case_id)
    _read(case_id, doc_id)  # 404 for a document that is not there
    if not _may_resolve(me, case_id):
        raise Forbidden(_("Only the instructors assigned to the case resolve its items."))
    logged_read(case_id, [doc_id], PURPOSE)
    choice, text = request.form.get("choice", ""), request.form.get("text")
    resolutions = Resolutions(site().records, site().reconciliation, site().audit)
    try:
        resolutions.resolve(
            case_id, doc_id, item_id, choice if choice in CHOICES else "?", me["id"],
            seen_rev=request.form.get("rev"), text=text,
        )  # fmt: skip
    except ResolutionRefused as exc:
        status, message = REFUSALS.get(exc.reason, REFUSALS["unknown_choice"])
        problems = ", ".join(
            f"{path or '/'} {code}" for path, code in exc.details.get("problems", [])
        )
        drafts = {item_id: text} if choice == EDIT and text is not None else {}
        doc = _read(case_id, doc_id)
        error = _(message, problems=problems) if exc.reason == "invalid" else _(message)
        return _document_page(me, case, doc, status, error=error, drafts=drafts)
    if request.form.get("back") == "list":
        return redirect("/reconciliation?resolved=1", 303)
    return redirect(f"/reconciliation/{case_id}/{doc_id}?resolved=1", 303)


def _reconciler(document: bool = False) -> dict:
    """Instructors and supervisors; an administrator sees no client data (the list
    says so, a document is not found)."""
    me = viewer()
    if me["role"] == "admin":
        if document:
            raise NotFoundError("administrators see no client documents")
        raise Forbidden(_("Reconciliation shows client data, which administrators do not see."))
    return me


def _readable_case(me: dict, case_id: str) -> dict:
    """The case, if this person may read it; otherwise not found (never confirm it)."""
    if not ID.fullmatch(case_id):
        raise NotFoundError("no such case")
    case = site().cases.get(case_id)
    if case["shredded_at"] or not site().cases.may_read(me, case, today()):
        raise NotFoundError(f"no case {case_id}")
    return case


def _read(case_id: str, doc_id: str) -> dict:
    if not ID.fullmatch(doc_id):
        raise NotFoundError("no such document")
    try:
        return site().records.read(case_id, doc_id)
    except (NotFound, CryptoError):
        raise NotFoundError(f"no document {doc_id} in case {case_id}") from None


def _may_resolve(me: dict, case_id: str) -> bool:
    return me["role"] != "admin" and site().cases.is_assigned(me["id"], case_id, today())


def _document_page(me, case, doc, status=200, error=None, drafts=None, resolved=False):
    shown = _case_view(me, case, [doc])
    return render(
        "reconciliation_document.html",
        status,
        case=shown,
        document=shown.documents[0],
        error=error,
        drafts=drafts or {},
        resolved=resolved,
    )


def _open_cases(me: dict) -> list[CaseView]:
    """The person's cases with documents that hold open items, in the index's order."""
    cases = {c["id"]: c for c in site().cases.visible(me, None, today()) if not c["shredded_at"]}
    by_case: dict[str, list[dict]] = {}
    for row in site().reconciliation.open_items(list(cases)):
        try:
            doc = site().records.read(row["case_id"], row["doc_id"])
        except (NotFound, CryptoError):
            continue  # deleted or shredded since it was indexed
        if open_items(doc):
            by_case.setdefault(row["case_id"], []).append(doc)
    return [_case_view(me, cases[case_id], docs) for case_id, docs in by_case.items()]


def _case_view(me: dict, case: dict, docs: list[dict]) -> CaseView:
    """One case's documents as the page shows them; everything opened is logged."""
    case_id = case["id"]
    family, family_doc_id = _family(case)
    others = _amendments(case_id, docs)
    shown = [d["_id"] for d in docs] + list(others) + ([family_doc_id] if family_doc_id else [])
    logged_read(case_id, shown, PURPOSE)
    names = _names()
    may = _may_resolve(me, case_id)
    out = CaseView(case_id, family, _instructors(case_id), may)
    for doc in docs:
        out.documents.append(
            DocumentView(
                case_id=case_id,
                doc_id=doc["_id"],
                rev=doc.get("_rev", ""),
                title=view.doc_title(doc),
                changed_at=doc.get("updated_at", ""),
                changed_by=names(doc.get("updated_by", "")),
                items=view.item_views(doc, names, others),
                may_resolve=may,
            )
        )
    return out


def _family(case: dict) -> tuple[str, str | None]:
    """The name the family is known by, and its document's id when that was shown."""
    doc = None
    if case.get("family_doc_id"):
        with contextlib.suppress(NotFound, CryptoError):
            doc = site().records.read(case["id"], case["family_doc_id"])
    name = _family_name(doc) if doc else None
    if name:
        return name, doc["_id"]
    return _("Family of case %(case)s", case=case["id"][:8]), None


def _family_name(doc: dict) -> str | None:
    """The display name, else the members' family names (the field is optional)."""
    surnames = dict.fromkeys(m["family_name"] for m in doc["members"] if m.get("family_name"))
    return doc.get("display_name") or " / ".join(surnames) or None


def _amendments(case_id: str, docs: list[dict]) -> dict[str, dict]:
    """The final amendments that `finalised_twice` items show beside the note."""
    out = {}
    for doc in docs:
        for doc_id in filter(ID.fullmatch, view.named_documents(doc)):
            try:
                out[doc_id] = site().records.read(case_id, doc_id)
            except (NotFound, CryptoError):
                continue
    return out


def _instructors(case_id: str) -> list[str]:
    assignments = site().cases.current_assignments(case_id, today())
    return [site().accounts.get(a["worker_id"])["display_name"] for a in assignments]


def _names():
    """Worker id → display name, remembered for the request (an unknown id says so)."""
    known: dict[str, str] = {}

    def name(worker_id: str) -> str:
        if worker_id not in known:
            try:
                known[worker_id] = site().accounts.get(worker_id)["display_name"]
            except NotFoundError:
                known[worker_id] = _("unknown worker %(id)s", id=worker_id[:8])
        return known[worker_id]

    return name
