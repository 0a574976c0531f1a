"""A case's file as people read it: every live document decrypted, the timeline of
visits and notes, amendments beside the note they amend, and a document's history.

The case page and `GET /api/cases/<id>/documents` both read through here, so the web
and integrations see the same record. Plaintext exists only in the returned objects,
in memory, for the one response; nothing here logs it. Nothing here writes the access
log either: the caller knows why it reads (`PURPOSES`) and logs exactly the ids this
returns (`CaseFile.doc_ids`, or the one document).

The history of a document comes from its revision tree (every leaf, losing and deleted
branches too) and the revision archive, which keeps every body ever accepted
(docs/adr/004-revision-archive.md): who wrote each revision and when. A deletion
carries no author; the gateway notes who pushed it (`Deletions`), and a deletion the
server's merge wrote names the revision it merged into.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sync.cases import database_name
from sync.crypto import CryptoError, open_envelope
from sync.store import Store
from sync.store.errors import NotFound

from ..errors import InvalidInput, NotFoundError
from ..keys.service import KeyService
from .cases import Cases
from .deletions import Deletions

# The types a case database holds, in the order the case page and the API list them.
DOC_TYPES = ("case", "family", "assessment", "plan", "visit", "note", "consent")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownDocType(InvalidInput):
    """A `type` filter naming no document type of a case (the wire contract's code)."""

    code = "unknown_doc_type"


def check_doc_type(value: str | None) -> str | None:
    """`value` if it names a case document type (None: no filter), else UnknownDocType."""
    if value is None or value in DOC_TYPES:
        return value
    raise UnknownDocType(
        f"type must be one of {', '.join(DOC_TYPES)}", field="type", parameter="type"
    )


def moment(value: object) -> datetime:
    """A document's RFC 3339 time (or date) as an aware datetime, for ordering; the
    epoch for a missing or unreadable one, so it sorts first instead of failing."""
    if not isinstance(value, str) or not value:
        return _EPOCH
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def happened_at(doc: dict) -> str:
    """When what a document records happened: a visit's start, a note's moment."""
    when = doc.get("starts_at") if doc["type"] == "visit" else doc.get("occurred_at")
    return when or doc.get("created_at") or doc.get("updated_at") or ""


@dataclass(frozen=True)
class Revision:
    """One revision of a document: who wrote it, when, and what the merge made of it."""

    rev: str
    updated_by: str | None
    updated_at: str | None
    deleted: bool
    merged_from: tuple[str, ...] = ()
    merged_into: str | None = None

    def to_json(self) -> dict:
        return {
            "rev": self.rev,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
            "deleted": self.deleted,
            "merged_from": list(self.merged_from),
            "merged_into": self.merged_into,
        }


@dataclass
class TimelineEntry:
    """A visit or a note on the timeline; a note carries its amendments, oldest first."""

    doc: dict
    at: str
    amendments: list[dict] = field(default_factory=list)


@dataclass
class CaseFile:
    """The live documents of one case, decrypted (`unreadable`: ids that would not open)."""

    case_id: str
    documents: list[dict]
    unreadable: list[str] = field(default_factory=list)

    @property
    def doc_ids(self) -> list[str]:
        return [doc["_id"] for doc in self.documents]

    def of_type(self, doc_type: str) -> list[dict]:
        return [doc for doc in self.documents if doc["type"] == doc_type]

    def get(self, doc_id: str) -> dict | None:
        return next((doc for doc in self.documents if doc["_id"] == doc_id), None)

    def amendments_of(self, note_id: str) -> list[dict]:
        """The amendment notes that correct `note_id`, in the order they were written."""
        found = [
            doc
            for doc in self.of_type("note")
            if doc.get("kind") == "amendment" and doc.get("amends") == note_id
        ]
        return sorted(found, key=lambda d: (moment(happened_at(d)), moment(d.get("created_at"))))

    def timeline(self) -> list[TimelineEntry]:
        """Visits and notes by the time they happened, oldest first; an amendment goes
        with the note it amends (after it), not at its own time, so the correction is
        read beside the original. One whose original is gone stands on its own."""
        notes = {doc["_id"] for doc in self.of_type("note")}
        entries = [
            TimelineEntry(doc, happened_at(doc), self.amendments_of(doc["_id"]))
            for doc in self.documents
            if doc["type"] == "visit" or (doc["type"] == "note" and not _amends_one_of(doc, notes))
        ]
        return sorted(entries, key=lambda e: (moment(e.at), e.doc["type"] != "visit"))


def _amends_one_of(doc: dict, notes: set[str]) -> bool:
    return doc.get("kind") == "amendment" and doc.get("amends") in notes


def readable_case(cases: Cases, account: dict, case_id: str, today: date) -> dict:
    """The case, if `account` may read its client documents (`Cases.may_read`: the
    team's supervisor, a worker assigned today); NotFoundError otherwise, so a case one
    may not read is never confirmed to exist. An administrator reads no client content
    at all; a crypto-shredded case has none left."""
    if account["role"] == "admin":
        raise NotFoundError("administrators see no client documents")
    case = cases.get(case_id)
    if case["shredded_at"] or not cases.may_read(account, case, today):
        raise NotFoundError(f"no case {case_id}")
    return case


class CaseFiles:
    """Reads case files from the store with the case keys (a cheap object: make one
    where needed, `CaseFiles.of(site)`)."""

    def __init__(self, store: Store, keys: KeyService, deletions: Deletions):
        self.store = store
        self.keys = keys
        self.deletions = deletions

    @classmethod
    def of(cls, site) -> CaseFiles:
        """The case files of a `server.site.Site`."""
        return cls(site.store, site.keys, site.deletions)

    def open(self, case_id: str, doc_type: str | None = None) -> CaseFile:
        """Every live document of the case (of `doc_type` only: the envelope says the
        type in the clear, so nothing else is decrypted), by type, then by time."""
        check_doc_type(doc_type)
        lookup = _remembering(self.keys.lookup)
        documents, unreadable = [], []
        for row in self._database(case_id).all_docs(include_docs=True)["rows"]:
            envelope = row.get("doc") or {}
            if "ciphertext" not in envelope or doc_type not in (None, envelope.get("doc_type")):
                continue
            try:
                documents.append(open_envelope(envelope, lookup))
            except CryptoError:
                unreadable.append(row["id"])
        documents.sort(key=_file_order)
        return CaseFile(case_id, documents, unreadable)

    def document(self, case_id: str, doc_id: str) -> dict:
        """One live document, decrypted; NotFoundError if it is not (or no longer) there."""
        try:
            envelope = self._database(case_id).get(doc_id)
            return open_envelope(envelope, self.keys.lookup)
        except NotFound:
            raise NotFoundError(f"no document {doc_id} in case {case_id}") from None
        except CryptoError:
            raise NotFoundError(f"document {doc_id} of case {case_id} cannot be opened") from None

    def history(self, case_id: str, doc_id: str) -> list[Revision]:
        """Every revision of the document in its tree, oldest first, with its author
        and time (from the archived body; a deletion's from who pushed it)."""
        db = self._database(case_id)
        revs: dict[str, None] = {}
        for leaf in db.get(doc_id, open_revs="all", revs=True):
            if "ok" in leaf:
                revs.update(dict.fromkeys(_ancestry(leaf["ok"])))
        deleters = self.deletions.of_document(case_id, doc_id)
        lookup = _remembering(self.keys.lookup)
        history = [
            _revision(rev, db.archived(doc_id, rev), deleters.get(rev), lookup) for rev in revs
        ]
        return sorted(history, key=lambda r: (_generation(r.rev), moment(r.updated_at), r.rev))

    def _database(self, case_id: str):
        try:
            return self.store.database(database_name(case_id))
        except NotFound:
            raise NotFoundError(f"no case {case_id}") from None


def _file_order(doc: dict) -> tuple:
    kind = DOC_TYPES.index(doc["type"]) if doc["type"] in DOC_TYPES else len(DOC_TYPES)
    return (kind, moment(happened_at(doc)), doc["_id"])


def _ancestry(doc: dict) -> list[str]:
    """The revision ids from a leaf down to the oldest one its tree still knows."""
    path = doc.get("_revisions") or {"start": int(doc["_rev"].split("-")[0]), "ids": []}
    ids = path["ids"] or [doc["_rev"].split("-", 1)[1]]
    return [f"{path['start'] - i}-{rev_hash}" for i, rev_hash in enumerate(ids)]


def _generation(rev: str) -> int:
    return int(rev.split("-", 1)[0])


def _revision(rev: str, body: dict | None, deleter, lookup) -> Revision:
    """A revision from its archived body (None: the archive never saw it)."""
    if body is None:
        return Revision(rev, None, None, False)
    if body.get("_deleted"):
        by, at = deleter if deleter else (None, None)
        return Revision(rev, by, at, True, merged_into=body.get("merged_into"))
    merged_from = tuple(body.get("merged_from") or ())
    try:
        doc = open_envelope(body, lookup)
    except CryptoError:  # a key destroyed since (shredding): the stamps are gone too
        return Revision(rev, None, None, False, merged_from)
    return Revision(rev, doc.get("updated_by"), doc.get("updated_at"), False, merged_from)


def _remembering(lookup: Callable[[str, int], bytes | None]):
    """`lookup` asked once per key version for the whole read (each ask unwraps a key)."""
    known: dict[tuple[str, int], bytes | None] = {}

    def remembered(case_id: str, version: int) -> bytes | None:
        if (case_id, version) not in known:
            known[case_id, version] = lookup(case_id, version)
        return known[case_id, version]

    return remembered
