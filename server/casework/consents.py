"""Consents (suostumus) given and withdrawn from the web and the API.

A consent is a sealed case document (`mobile_schema.consent`), written through
`Records.write` like a device's, so the instructors' phones receive it at their next
sync. Only an instructor assigned to the case gives or withdraws one (they record what
the guardian said with them; a supervisor reads). Nothing is ever deleted: withdrawing
sets `withdrawn_at` in a new revision, and the revision history keeps every earlier
one. Which guardian withdrew is not a field of the wire contract (an app that never
knew it keeps syncing unchanged), so it is kept, as a member id, in the audit entry
`consent.withdrawn` with who recorded it; `consent.given` names the guardian likewise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sync.store.errors import NotFound

from ..audit import AuditLog
from ..directory.base import utcnow
from ..errors import AlreadyWithdrawn, ConflictError, InvalidInput, NotFoundError
from .case_file import CaseFile, Revision
from .cases import Cases, new_id, stamped
from .records import Records

GIVEN_FIELDS = ("service_kind", "service_name", "scope", "given_by", "valid_from", "valid_to")
WRITE_ATTEMPTS = 3
CLOCK_SKEW = timedelta(minutes=5)  # a withdrawal's time may run this far ahead


class Consents:
    def __init__(self, cases: Cases, records: Records, audit: AuditLog):
        self.cases = cases
        self.records = records
        self.audit = audit

    def give(self, case_id: str, actor: str, details: dict) -> dict:
        """A new consent (validated by the wire contract on writing), given by a
        guardian of the family; audited `consent.given`."""
        case = self.cases.get(case_id)
        fields = {k: details[k] for k in GIVEN_FIELDS if details.get(k) not in (None, "")}
        self._check_guardian(case, fields.get("given_by"), "given_by")
        _check_period(fields.get("valid_from"), fields.get("valid_to"))
        doc = {"_id": new_id(), "type": "consent", "case_id": case_id, **fields}
        doc = stamped(doc, actor, created=True)
        _written(self.records.write(case_id, [doc]), doc["_id"])
        details = {"doc_id": doc["_id"], "given_by": fields.get("given_by")}
        self.audit.record(actor, "consent.given", case_id, details)
        return self.records.read(case_id, doc["_id"])

    def withdraw(
        self, case_id: str, consent_id: str, actor: str, withdrawn_by: str | None,
        at: str | None = None,
    ) -> dict:  # fmt: skip
        """Withdraw now (or `at`): a new revision with `withdrawn_at`; audited with the
        guardian who withdrew and the worker who recorded it."""
        case = self.cases.get(case_id)
        self._check_guardian(case, withdrawn_by, "withdrawn_by")
        when = at or utcnow()
        _check_not_future(when)
        for _ in range(WRITE_ATTEMPTS):
            current = self.consent(case_id, consent_id)
            if current.get("withdrawn_at"):
                raise AlreadyWithdrawn(
                    f"consent {consent_id} was already withdrawn at {current['withdrawn_at']}",
                    consent_id=consent_id,
                )
            doc = stamped(current | {"withdrawn_at": when}, actor)
            [result] = self.records.write(case_id, [doc])
            if result.get("ok"):
                details = {"doc_id": consent_id, "withdrawn_by": withdrawn_by, "at": when}
                self.audit.record(actor, "consent.withdrawn", case_id, details)
                return self.records.read(case_id, consent_id)
            if result.get("error") != "conflict":
                _written([result], consent_id)
        raise ConflictError(f"consent {consent_id} keeps changing; try again")

    def consent(self, case_id: str, consent_id: str) -> dict:
        try:
            doc = self.records.read(case_id, consent_id)
        except NotFound:
            doc = None
        if not doc or doc.get("type") != "consent":
            raise NotFoundError(f"no consent {consent_id} in case {case_id}")
        return doc

    def events(self, case_id: str) -> dict[str, list[dict]]:
        """consent id → its lifecycle from the audit log: given / withdrawn, with the
        worker who recorded it, when, and the guardian (a member id)."""
        out: dict[str, list[dict]] = {}
        for entry in self.audit.entries(subject=case_id):
            if entry.action not in ("consent.given", "consent.withdrawn"):
                continue
            guardian = entry.details.get("given_by") or entry.details.get("withdrawn_by")
            out.setdefault(entry.details.get("doc_id"), []).append({
                "event": entry.action.split(".")[1],
                "recorded_by": entry.actor,
                "at": entry.details.get("at") or entry.at,
                "guardian": guardian,
            })  # fmt: skip
        return out

    def _check_guardian(self, case: dict, member_id: str | None, field: str) -> None:
        """`member_id` (optional) must be a guardian in the family document of the case."""
        if not member_id:
            return
        if member_id not in self.guardians(case):
            raise InvalidInput(f"{field} must be a guardian of the family", field=field)

    def guardians(self, case: dict) -> set[str]:
        try:
            family = self.records.read(case["id"], case["family_doc_id"] or "")
        except NotFound:
            return set()
        return {m["id"] for m in family.get("members") or [] if m.get("role") == "guardian"}


def consent_history(
    file: CaseFile, histories: dict[str, list[Revision]], events: dict[str, list[dict]]
) -> list[dict]:
    """Every consent of the case with its revisions (who wrote each, when) and its
    lifecycle events, the newest consent first (the API's and the page's list)."""
    consents = sorted(
        file.of_type("consent"), key=lambda d: (d.get("valid_from", ""), d["_id"]), reverse=True
    )
    return [
        {
            "consent": doc,
            "history": [r.to_json() for r in histories.get(doc["_id"], [])],
            "events": _lifecycle(doc, events.get(doc["_id"], [])),
        }
        for doc in consents
    ]


def _lifecycle(doc: dict, audited: list[dict]) -> list[dict]:
    """The audited events, and what only the document says (a consent given or
    withdrawn on a device has no audit entry), oldest first."""
    seen = {event["event"] for event in audited}
    extra = [e for e in _events_of_document(doc) if e["event"] not in seen]
    return sorted(audited + extra, key=lambda e: e["at"] or "")


def _events_of_document(doc: dict) -> list[dict]:
    given = {
        "event": "given",
        "recorded_by": doc.get("created_by") or doc.get("updated_by"),
        "at": doc.get("created_at") or doc.get("updated_at"),
        "guardian": doc.get("given_by"),
    }
    out = [given]
    if doc.get("withdrawn_at"):
        out.append(
            {
                "event": "withdrawn",
                "recorded_by": doc.get("updated_by"),
                "at": doc["withdrawn_at"],
                "guardian": None,
            }
        )
    return out  # fmt: skip


def state_on(doc: dict, day: date) -> str:
    """valid, not_yet, expired or withdrawn on `day` (as the case page labels it)."""
    if doc.get("withdrawn_at"):
        return "withdrawn"
    if doc.get("valid_from", "") > day.isoformat():
        return "not_yet"
    if doc.get("valid_to") and doc["valid_to"] < day.isoformat():
        return "expired"
    return "valid"


def _check_not_future(withdrawn_at: str) -> None:
    """A withdrawal is recorded once the guardian has withdrawn: one dated ahead would
    make the consent read as withdrawn today while it still holds for disclosures.
    A few minutes of a client's clock running fast are allowed."""
    try:
        moment = datetime.fromisoformat(withdrawn_at.replace("Z", "+00:00"))
    except ValueError:
        return  # left to the wire contract
    if moment.tzinfo and moment > datetime.now(UTC) + CLOCK_SKEW:
        raise InvalidInput(f"withdrawn_at ({withdrawn_at}) is in the future", field="withdrawn_at")


def _check_period(valid_from: object, valid_to: object) -> None:
    """A consent cannot end before it begins (a slip of the year, 2026 → 2025): it
    would hold on no day, and every disclosure on it would be refused. Dates that are
    not dates are left to the wire contract, which names them."""
    try:
        start, end = date.fromisoformat(valid_from), date.fromisoformat(valid_to)
    except (TypeError, ValueError):
        return
    if end < start:
        raise InvalidInput(f"valid_to ({end}) is before valid_from ({start})", field="valid_to")


def _written(results: list[dict], doc_id: str) -> None:
    for result in results:
        if not result.get("ok"):
            raise ConflictError(f"consent {doc_id} was not written: {result.get('error')}")
