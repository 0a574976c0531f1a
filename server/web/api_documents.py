"""The documents of a case, decrypted, for integrations: the list (filterable by type)
and one document with its amendments and its history of revisions.

The same reads as the case page (`server.casework.case_file`) under the same rule
(`readable_case`): the team's supervisor and the workers assigned today; another
team's case, an unknown one and, for an administrator, every case is 404 (never 403,
which would confirm it exists). Every answer that carries client data writes one
access log entry with the purpose `integration`, naming the documents it returns.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields

from ..casework.case_file import DOC_TYPES, CaseFiles, check_doc_type, readable_case
from .context import person, person_required, site, today
from .openapi import documented, query_parameter

bp = Blueprint("documents", __name__, url_prefix="/api")
PURPOSE = "integration"

TYPE_QUERY = query_parameter(
    "type",
    {"type": "string", "enum": list(DOC_TYPES)},
    "only documents of this type (any other value: 400 unknown_doc_type)",
)
DOCUMENT = {
    "type": "object",
    "description": (
        "A decrypted client document as the wire contract defines it (docs/PROTOCOL.md,"
        " `sopu schema export`), with its current `_rev`. An assessment's `concern_zone`"
        " is x-private: never a statistic, filter or search key."
    ),
    "properties": {
        "_id": {"type": "string"},
        "_rev": {"type": "string"},
        "type": {"type": "string", "enum": list(DOC_TYPES)},
        "updated_at": {"type": "string"},
        "updated_by": {"type": "string"},
    },
    "required": ["_id", "_rev", "type"],
}


class RevisionSchema(Schema):
    rev = fields.String(required=True)
    updated_by = fields.String(allow_none=True, metadata={"description": "worker id"})
    updated_at = fields.String(allow_none=True)
    deleted = fields.Boolean(required=True)
    merged_from = fields.List(
        fields.String(), metadata={"description": "the leaves a server merge took in"}
    )
    merged_into = fields.String(
        allow_none=True, metadata={"description": "a merge's deletion: the merged revision"}
    )


class DocumentWithHistorySchema(Schema):
    document = fields.Dict(required=True)
    amendments = fields.List(fields.Dict(), required=True)
    history = fields.List(fields.Nested(RevisionSchema), required=True)


@bp.get("/cases/<case_id>/documents")
@person_required()
@documented(
    "The live documents of a case, decrypted (?type=note…), by type and time; the read is"
    " access-logged (purpose integration). Administrators: 404 (no client content).",
    response=DOCUMENT,
    many=True,
    tag="documents",
    query=(TYPE_QUERY,),
)
def list_documents(case_id: str):
    account = person()
    case = readable_case(site().cases, account, case_id, today())
    doc_type = check_doc_type(request.args.get("type"))
    file = CaseFiles.of(site()).open(case["id"], doc_type)
    _log(account, case["id"], file.doc_ids)
    return jsonify(file.documents)


@bp.get("/cases/<case_id>/documents/<doc_id>")
@person_required()
@documented(
    "One document, decrypted, with the amendment notes that correct it and the history"
    " of its revisions (who, when, deletions, merges), oldest first; access-logged.",
    response=DocumentWithHistorySchema,
    tag="documents",
)
def get_document(case_id: str, doc_id: str):
    account = person()
    case = readable_case(site().cases, account, case_id, today())
    files = CaseFiles.of(site())
    document = files.document(case["id"], doc_id)
    amendments = []
    if document["type"] == "note":
        amendments = files.open(case["id"], "note").amendments_of(doc_id)
    history = [revision.to_json() for revision in files.history(case["id"], doc_id)]
    _log(account, case["id"], [doc_id, *(a["_id"] for a in amendments)])
    body = {"document": document, "amendments": amendments, "history": history}
    return jsonify(DocumentWithHistorySchema().dump(body))


def _log(account: dict, case_id: str, doc_ids: list[str]) -> None:
    if doc_ids:
        site().access_log.record(account["id"], case_id, doc_ids, "read", purpose=PURPOSE)
