"""What the case page shows of a case file, in words: the family, the workers, the
status history, the timeline of visits and notes, and the consents' states.

Documents name people by id (workers, family members); the page names them by name,
and says a visit's interpreter's language in the reader's language. Pure apart from
the names it is given: it reads nothing and logs nothing (`case.py` does both). The
assessment and the plan are `case_plan.py`; consents and disclosures `case_consents.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from babel import Locale, UnknownLocaleError

from mobile_schema.base import open_items

from ..casework.case_file import CaseFile, Revision, TimelineEntry
from ..casework.cases import in_force
from ..casework.status_history import StatusStep
from ..errors import NotFoundError
from . import i18n
from .i18n import N_, _

Names = Callable[[str | None], str]
ID = re.compile(r"[0-9a-f]{32}")

CASE_STATUSES = {
    "pending": N_("Pending"),
    "assessment": N_("Assessment"),
    "active": N_("Active client"),
    "closed": N_("Closed"),
}
SERVICE_TASKS = {
    "family_social_guidance": N_("Social guidance for families with children"),
    "family_guidance": N_("Family guidance"),
    "early_support_family_work": N_("Early support family work"),
}
ROLES = {
    "own_worker": N_("Own worker"),
    "pair_worker": N_("Pair worker"),
    "substitute": N_("Substitute"),
}
MEMBER_ROLES = {"child": N_("Child"), "guardian": N_("Guardian"), "other_adult": N_("Other adult")}
VISIT_KINDS = {
    "home": N_("Home visit"),
    "daycare": N_("Daycare visit"),
    "office": N_("Office meeting"),
    "phone": N_("Phone call"),
    "network_meeting": N_("Network meeting"),
}
VISIT_STATUSES = {"planned": N_("Planned"), "done": N_("Took place"), "cancelled": N_("Cancelled")}
REVIEWS = {
    "not_reviewed": N_("The client has not reviewed the note yet"),
    "read": N_("The client has read the note"),
    "agrees": N_("The client agrees with the note"),
    "disagrees": N_("The client disagrees with the note"),
}
SERVICE_KINDS = {
    "daycare": N_("Early childhood education"),
    "child_health_clinic": N_("Child health clinic"),
    "school": N_("School"),
    "family_counselling": N_("Family counselling"),
    "specialist_care": N_("Specialist care"),
    "adult_social_work": N_("Adult social work"),
    "other": N_("Other service"),
}


# ---------------------------------------------------------------- people


def worker_names(lookup: Callable[[str], dict]) -> Names:
    """Worker id → display name, each looked up once (`lookup` raises for no account)."""
    known: dict[str, str] = {}

    def name(worker_id: str | None) -> str:
        if not worker_id:
            return _("unknown")
        if worker_id not in known:
            known[worker_id] = _account_name(lookup, worker_id)
        return known[worker_id]

    return name


def _account_name(lookup: Callable[[str], dict], worker_id: str) -> str:
    if not ID.fullmatch(worker_id):  # a tool, not a person (e.g. the demo seeder)
        return _("system (%(actor)s)", actor=worker_id)
    try:
        return lookup(worker_id)["display_name"]
    except NotFoundError:
        return _("unknown worker %(id)s", id=worker_id[:8])


def language_name(code: str | None) -> str:
    """`ar` → "arabia" / "arabiska" / "Arabic", in the page's language."""
    if not code:
        return ""
    try:
        names = Locale.parse(i18n.current()).languages
    except (UnknownLocaleError, ValueError):
        return code
    return names.get(code, code)


@dataclass
class Member:
    name: str
    role: str
    birth_date: str | None
    languages: str
    interpreter: str | None  # the language an interpreter is needed for


def members(file: CaseFile) -> list[Member]:
    """Everyone in the case's family documents (usually one document)."""
    return [
        Member(
            name=_member_name(m),
            role=MEMBER_ROLES.get(m.get("role"), m.get("role", "")),
            birth_date=m.get("birth_date"),
            languages=", ".join(language_name(code) for code in m.get("languages") or []),
            interpreter=language_name(m.get("interpreter_language"))
            if m.get("interpreter_needed")
            else None,
        )
        for doc in file.of_type("family")
        for m in doc.get("members") or []
    ]


def member_names(file: CaseFile) -> dict[str, str]:
    return {
        m["id"]: _member_name(m)
        for doc in file.of_type("family")
        for m in doc.get("members") or []
        if m.get("id")
    }


def _member_name(member: dict) -> str:
    name = " ".join(filter(None, [member.get("given_names"), member.get("family_name")]))
    return name or _("family member")


def family_name(file: CaseFile) -> str:
    """The name the family is known by: the display name, else the surnames."""
    for doc in file.of_type("family"):
        surnames = dict.fromkeys(
            m["family_name"] for m in doc.get("members") or [] if m.get("family_name")
        )
        name = doc.get("display_name") or " / ".join(surnames)
        if name:
            return name
    return _("Family of case %(case)s", case=file.case_id[:8])


# ---------------------------------------------------------------- workers and status


@dataclass
class AssignmentRow:
    worker: str
    role: str
    start_date: str
    end_date: str | None
    ended_at: str | None
    in_force: bool


def assignment_rows(assignments: list[dict], names: Names, today: date) -> list[AssignmentRow]:
    """Every assignment the case had, current ones first (who had access, until when)."""
    rows = [
        AssignmentRow(
            worker=names(a["worker_id"]),
            role=ROLES.get(a["role"], a["role"]),
            start_date=a["start_date"],
            end_date=a["end_date"],
            ended_at=a["ended_at"],
            in_force=in_force(a, today, future=True),
        )
        for a in assignments
    ]
    return sorted(rows, key=lambda r: not r.in_force)


@dataclass
class StatusRow:
    status: str
    since: str | None
    by: str | None
    recorded_at: str | None


def status_rows(steps: list[StatusStep], names: Names) -> list[StatusRow]:
    return [
        StatusRow(
            CASE_STATUSES.get(s.status, s.status or ""),
            s.since,
            names(s.by) if s.by else None,
            s.recorded_at,
        )
        for s in steps
    ]


# ---------------------------------------------------------------- history


@dataclass
class Change:
    at: str | None
    by: str
    deleted: bool
    merge: bool  # a merge of concurrent revisions
    merged_away: bool  # a branch the merge closed (its deletion names no person)


def changes(history: list[Revision], names: Names) -> list[Change]:
    """A document's revisions as "who, when" lines."""
    return [
        Change(
            r.updated_at,
            names(r.updated_by),
            r.deleted,
            bool(r.merged_from),
            r.deleted and bool(r.merged_into),
        )
        for r in history
    ]


# ---------------------------------------------------------------- the timeline


@dataclass
class Action:
    text: str
    responsible: str | None
    due_on: str | None


@dataclass
class NoteView:
    doc_id: str
    at: str
    amendment: bool
    final: bool
    written_by: str
    changed_by: str
    changed_at: str
    finalised_by: str | None
    finalised_at: str | None
    visit_kind: str | None  # the visit it records (a label to translate) and its time
    visit_at: str | None
    discussion: str | None
    client_view: str | None
    actions: list[Action]
    written_with_client: bool | None
    review: str | None
    review_status: str | None
    review_comment: str | None
    amends_at: str | None
    amendment_reason: str | None
    open_items: int
    history: list[Change]
    type: str = "note"


@dataclass
class VisitView:
    doc_id: str
    at: str
    kind: str
    status: str
    ends_at: str | None
    location: str | None
    participants: list[str]
    history: list[Change]
    type: str = "visit"


@dataclass
class Entry:
    item: NoteView | VisitView
    amendments: list[NoteView] = field(default_factory=list)


@dataclass
class Context:
    """What the timeline needs besides the documents: names, other documents, history."""

    names: Names
    members: dict[str, str]
    file: CaseFile
    histories: dict[str, list[Revision]]


def timeline(file: CaseFile, context: Context) -> list[Entry]:
    return [_entry(entry, context) for entry in file.timeline()]


def _entry(entry: TimelineEntry, context: Context) -> Entry:
    if entry.doc["type"] == "visit":
        return Entry(visit_view(entry.doc, context))
    return Entry(note_view(entry.doc, context), [note_view(a, context) for a in entry.amendments])


def visit_view(doc: dict, context: Context) -> VisitView:
    return VisitView(
        doc_id=doc["_id"],
        at=doc.get("starts_at", ""),
        kind=VISIT_KINDS.get(doc.get("kind"), doc.get("kind", "")),
        status=VISIT_STATUSES.get(doc.get("status"), doc.get("status", "")),
        ends_at=doc.get("ends_at"),
        location=doc.get("location"),
        participants=[participant(p, context) for p in doc.get("participants") or []],
        history=changes(context.histories.get(doc["_id"], []), context.names),
    )


def participant(item: dict, context: Context) -> str:
    """One participant in words: who, in which role, and an interpreter's language."""
    kind = item.get("kind")
    if kind == "worker":
        who = _("%(name)s (worker)", name=context.names(item.get("worker_id")))
    elif kind == "family_member":
        who = context.members.get(item.get("member_id"), _("family member"))
    else:
        who = ", ".join(filter(None, [item.get("name"), item.get("organisation")]))
    if item.get("role"):
        who = f"{who} – {item['role']}"
    if item.get("interpreter"):
        language = language_name(item.get("language"))
        who = _("%(who)s, interpreter: %(language)s", who=who, language=language)
    return who


def note_view(doc: dict, context: Context) -> NoteView:
    names, review = context.names, doc.get("client_review") or {}
    original = context.file.get(doc.get("amends") or "")
    visit = context.file.get(doc.get("visit_id") or "")
    return NoteView(
        doc_id=doc["_id"],
        at=doc.get("occurred_at", ""),
        amendment=doc.get("kind") == "amendment",
        final=doc.get("state") == "final",
        written_by=names(doc.get("created_by") or doc.get("updated_by")),
        changed_by=names(doc.get("updated_by")),
        changed_at=doc.get("updated_at", ""),
        finalised_by=names(doc["finalised_by"]) if doc.get("finalised_by") else None,
        finalised_at=doc.get("finalised_at"),
        visit_kind=VISIT_KINDS.get(visit.get("kind"), visit.get("kind")) if visit else None,
        visit_at=visit.get("starts_at") if visit else None,
        discussion=doc.get("discussion"),
        client_view=doc.get("client_view"),
        actions=[
            Action(a.get("text", ""), a.get("responsible"), a.get("due_on"))
            for a in doc.get("agreed_actions") or []
        ],
        written_with_client=doc.get("written_with_client"),
        review=REVIEWS.get(review.get("status")) if review else None,
        review_status=review.get("status"),
        review_comment=review.get("comment"),
        amends_at=(original or {}).get("occurred_at"),
        amendment_reason=doc.get("amendment_reason"),
        open_items=len(open_items(doc)),
        history=changes(context.histories.get(doc["_id"], []), names),
    )


# ---------------------------------------------------------------- consents


CONSENT_STATES = {
    "valid": N_("In force"),
    "not_yet": N_("Not yet in force"),
    "expired": N_("Expired"),
    "withdrawn": N_("Withdrawn"),
}
