"""Every document type that travels, by its `type` tag."""

from .assessment import AssessmentSchema
from .base import DocumentSchema
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
    )
}
