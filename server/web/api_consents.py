"""Consents and disclosures of a case, for the field app's back office and integrations.

- `POST /api/cases/<id>/consents`: a guardian gives consent to cooperate with a named
  service (for a scope, valid from/to); `POST …/consents/<consent id>/withdraw` records
  its withdrawal (never a deletion); `GET …/consents` lists every consent with its
  revision history and lifecycle (given, withdrawn: who recorded it, when, which
  guardian). Reads are access-logged (purpose `case_work` / `supervision`).
- `POST /api/cases/<id>/disclosures` records that information was given to another
  service, refused with a code per reason when its consent does not hold
  (`server.legal.disclosures`); `GET …/disclosures` is the case's disclosure log.

Who: reading, the people who may read the case (`readable_case`: never an admin);
giving, withdrawing and recording a disclosure, only an instructor assigned to the
case today (403 for its supervisor, who reads). Anyone else: 404.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import Schema, fields

from mobile_schema import fields as f
from mobile_schema.base import StrictSchema
from mobile_schema.consent import SERVICE_KINDS
from mobile_schema.json_schema import object_schema

from ..access_log import ROLE_PURPOSES
from ..casework.case_file import CaseFiles, readable_case
from ..casework.consents import consent_history, state_on
from ..disclosure_log import check_documents
from ..errors import Forbidden
from ..legal.disclosures import BASES, STATUTES
from .api_documents import RevisionSchema
from .context import person, person_required, site, today
from .io import load
from .openapi import documented

bp = Blueprint("consents", __name__, url_prefix="/api")


class GiveConsentSchema(StrictSchema):
    """A consent as the guardian gave it (the server stamps id, case and authorship)."""

    service_kind = f.choice(SERVICE_KINDS)
    service_name = f.name()
    scope = f.text(f.MEDIUM_TEXT, required=True)
    given_by = f.doc_id(required=False)
    valid_from = f.date(required=True)
    valid_to = f.date()


class WithdrawConsentSchema(StrictSchema):
    """Who withdrew (a guardian of the family, optional) and when (default: now)."""

    withdrawn_by = f.doc_id(required=False)
    withdrawn_at = f.timestamp()


class NewDisclosureSchema(StrictSchema):
    recipient = f.name()
    basis = f.choice(BASES)
    consent_id = f.doc_id(required=False)
    statute = f.name(required=False)  # checked against the table: 400 unknown_statute
    doc_ids = f.List(f.doc_id(), required=True, validate=f.non_empty(200))
    member_ids = f.strings(f.doc_id(), limit=30)
    disclosed_on = f.date()


class LifecycleEventSchema(Schema):
    event = fields.String(metadata={"enum": ["given", "withdrawn"]})
    recorded_by = fields.String(allow_none=True, metadata={"description": "worker id"})
    at = fields.String(allow_none=True)
    guardian = fields.String(allow_none=True, metadata={"description": "family member id"})


class ConsentWithHistorySchema(Schema):
    consent = fields.Dict(required=True)
    state = fields.String(metadata={"enum": ["valid", "not_yet", "expired", "withdrawn"]})
    history = fields.List(fields.Nested(RevisionSchema))
    events = fields.List(fields.Nested(LifecycleEventSchema))


class DisclosureSchema(Schema):
    seq = fields.Integer()
    at = fields.String()
    worker_id = fields.String()
    case_id = fields.String()
    member_ids = fields.List(fields.String())
    doc_ids = fields.List(fields.String())
    recipient = fields.String()
    basis = fields.String(metadata={"enum": list(BASES)})
    consent_id = fields.String(allow_none=True)
    statute = fields.String(allow_none=True, metadata={"enum": [*STATUTES, None]})
    disclosed_on = fields.String()
    prev_hash = fields.String()
    hash = fields.String()


def _request_doc(schema_cls: type[StrictSchema], description: str) -> dict:
    return {**object_schema(schema_cls), "description": description}


# ---------------------------------------------------------------- consents


@bp.get("/cases/<case_id>/consents")
@person_required()
@documented(
    "Every consent of the case with its revisions and lifecycle (given, withdrawn: who"
    " recorded it, when, which guardian), newest first; access-logged.",
    response=ConsentWithHistorySchema,
    many=True,
    tag="consents",
)
def list_consents(case_id: str):
    account = person()
    case = readable_case(site().cases, account, case_id, today())
    rows = consent_rows(case["id"])
    ids = [row["consent"]["_id"] for row in rows]
    if ids:
        site().access_log.record(
            account["id"], case["id"], ids, "read", purpose=ROLE_PURPOSES[account["role"]]
        )
    return jsonify(ConsentWithHistorySchema(many=True).dump(rows))


def consent_rows(case_id: str) -> list[dict]:
    """The consents of a case with their history and state today (the page's too)."""
    files = CaseFiles.of(site())
    file = files.open(case_id, "consent")
    histories = {doc["_id"]: files.history(case_id, doc["_id"]) for doc in file.documents}
    rows = consent_history(file, histories, site().consents.events(case_id))
    return [row | {"state": state_on(row["consent"], today())} for row in rows]


@bp.post("/cases/<case_id>/consents")
@person_required("worker", "supervisor")
@documented(
    "Record a consent a guardian gave (a sealed consent document, synced to the"
    " instructors' devices); only an instructor assigned to the case.",
    request=lambda: _request_doc(GiveConsentSchema, "the consent as given"),
    response={"type": "object", "description": "the consent document"},
    status=201,
    tag="consents",
    errors=(403, 409),
)
def give_consent(case_id: str):
    case = instructors_case(case_id)
    data = GiveConsentSchema().dump(load(GiveConsentSchema()))
    return jsonify(site().consents.give(case["id"], person()["id"], data)), 201


@bp.post("/cases/<case_id>/consents/<consent_id>/withdraw")
@person_required("worker", "supervisor")
@documented(
    "Withdraw a consent: a new revision with withdrawn_at (nothing is deleted); which"
    " guardian withdrew is kept in the audit log. 409 consent_already_withdrawn.",
    request=lambda: _request_doc(WithdrawConsentSchema, "who withdrew, and when"),
    response={"type": "object", "description": "the consent document"},
    tag="consents",
    errors=(403, 409),
)
def withdraw_consent(case_id: str, consent_id: str):
    case = instructors_case(case_id)
    data = WithdrawConsentSchema().dump(load(WithdrawConsentSchema()))
    doc = site().consents.withdraw(
        case["id"], consent_id, person()["id"], data.get("withdrawn_by"), data.get("withdrawn_at")
    )
    return jsonify(doc)


def instructors_case(case_id: str) -> dict:
    """The case, if the person is an instructor assigned to it today (404 / 403)."""
    account = person()
    case = readable_case(site().cases, account, case_id, today())
    if not site().cases.is_assigned(account["id"], case["id"], today()):
        raise Forbidden("only an instructor assigned to the case records consents and disclosures")
    return case


# ---------------------------------------------------------------- disclosures


@bp.get("/cases/<case_id>/disclosures")
@person_required()
@documented(
    "The disclosure log of the case (ids, codes and the recipient's name), oldest first",
    response=DisclosureSchema,
    many=True,
    tag="consents",
)
def list_disclosures(case_id: str):
    account = person()
    case = readable_case(site().cases, account, case_id, today())
    rows = site().disclosures.of_case(case["id"])
    ids = {doc_id for row in rows for doc_id in row["doc_ids"]}
    if ids:  # who received which documents is itself about the client: logged as a read
        site().access_log.record(
            account["id"], case["id"], ids, "read", purpose=ROLE_PURPOSES[account["role"]]
        )
    return jsonify(DisclosureSchema(many=True).dump(rows))


@bp.post("/cases/<case_id>/disclosures")
@person_required("worker", "supervisor")
@documented(
    "Record that documents of the case were given to another service, on a valid"
    " consent (409 consent_missing, consent_not_yet_valid, consent_expired,"
    " consent_withdrawn, consent_out_of_scope), a statute of the fixed table, or to the"
    " client; the documents must be live documents of the case.",
    request=lambda: _request_doc(NewDisclosureSchema, "what was given, to whom, on which basis"),
    response=DisclosureSchema,
    status=201,
    tag="consents",
    errors=(403, 409),
)
def record_disclosure(case_id: str):
    case = instructors_case(case_id)
    data = load(NewDisclosureSchema())
    members = data.get("member_ids") or []
    check_documents(CaseFiles.of(site()).open(case["id"]), data["doc_ids"], members)
    row = site().disclosures.record(
        person()["id"],
        case["id"],
        recipient=data["recipient"],
        basis=data["basis"],
        doc_ids=data["doc_ids"],
        member_ids=members,
        consent_id=data.get("consent_id"),
        statute=data.get("statute"),
        disclosed_on=data.get("disclosed_on"),
        today=today(),
    )
    return jsonify(DisclosureSchema().dump(row)), 201
