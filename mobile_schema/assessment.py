"""Service-need assessment (palvelutarpeen arviointi, SHL 36 §).

`concern_zone` (huolen vyöhykkeistö) is the worker's private reflection aid. It is
marked `private` in the field metadata: never a statistic, a filter or a search key.
"""

from . import fields as f
from .base import IMMUTABLE, ITEMS, SCALAR, TEXT, CaseDocumentSchema, StrictSchema

CONCERN_ZONES = ("no_concern", "small", "considerable", "great")


class ChildViewSchema(StrictSchema):
    """A child's own view, in the child's own words."""

    merge_rules = {"id": IMMUTABLE, "member_id": IMMUTABLE, "view": TEXT}

    id = f.doc_id()
    member_id = f.doc_id()
    view = f.text(required=True)


class AssessmentSchema(CaseDocumentSchema):
    doc_type = "assessment"
    merge_rules = {
        "started_on": SCALAR,
        "completed_on": SCALAR,
        "client_view": TEXT,
        "child_views": ITEMS,
        "worker_conclusions": TEXT,
        "urgent_need": SCALAR,
        "child_protection_need": SCALAR,
        "own_worker_needed": SCALAR,
        "concern_zone": SCALAR,
    }

    started_on = f.date(required=True)
    completed_on = f.date()
    client_view = f.text()
    child_views = f.items(ChildViewSchema, limit=20)
    worker_conclusions = f.text()
    urgent_need = f.flag()
    child_protection_need = f.flag()
    own_worker_needed = f.flag()
    concern_zone = f.choice(CONCERN_ZONES, required=False, metadata={"private": True})
