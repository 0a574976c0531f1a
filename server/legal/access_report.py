"""The client's access report, assembled from log rows. Pure: no I/O.

Client-data act 703/2023 and GDPR art. 15: a client may ask who processed their data
and who received it. The report lists, for a family (or one member) over a period —
by default the two years up to today — every processing: `read` (shown on the web or
to an integration), `delivered` (synced to a worker's device), `viewed` (opened on a
device, uploaded by the device afterwards), `changed` (written from a device, or by
the server for a worker) and `disclosed` (given to another service). Each entry says
who (name and role), when, which documents (type and date, never content), and on what
basis (why it was shown; the worker's assignment; a consent or a statute).

The service (`server.casework.access_reports`) turns the access log, the audit log and
the disclosure log into `Event`s and resolves people and documents; this module
decides what belongs in the period, the basis of each entry, the order and the groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..errors import InvalidDate, InvalidPeriod

KINDS = ("read", "delivered", "viewed", "changed", "disclosed")
ACCESS_KINDS = {"read": "read", "deliver": "delivered", "view": "viewed", "push": "changed"}
# Audit actions that changed a document of the case, and which document: the case's own
# (its status, dates and assignments are mirrored there) or the one the details name.
AUDIT_CHANGES = {
    "case.created": None,
    "case.status": None,
    "case.closed": None,
    "assignment.created": None,
    "assignment.ended": None,
    "consent.given": "doc_id",
    "consent.withdrawn": "doc_id",
    "reconciliation.resolved": "doc_id",
}
PERIOD_YEARS = 2
# The order an entry lists its documents in (as the case page does), then by date.
DOC_ORDER = ("case", "family", "assessment", "plan", "visit", "note", "consent")
HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class Event:
    """One processing before names are resolved. `at`: when the server recorded it (for
    a device-side view, the upload); `device_at`: when it happened on the device."""

    kind: str
    at: str
    worker_id: str
    case_id: str
    doc_ids: tuple[str, ...]
    purpose: str | None = None
    device_id: str | None = None
    device_at: str | None = None
    day: str | None = None  # a disclosure's own day (disclosed_on)
    recipient: str | None = None
    basis: str | None = None  # a disclosure's: consent, statute, client
    consent_id: str | None = None
    statute: str | None = None
    member_ids: tuple[str, ...] = ()  # a disclosure's: whom it was about


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str  # worker, supervisor, admin (the account's role)


@dataclass(frozen=True)
class DocRef:
    id: str
    type: str  # a case document type, or "unavailable" (deleted or no longer readable)
    date: str | None


@dataclass
class Entry:
    kind: str
    at: str
    day: str
    who: Person
    case_id: str
    documents: list[DocRef]
    basis: str
    device_at: str | None = None
    recipient: str | None = None
    consent_id: str | None = None
    statute: str | None = None

    def to_json(self) -> dict:
        out = {
            "kind": self.kind,
            "at": self.at,
            "day": self.day,
            "who": vars(self.who),
            "case_id": self.case_id,
            "documents": [vars(doc) for doc in self.documents],
            "basis": self.basis,
        }
        if self.kind == "viewed":
            out |= {"device_at": self.device_at, "uploaded_at": self.at}
        if self.kind == "disclosed":
            out |= {"recipient": self.recipient, "consent_id": self.consent_id,
                    "statute": self.statute}  # fmt: skip
        return out


@dataclass
class Report:
    start: date
    end: date
    entries: list[Entry] = field(default_factory=list)

    def summary(self) -> list[dict]:
        """Per person: how many entries of each kind (the report's first table)."""
        people: dict[str, Person] = {}
        counts: dict[str, Counter] = {}
        for entry in self.entries:
            people[entry.who.id] = entry.who
            counts.setdefault(entry.who.id, Counter())[entry.kind] += 1
        rows = [
            {"who": vars(people[pid]), "counts": {k: counts[pid][k] for k in KINDS}}
            for pid in people
        ]
        return sorted(rows, key=lambda r: (r["who"]["name"], r["who"]["id"]))

    def by_kind(self) -> dict[str, list[Entry]]:
        return {kind: [e for e in self.entries if e.kind == kind] for kind in KINDS}


def default_period(today: date) -> tuple[date, date]:
    """The two years up to and including today (29 February: from 28 February; never
    before the first day the calendar has)."""
    if today.year <= PERIOD_YEARS:
        return date.min, today
    try:
        start = today.replace(year=today.year - PERIOD_YEARS)
    except ValueError:
        start = today.replace(year=today.year - PERIOD_YEARS, day=28)
    return start, today


def parse_period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The period a request asks for (`from`, `to`: YYYY-MM-DD, both optional)."""
    default_start, default_end = default_period(today)
    to = _day(end, "to") if end else default_end
    since = _day(start, "from") if start else default_period(to)[0] if end else default_start
    if since > to:
        raise InvalidPeriod(
            f"from ({since.isoformat()}) is after to ({to.isoformat()}): the period is backwards",
            field="from",
        )
    return since, to


def local_day(moment: str) -> str:
    """The Helsinki day of an RFC 3339 instant (a plain date stays as it is)."""
    if len(moment) == 10:
        return moment
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return (parsed.astimezone(HELSINKI) if parsed.tzinfo else parsed).date().isoformat()


def event_day(event: Event) -> str:
    """The day the processing happened: a disclosure's own day, a view's on the device."""
    return event.day or local_day(event.device_at or event.at)


def from_access(row: dict) -> Event | None:
    """An access log row as an event (server merges are left out: they combine what the
    workers' own pushes, listed as changes, already wrote)."""
    kind = ACCESS_KINDS.get(row["action"])
    if kind is None:
        return None
    return Event(
        kind, row["at"], row["worker_id"], row["case_id"], tuple(row["doc_ids"]),
        purpose=row.get("purpose"), device_id=row.get("device_id"),
        device_at=row.get("device_at"),
    )  # fmt: skip


def from_audit(row: dict, case_id: str) -> Event | None:
    """An audit entry that changed a document of `case_id` as an event (else None)."""
    if row["action"] not in AUDIT_CHANGES or row["subject"] != case_id:
        return None
    key = AUDIT_CHANGES[row["action"]]
    doc_id = (row.get("details") or {}).get(key) if key else case_id
    if not doc_id:
        return None
    return Event("changed", row["at"], row["actor"], case_id, (doc_id,))


def from_disclosure(row: dict) -> Event:
    return Event(
        "disclosed", row["at"], row["worker_id"], row["case_id"], tuple(row["doc_ids"]),
        day=row["disclosed_on"], recipient=row["recipient"], basis=row["basis"],
        consent_id=row.get("consent_id"), statute=row.get("statute"),
        member_ids=tuple(row.get("member_ids") or ()),
    )  # fmt: skip


def basis_of(event: Event, who: Person, assignment_role: str | None) -> str:
    """On what basis: a disclosure's own; a read's purpose; else the worker's assignment
    to the case that day (own_worker, pair_worker, substitute), else the role's
    (`supervision` for a supervisor, `case_work` for a worker)."""
    if event.kind == "disclosed":
        return event.basis or "consent"
    if event.kind == "read" and event.purpose:
        return event.purpose
    if assignment_role:
        return assignment_role
    return "supervision" if who.role == "supervisor" else "case_work"


def assemble(
    events: Iterable[Event],
    start: date,
    end: date,
    person_of,
    document_of,
    assignment_role_of,
    only_docs: set[str] | None = None,
    member_id: str | None = None,
) -> Report:
    """The report of the period: events on days from `start` to `end`, oldest first.

    `person_of(worker_id) -> Person`, `document_of(case_id, doc_id) -> DocRef`,
    `assignment_role_of(worker_id, case_id, day) -> str | None`; `only_docs`: the
    documents of one member (`member_id`): an event naming none of them is left out
    unless it is a disclosure about that member, and an entry lists only those."""
    report = Report(start, end)
    first, last = start.isoformat(), end.isoformat()
    for event in events:
        day = event_day(event)
        if not first <= day <= last:
            continue
        doc_ids = [d for d in event.doc_ids if only_docs is None or d in only_docs]
        if not doc_ids and member_id and member_id in event.member_ids:
            doc_ids = list(event.doc_ids)
        if not doc_ids:
            continue
        who = person_of(event.worker_id)
        report.entries.append(
            Entry(
                kind=event.kind,
                at=event.at,
                day=day,
                who=who,
                case_id=event.case_id,
                documents=_in_order([document_of(event.case_id, d) for d in doc_ids]),
                basis=basis_of(event, who, assignment_role_of(event.worker_id, event.case_id, day)),
                device_at=event.device_at,
                recipient=event.recipient,
                consent_id=event.consent_id,
                statute=event.statute,
            )
        )
    report.entries.sort(key=lambda e: (e.day, e.device_at or e.at, KINDS.index(e.kind), e.who.id))
    return report


def _in_order(docs: list[DocRef]) -> list[DocRef]:
    rank = {kind: n for n, kind in enumerate(DOC_ORDER)}
    return sorted(docs, key=lambda d: (rank.get(d.type, len(rank)), d.date or "", d.id))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad(text, name)
    except ValueError:
        return _bad(text, name)


def _bad(text: str, name: str) -> date:
    raise InvalidDate(f"{name} must be a date YYYY-MM-DD, not {text[:40]!r}", field=name,
                      parameter=name)  # fmt: skip
