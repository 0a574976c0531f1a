"""One row of the queue: a pending or assessing case with its statutory deadlines.

Built from the directory row and the two sealed documents the queue opens: the case
document (when the matter became pending, when the assessment started, whether a child
may need special support — none of which the directory keeps, since they are client
data) and the family document (the name a worker knows the family by). Pure: the view
reads the documents and writes the access log; nothing here touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..legal.deadlines import DeadlineState, assessment_deadlines, state


@dataclass(frozen=True)
class QueueRow:
    case_id: str
    family: str | None  # None: the family document could not be read
    status: str
    pending_since: date | None
    assessment_started_on: date | None
    own_worker: dict | None  # the account, None while nobody is the own worker
    start_by: date | None  # None: the law sets no date (or the case document is missing)
    complete_by: date | None
    next: DeadlineState | None  # the deadline the case is working towards now


def queue_row(
    case: dict,
    case_doc: dict | None,
    family_doc: dict | None,
    own_worker: dict | None,
    today: date,
) -> QueueRow:
    """The row of `case` as of `today` (a missing document leaves its fields empty)."""
    doc = case_doc or {}
    pending = _day(doc.get("pending_since"))
    if pending is None and case["status"] == "pending":
        pending = _day(case["status_since"])  # the directory mirrors the status's date
    started = _day(doc.get("assessment_started_on"))
    start_by = complete_by = None
    if case_doc is not None and pending is not None:
        due = assessment_deadlines(pending, bool(doc.get("special_support_need")))
        start_by, complete_by = due.start_by, due.complete_by
    upcoming = start_by if case["status"] == "pending" else complete_by
    return QueueRow(
        case_id=case["id"],
        family=family_name(family_doc),
        status=case["status"],
        pending_since=pending,
        assessment_started_on=started,
        own_worker=own_worker,
        start_by=start_by,
        complete_by=complete_by,
        next=state(upcoming, today) if upcoming else None,
    )


def family_name(doc: dict | None) -> str | None:
    """The family's display name, else its members' family names (the field is optional)."""
    if doc is None:
        return None
    if doc.get("display_name"):
        return doc["display_name"]
    names = dict.fromkeys(m["family_name"] for m in doc["members"] if m.get("family_name"))
    return " / ".join(names) or None


def oldest_first(row: QueueRow) -> tuple:
    """Sort key: the longest-pending matter first; an unknown date last."""
    return (row.pending_since is None, row.pending_since or date.max, row.case_id)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
