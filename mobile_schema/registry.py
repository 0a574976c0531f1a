"""Every document type that travels, by its `type` tag."""

from .access_event import AccessEventSchema
from .assessment import AssessmentSchema
from .base import ITEMS, OBJECT, DocumentSchema, merge_fields
from .case import CaseSchema
from .consent import ConsentSchema
from .family import FamilySchema
from .note import NoteSchema
from .observation import ObservationSchema
from .plan import PlanSchema
from .visit import VisitSchema

DOC_TYPES: dict[str, type[DocumentSchema]] = {
    schema.doc_type: schema
    for schema in (
        FamilySchema,
        CaseSchema,
        AssessmentSchema,
        PlanSchema,
        VisitSchema,
        NoteSchema,
        ConsentSchema,
        ObservationSchema,
        AccessEventSchema,
    )
}


def merge_rules(doc_type: str) -> dict[str, str]:
    """How every field of `doc_type` merges, by path (`*` stands for any list item).

    E.g. `{"/discussion": "text", "/agreed_actions": "items",
    "/agreed_actions/*/text": "text", ...}`. Raises KeyError for an unknown type and
    TypeError if some field declares no rule.
    """
    return dict(_flatten_rules(DOC_TYPES[doc_type], ""))


def _flatten_rules(schema_cls: type, prefix: str):
    for key, field in merge_fields(schema_cls).items():
        path = f"{prefix}/{key}"
        yield path, field.rule
        if field.rule == ITEMS:
            yield from _flatten_rules(field.nested, f"{path}/*")
        elif field.rule == OBJECT:
            yield from _flatten_rules(field.nested, path)
