"""A case's status history: each status it reached, from which day, who moved it there.

The dates are the case's own (the case document names the day each status began, and
the directory row mirrors them); who moved the case and when it was recorded come from
the audit log (`case.created`, `case.status`, `case.closed`), which names people by id
and holds no client data. Pure: the caller reads the log and the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..audit import Entry

STATUS_ACTIONS = ("case.created", "case.status", "case.closed")


@dataclass(frozen=True)
class StatusStep:
    status: str
    since: str | None  # YYYY-MM-DD: the day the status began
    by: str | None  # who moved the case (an account id, or the tool that seeded it)
    recorded_at: str | None  # when the move was recorded (RFC 3339)


def status_history(case: dict, case_doc: dict | None, entries: Iterable[Entry]) -> list[StatusStep]:
    """Oldest first: pending (from the referral's day), then every recorded move."""
    doc = case_doc or {}
    steps: list[StatusStep] = []
    for entry in entries:
        if entry.subject != case["id"] or entry.action not in STATUS_ACTIONS:
            continue
        if entry.action == "case.created":
            since = doc.get("pending_since") or _first_since(case)
            steps.insert(0, StatusStep("pending", since, entry.actor, entry.at))
        elif entry.action == "case.status":
            details = entry.details
            steps.append(StatusStep(details.get("to"), details.get("since"), entry.actor, entry.at))
        else:
            since = entry.details.get("closed_on") or case.get("closed_on")
            steps.append(StatusStep("closed", since, entry.actor, entry.at))
    if not steps or steps[0].status != "pending":  # a case from before the audit entries
        steps.insert(0, StatusStep("pending", doc.get("pending_since"), None, None))
    return steps


def _first_since(case: dict) -> str | None:
    return case.get("status_since") if case.get("status") == "pending" else None
