"""Producing a family's access report (`server.legal.access_report` assembles it).

Who may ask: the same people who may read the family's cases — a supervisor of the
case's team and the workers assigned to it today (`Cases.may_read`); the report covers
the family's cases that person may read. Never an administrator (who reads no client
data: the report names documents by type and date), and never for a crypto-shredded
case, whose documents are gone. Anyone else gets "not found", never confirming the
family exists.

The rows come from the access log (reads, deliveries, device-side views, pushes), the
audit log (server-side changes of the case's documents) and the disclosure log. The
documents are named by type and date, so every case file is decrypted in memory for
the one report, and producing the report is itself written to the access log (purpose
`client_report`), naming the documents it opened. No content leaves this module.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from ..access_log import AccessLog
from ..audit import AuditLog
from ..directory.base import utcnow
from ..disclosure_log import Disclosures
from ..errors import InvalidInput, NotFoundError
from ..legal import access_report as rules
from ..people.accounts import Accounts
from .case_file import CaseFile, CaseFiles
from .cases import Cases

PURPOSE = "client_report"
# The date a document is about, per type (as the case page dates it).
DOC_DATES = {
    "visit": "starts_at",
    "note": "occurred_at",
    "consent": "valid_from",
    "plan": "drawn_up_on",
    "assessment": "started_on",
    "case": "pending_since",
    "family": "created_at",
}
_ID = re.compile(r"[0-9a-f]{32}")


class UnknownMember(InvalidInput):
    """`member` names nobody in the family's documents."""

    code = "unknown_member"


class AccessReports:
    def __init__(
        self,
        cases: Cases,
        files: CaseFiles,
        access: AccessLog,
        audit: AuditLog,
        disclosures: Disclosures,
        accounts: Accounts,
    ):
        self.cases = cases
        self.files = files
        self.access = access
        self.audit = audit
        self.disclosures = disclosures
        self.accounts = accounts

    def readable_cases(self, family_id: str, account: dict, today: date) -> list[dict]:
        """The family's cases `account` may read (NotFoundError if none)."""
        if account["role"] != "admin":  # an administrator reads no client data
            cases = self.cases.readable_of_family(family_id, account, today)
            if cases:
                return cases
        raise NotFoundError(f"no family {family_id}")

    def produce(
        self,
        family_id: str,
        account: dict,
        start: date,
        end: date,
        today: date,
        member_id: str | None = None,
    ) -> dict:
        """The report as JSON (`entries` oldest first, `summary` per person), logged."""
        cases = self.readable_cases(family_id, account, today)
        files = {case["id"]: self.files.open(case["id"]) for case in cases}
        only = _member_documents(files.values(), member_id) if member_id else None
        report = rules.assemble(
            self._events(cases, start, end),
            start,
            end,
            self._person_of(),
            lambda case_id, doc_id: document_ref(files[case_id], doc_id),
            self._assignment_role_of(cases),
            only,
            member_id,
        )
        for case_id, file in files.items():
            if file.doc_ids:
                self.access.record(account["id"], case_id, file.doc_ids, "read", purpose=PURPOSE)
        return {
            "family_id": family_id,
            "member_id": member_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "produced_at": utcnow(),
            "produced_by": vars(self._person_of()(account["id"])),
            "case_ids": [case["id"] for case in cases],
            "summary": report.summary(),
            "entries": [entry.to_json() for entry in report.entries],
        }

    def _events(self, cases: list[dict], start: date, end: date):
        """Every event of the cases (the period is applied by `assemble`, on the day
        each happened; the disclosure log is asked for the period directly)."""
        events = []
        for case in cases:
            for access in self.access.entries(case_id=case["id"]):
                event = rules.from_access(dataclasses.asdict(access))
                if event is not None:
                    events.append(event)
            for entry in self.audit.entries(subject=case["id"]):
                event = rules.from_audit(dataclasses.asdict(entry), case["id"])
                if event is not None:
                    events.append(event)
        for row in self.disclosures.between([c["id"] for c in cases], start, end):
            events.append(rules.from_disclosure(row))
        return events

    def _person_of(self):
        known: dict[str, rules.Person] = {}

        def person(worker_id: str) -> rules.Person:
            if worker_id not in known:
                known[worker_id] = self._person(worker_id)
            return known[worker_id]

        return person

    def _person(self, worker_id: str) -> rules.Person:
        if not _ID.fullmatch(worker_id or ""):
            return rules.Person(worker_id, "", "system")  # the server itself (sweeper, seed)
        try:
            account = self.accounts.get(worker_id)
        except NotFoundError:
            return rules.Person(worker_id, "", "unknown")
        return rules.Person(worker_id, account["display_name"], account["role"])

    def _assignment_role_of(self, cases: list[dict]):
        rows = {case["id"]: self.cases.assignments(case["id"]) for case in cases}

        def role(worker_id: str, case_id: str, day: str) -> str | None:
            for a in rows.get(case_id, []):
                ended = (a["ended_at"] or "9999")[:10]
                if (
                    a["worker_id"] == worker_id
                    and a["start_date"] <= day
                    and (a["end_date"] or "9999") >= day
                    and ended >= day
                ):
                    return a["role"]
            return None

        return role


def document_ref(file: CaseFile, doc_id: str) -> rules.DocRef:
    """A document by type and date only (never content); `unavailable` if deleted."""
    doc = file.get(doc_id)
    if doc is None:
        return rules.DocRef(doc_id, "unavailable", None)
    value = doc.get(DOC_DATES.get(doc["type"], "created_at")) or doc.get("created_at")
    return rules.DocRef(doc_id, doc["type"], rules.local_day(value) if value else None)


def _member_documents(files, member_id: str) -> set[str]:
    """The documents that name the member (their family document, the visits they took
    part in, consents they gave, assessment and plan views…)."""
    found = {doc["_id"] for file in files for doc in file.documents if _names(doc, member_id)}
    if not found:
        raise UnknownMember(f"no member {member_id} in this family", field="member",
                            parameter="member")  # fmt: skip
    return found


def _names(value, member_id: str) -> bool:
    if isinstance(value, dict):
        return any(_names(v, member_id) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, member_id) for v in value)
    return value == member_id
