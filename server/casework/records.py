"""Writing and reading client documents of a case, sealed with the case key.

The only place on the server where plaintext client documents exist, and only in
memory: they are validated against the wire contract, sealed, and stored as
envelopes. Nothing here logs document contents.
"""

from __future__ import annotations

from mobile_schema import validate_document
from sync.cases import database_name
from sync.crypto import open_envelope, seal
from sync.store import Store

from ..gateway.heads import Heads
from ..keys.service import KeyService
from .note_states import NoteStates


class Records:
    def __init__(
        self, store: Store, keys: KeyService, heads: Heads, notes: NoteStates | None = None
    ):
        self.store = store
        self.keys = keys
        self.heads = heads
        self.notes = notes

    def write(self, case_id: str, docs: list[dict]) -> list[dict]:
        """Validate, seal with the case's current key, and store; per-doc results.

        Written documents are noted in the sync heads, so devices pick them up, and
        written notes in the note index (`note_states`).
        """
        key = self.keys.current(case_id)
        checked = [validate_document(doc) | _rev(doc) for doc in docs]
        envelopes = [seal(doc, key) for doc in checked]
        db = self.store.database(database_name(case_id))
        with self.heads.writing(case_id, [d["_id"] for d in checked]) as write:
            results = db.bulk_docs(envelopes)
            written = {r["id"] for r in results if r.get("ok")}
            write.visits = {
                d["_id"]: d["starts_at"][:10]
                for d in checked
                if d["type"] == "visit" and d["_id"] in written
            }
        if self.notes is not None:
            self.notes.note(case_id, [d for d in checked if d["_id"] in written])
        return results

    def read(self, case_id: str, doc_id: str) -> dict:
        envelope = self.store.database(database_name(case_id)).get(doc_id)
        return open_envelope(envelope, self.keys.lookup)


def _rev(doc: dict) -> dict:
    return {"_rev": doc["_rev"]} if "_rev" in doc else {}
