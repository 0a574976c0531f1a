"""Documents with collisions to reconcile: a worker's own, a supervisor's team's
(never an administrator's: the documents are client data)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import Schema, fields

from .context import person, person_required, site
from .openapi import documented

bp = Blueprint("reconciliation", __name__, url_prefix="/api")


class ItemSchema(Schema):
    path = fields.String()
    kind = fields.String()
    ours_by = fields.String()
    ours_at = fields.String()
    theirs_by = fields.String()
    theirs_at = fields.String()


class OpenDocumentSchema(Schema):
    case_id = fields.String()
    doc_id = fields.String()
    doc_type = fields.String()
    items = fields.List(fields.Nested(ItemSchema))
    updated_at = fields.String()


@bp.get("/reconciliation")
@person_required()
@documented(
    "Documents with items to reconcile (workers: their cases; supervisors: their "
    "team's; administrators: none, it is client data). Each item names the field and "
    "both authors and times.",
    response=OpenDocumentSchema,
    many=True,
    tag="reconciliation",
)
def open_documents():
    account = person()
    if account["role"] == "admin":  # an administrator reads no client content
        return jsonify([])
    cases = [case["id"] for case in site().cases.visible(account)]
    out = []
    for row in site().reconciliation.open_items(cases):
        doc = site().records.read(row["case_id"], row["doc_id"])
        site().access_log.record(account["id"], row["case_id"], [row["doc_id"]], "read")
        out.append(row | {"items": doc.get("reconciliation") or []})
    return jsonify(OpenDocumentSchema(many=True).dump(out))
