"""Access event: a worker opened client documents on a device, offline or not.

The law lets a family ask who processed their data; on a device nobody else sees
that, so the device writes one of these each time its worker opens client documents
and pushes it with the next sync. It names ids and a time only — the documents
viewed, the device, the worker (`updated_by`) — never what they contain, and it is
sealed with its case's key like any document of the case. It is written once and
never changed or deleted: the server refuses an edit or a deletion of an event
(`access_event_immutable`), so `merge_rules` are all immutable. docs/PROTOCOL.md
("Device-side views") and docs/adr/013-device-side-views.md say how it travels.
"""

from . import fields as f
from .base import IMMUTABLE, CaseDocumentSchema

MAX_VIEWED = 200  # documents one event names: a screen shows a case file at most


class AccessEventSchema(CaseDocumentSchema):
    doc_type = "access_event"
    merge_rules = {"device_id": IMMUTABLE, "viewed_at": IMMUTABLE, "doc_ids": IMMUTABLE}

    device_id = f.doc_id()
    viewed_at = f.timestamp(required=True)
    doc_ids = f.List(
        f.doc_id(),
        required=True,
        allow_none=False,
        validate=f.non_empty(MAX_VIEWED),
    )
