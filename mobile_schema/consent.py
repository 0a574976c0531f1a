"""Consent (suostumus): scoped, dated, revocable permission to cooperate with a service."""

from . import fields as f
from .base import SCALAR, CaseDocumentSchema

SERVICE_KINDS = (
    "daycare",
    "child_health_clinic",
    "school",
    "family_counselling",
    "specialist_care",
    "adult_social_work",
    "other",
)


class ConsentSchema(CaseDocumentSchema):
    doc_type = "consent"
    # All scalar, the scope too: a scope merged from two edits is one the client never
    # agreed to, so differing edits keep both for a worker to settle with the client.
    merge_rules = {
        "service_kind": SCALAR,
        "service_name": SCALAR,
        "scope": SCALAR,
        "given_by": SCALAR,
        "valid_from": SCALAR,
        "valid_to": SCALAR,
        "withdrawn_at": SCALAR,
    }

    service_kind = f.choice(SERVICE_KINDS)
    service_name = f.name()
    scope = f.text(f.MEDIUM_TEXT, required=True)
    given_by = f.doc_id()
    valid_from = f.date(required=True)
    valid_to = f.date()
    withdrawn_at = f.timestamp()
