"""The disclosure log: which information about a client was given to which other
service, when, and on which basis (client-data act 703/2023: who received the data).

A disclosure is refused unless its basis holds (`server.legal.disclosures`): a consent
of the case valid on the day and naming the recipient, a provision of the fixed
statute table, or a copy given to the client. The table is append-only (triggers) and
hash-chained like the audit and access logs (`CHAIN`, walked by `sopu audit verify`).
A row names ids and codes only — the worker, the case, the family members, the
documents disclosed, the consent — plus the recipient service's name (a service, not
a client). What was disclosed stays in the sealed documents it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from sync.crypto import CryptoError
from sync.store.errors import NotFound

from .audit import AuditLog
from .casework.case_file import CaseFile
from .casework.records import Records
from .directory.base import Directory, utcnow
from .errors import InvalidInput
from .hashchain import HashChain
from .legal.disclosures import check_basis, check_consent

CHAIN = HashChain(
    "disclosure_log",
    (
        "at", "worker_id", "case_id", "member_ids", "doc_ids", "recipient", "basis",
        "consent_id", "statute", "disclosed_on",
    ),
    frozenset({"member_ids", "doc_ids"}),
)  # fmt: skip
RECIPIENT_MAX = 200
_ID = re.compile(r"[0-9a-f]{32}")


class Disclosures:
    def __init__(self, directory: Directory, records: Records, audit: AuditLog):
        self.directory = directory
        self.records = records
        self.audit = audit

    def record(
        self,
        worker_id: str,
        case_id: str,
        *,
        recipient: str,
        basis: str,
        doc_ids: Iterable[str],
        member_ids: Iterable[str],
        consent_id: str | None = None,
        statute: str | None = None,
        disclosed_on: date | None = None,
        today: date | None = None,
    ) -> dict:
        """Append one disclosure once its basis holds (else the refusal's domain error);
        the row as stored, with `seq` and its hashes. Audited (`disclosure.recorded`).
        `disclosed_on` defaults to `today` (the real day unless a test moves it)."""
        today = today or date.today()
        day = disclosed_on or today
        values = {
            "at": utcnow(),
            "worker_id": worker_id,
            "case_id": case_id,
            "member_ids": sorted(set(member_ids)),
            "doc_ids": sorted(set(doc_ids)),
            "recipient": _recipient(recipient),
            "basis": basis,
            "consent_id": consent_id or None,
            "statute": statute or None,
            "disclosed_on": day.isoformat(),
        }
        _check_ids(values)
        check_basis(basis, values["consent_id"], values["statute"])
        if day > today:
            raise InvalidInput("disclosed_on is in the future", field="disclosed_on")
        if basis == "consent":
            check_consent(self._consent(case_id, consent_id), consent_id, recipient, day)
        with self.directory.transaction() as con:
            row = CHAIN.append(con, values)
            details = {"seq": row["seq"], "basis": basis, "doc_ids": values["doc_ids"]}
            self.audit.record(worker_id, "disclosure.recorded", case_id, details, con)
        return row

    def between(self, case_ids: Iterable[str], start: date, end: date) -> list[dict]:
        """The disclosures of these cases made from `start` to `end` (days, inclusive)."""
        ids = sorted(set(case_ids))
        if not ids:
            return []
        where = (
            f"case_id IN ({','.join('?' * len(ids))}) AND disclosed_on >= ? AND disclosed_on <= ?"
        )
        return CHAIN.rows(self.directory, where, (*ids, start.isoformat(), end.isoformat()))

    def of_case(self, case_id: str) -> list[dict]:
        """The disclosure log of one case, in the order recorded."""
        return CHAIN.rows(self.directory, "case_id = ?", (case_id,))

    def verify(self) -> int | None:
        """None if the chain is intact, else the seq of the first row that is not."""
        return CHAIN.verify(self.directory)

    def _consent(self, case_id: str, consent_id: str) -> dict | None:
        try:
            return self.records.read(case_id, consent_id)
        except (NotFound, CryptoError):
            return None


def _recipient(name: str) -> str:
    """A service's name on one line (it is stored in the clear, so keep it a name)."""
    text = " ".join(str(name or "").split())
    if not text or len(text) > RECIPIENT_MAX:
        raise InvalidInput(
            f"recipient is the receiving service's name (1–{RECIPIENT_MAX} characters)",
            field="recipient",
        )
    return text


def _check_ids(values: dict) -> None:
    """Random ids only (a slip can never write client data here), and something disclosed."""
    ids = [values["worker_id"], values["case_id"], *values["member_ids"], *values["doc_ids"]]
    if values["consent_id"]:
        ids.append(values["consent_id"])
    if not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids):
        raise InvalidInput("the disclosure log holds random ids only (members, documents)")
    if not values["doc_ids"]:
        raise InvalidInput("name the documents disclosed (doc_ids)", field="doc_ids")


def check_documents(file: CaseFile, doc_ids: list[str], member_ids: list[str]) -> None:
    """Only live documents of the case are disclosed, about members of its family (the
    API and the case page check what a person sent before `Disclosures.record`)."""
    unknown = sorted(set(doc_ids) - set(file.doc_ids))
    if unknown:
        raise InvalidInput(f"no document {unknown[0]} in this case", field="doc_ids")
    members = {m.get("id") for doc in file.of_type("family") for m in doc.get("members") or []}
    strangers = sorted(set(member_ids) - members)
    if strangers:
        raise InvalidInput(f"no member {strangers[0]} in this family", field="member_ids")
