"""Note (kirjaus): one entry per event, written together with the client.

A note is a draft until finalised; a final note is immutable and corrections are
separate amendment notes (`amends` names the original) that keep the original readable.
"""

from . import fields as f
from .base import (
    IMMUTABLE,
    ITEMS,
    OBJECT,
    PROGRESS,
    SCALAR,
    TEXT,
    CaseDocumentSchema,
    RequiredWhen,
    StrictSchema,
)

NOTE_STATES = ("draft", "final")
REVIEW_STATUSES = ("not_reviewed", "read", "agrees", "disagrees")


class AgreedActionSchema(StrictSchema):
    merge_rules = {"id": IMMUTABLE, "text": TEXT, "responsible": SCALAR, "due_on": SCALAR}

    id = f.doc_id()
    text = f.text(f.MEDIUM_TEXT, required=True)
    responsible = f.text(f.SHORT_TEXT)
    due_on = f.date()


class ClientReviewSchema(StrictSchema):
    """Did the client read the note, and do they agree? In their own words if not."""

    merge_rules = {"status": SCALAR, "comment": TEXT}

    status = f.choice(REVIEW_STATUSES)
    comment = f.text(f.MEDIUM_TEXT)


class NoteSchema(CaseDocumentSchema):
    doc_type = "note"
    required_when = (
        RequiredWhen("state", "final", ("finalised_by", "finalised_at")),
        RequiredWhen("kind", "amendment", ("amends", "amendment_reason")),
    )
    # A final note never changes: a concurrent or later edit becomes an amendment note.
    immutable_when = ("state", "final")
    merge_rules = {
        "kind": IMMUTABLE,
        "visit_id": SCALAR,
        "occurred_at": SCALAR,
        "discussion": TEXT,
        "client_view": TEXT,
        "agreed_actions": ITEMS,
        "written_with_client": SCALAR,
        "client_review": OBJECT,
        "state": PROGRESS,
        "finalised_by": SCALAR,
        "finalised_at": SCALAR,
        "amends": IMMUTABLE,
        "amendment_reason": TEXT,
    }

    kind = f.choice(("entry", "amendment"))
    visit_id = f.doc_id(required=False)
    occurred_at = f.timestamp(required=True)
    discussion = f.text()
    client_view = f.text()
    agreed_actions = f.items(AgreedActionSchema, limit=50)
    written_with_client = f.flag()
    client_review = f.Nested(ClientReviewSchema, required=False, allow_none=True)
    state = f.choice(NOTE_STATES)
    finalised_by = f.doc_id(required=False)
    finalised_at = f.timestamp()
    amends = f.doc_id(required=False)
    amendment_reason = f.text(f.MEDIUM_TEXT)
