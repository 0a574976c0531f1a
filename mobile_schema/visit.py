"""Visit (käynti / tapaaminen): when and where, and who took part."""

from . import fields as f
from .base import IMMUTABLE, ITEMS, SCALAR, CaseDocumentSchema, RequiredWhen, StrictSchema

VISIT_KINDS = ("home", "daycare", "office", "phone", "network_meeting")
VISIT_STATUSES = ("planned", "done", "cancelled")
PARTICIPANT_KINDS = ("worker", "family_member", "external")


class ParticipantSchema(StrictSchema):
    """A worker, a family member, or an outsider such as daycare staff or an interpreter."""

    required_when = (
        RequiredWhen("kind", "worker", ("worker_id",)),
        RequiredWhen("kind", "family_member", ("member_id",)),
        RequiredWhen("kind", "external", ("name",)),
        RequiredWhen("interpreter", True, ("language",)),
    )
    merge_rules = {
        "id": IMMUTABLE,
        "kind": SCALAR,
        "worker_id": SCALAR,
        "member_id": SCALAR,
        "name": SCALAR,
        "organisation": SCALAR,
        "role": SCALAR,
        "interpreter": SCALAR,
        "language": SCALAR,
    }

    id = f.doc_id()
    kind = f.choice(PARTICIPANT_KINDS)
    worker_id = f.doc_id(required=False)
    member_id = f.doc_id(required=False)
    name = f.name(required=False)
    organisation = f.text(f.SHORT_TEXT)
    role = f.text(f.SHORT_TEXT)
    interpreter = f.flag()
    language = f.language()


class VisitSchema(CaseDocumentSchema):
    doc_type = "visit"
    merge_rules = {
        "kind": SCALAR,
        "status": SCALAR,
        "starts_at": SCALAR,
        "ends_at": SCALAR,
        "location": SCALAR,
        "participants": ITEMS,
    }

    kind = f.choice(VISIT_KINDS)
    status = f.choice(VISIT_STATUSES)
    starts_at = f.timestamp(required=True)
    ends_at = f.timestamp()
    location = f.text(f.SHORT_TEXT)
    participants = f.items(ParticipantSchema, limit=50)
