"""Families (perhe): an id and a team in the directory; the details sealed in the cases.

A family's members, names and birth dates are client data, so the directory keeps
only `families(id, team_id, created_at)`. The details are a `family` document sealed
with the case key in every case database of the family. Each copy has its own random
`_id`: a worker's synced database fans in several cases, and two cases of one family
must not bring two documents with the same id. A family is created together with its
first case, so its document always has a sealed home; a later case gets a copy of the
latest version. See docs/adr/008-families-and-cases-api.md.
"""

from __future__ import annotations

from datetime import date, datetime

from mobile_schema import validate_document
from sync.store.errors import NotFound

from ..access_log import AccessLog
from ..audit import AuditLog
from ..directory.base import Directory, utcnow
from ..errors import ConflictError, NotFoundError
from .cases import Cases, Casework, new_id, stamped
from .records import Records


def family_doc(details: dict, actor: str) -> dict:
    """A new family document from what a client sent; members without an id get one."""
    members = [{**member, "id": member.get("id") or new_id()} for member in details["members"]]
    doc = {"_id": new_id(), "type": "family", **details, "members": members}
    return stamped(doc, actor, created=True)


class Families:
    def __init__(
        self,
        directory: Directory,
        cases: Cases,
        casework: Casework,
        records: Records,
        access: AccessLog,
        audit: AuditLog,
    ):
        self.directory = directory
        self.cases = cases
        self.casework = casework
        self.records = records
        self.access = access
        self.audit = audit

    def create(
        self, team_id: str, details: dict, first_case: dict, actor: str, today: date | None = None
    ) -> tuple[str, str]:
        """A new family with its first case; returns (family id, case id).

        The case (and the sealed documents) come first: if anything about them is
        invalid, no family row is left behind without a document.
        """
        if self.directory.one("SELECT 1 FROM teams WHERE id = ?", (team_id,)) is None:
            raise NotFoundError(f"no team {team_id}", field="team_id")
        family_id = new_id()
        doc = family_doc(details, actor)
        validate_document(doc)
        case_id = self.casework.open(family_id, team_id, first_case, doc, actor, today)
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO families (id, team_id, created_at) VALUES (?, ?, ?)",
                (family_id, team_id, utcnow()),
            )
            self.audit.record(actor, "family.created", family_id, {"team_id": team_id}, con)
        return family_id, case_id

    def get(self, family_id: str) -> dict:
        row = self.directory.one("SELECT * FROM families WHERE id = ?", (family_id,))
        if row is None:
            raise NotFoundError(f"no family {family_id}")
        return dict(row)

    def open_case(
        self, family_id: str, details: dict, actor: str, today: date | None = None
    ) -> str:
        """A further case of a known family, with a copy of its latest family document.

        The copy is made by the server, not shown to anyone, so it is an audit event,
        not an access-log read.
        """
        family = self.get(family_id)
        latest = self._latest(self.cases.of_family(family_id))
        if latest is None:
            raise ConflictError(
                f"family {family_id} has no readable family document left (all cases erased)"
            )
        doc, source = latest
        copy = stamped({k: v for k, v in doc.items() if k != "_rev"} | {"_id": new_id()}, actor)
        case_id = self.casework.open(family_id, family["team_id"], details, copy, actor, today)
        copied = {"from_case": source["id"], "to_case": case_id}
        self.audit.record(actor, "family.copied", family_id, copied)
        return case_id

    def readable_cases(self, family_id: str, account: dict, today: date | None = None):
        """The family's cases this person may read (`Cases.readable_of_family`)."""
        return self.cases.readable_of_family(family_id, account, today)

    def read(self, cases: list[dict], reader_id: str) -> tuple[dict, str] | None:
        """The latest family document among `cases` and its case id, logged as read."""
        latest = self._latest(cases)
        if latest is None:
            return None
        doc, case = latest
        self.access.record(reader_id, case["id"], [doc["_id"]], "read")
        return doc, case["id"]

    def _latest(self, cases: list[dict]) -> tuple[dict, dict] | None:
        """The most recently updated family document among the cases (and its case)."""
        best = None
        for case in cases:
            if case["shredded_at"] or not case["family_doc_id"]:
                continue
            try:
                doc = self.records.read(case["id"], case["family_doc_id"])
            except NotFound:
                continue
            rank = (datetime.fromisoformat(doc["updated_at"]), case["created_at"])
            if best is None or rank > best[0]:
                best = (rank, doc, case)
        return (best[1], best[2]) if best else None
