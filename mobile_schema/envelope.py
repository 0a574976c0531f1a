"""The encrypted envelope: the only form in which client documents travel and rest.

Routing metadata is in the clear (random ids, the document type, versions); everything
about the family is inside `ciphertext`. `docs/PROTOCOL.md` specifies the bytes.
A deletion (tombstone) is just `_id`, `_rev` and `_deleted: true`, as PouchDB writes it.

Two fields only the server writes, when it merges concurrent revisions: a merged
revision lists the leaves it merged (`merged_from`), and the deletions it puts on the
other leaves name the merged revision (`merged_into`). Apps keep them as they arrive
and never set them (docs/adr/011-merge-history.md).
"""

from . import fields as f
from .base import RequiredWhen, StrictSchema
from .registry import DOC_TYPES

BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
NONCE_BASE64 = r"^[A-Za-z0-9+/]{16}$"
MAX_CIPHERTEXT = 2_800_000  # base64 of ~2 MiB; stores enforce their own byte limit too
ENVELOPE_FIELDS = ("doc_type", "schema_version", "case_id", "key_version", "nonce", "ciphertext")
# Every integer in an envelope is bounded: far above any real value, far below what
# SQLite, PostgreSQL or a 64-bit client could not hold (the server refuses the rest).
MAX_KEY_VERSION = 1_000_000
MAX_REVISION_POSITION = 999_999_999
MAX_REVISION_HASH = 128  # hex digits; Sopu, CouchDB and PouchDB write 32
REV_PATTERN = r"^[1-9][0-9]{0,8}-[0-9a-f]{1,128}$"
MAX_MERGED_LEAVES = 1000


def _rev(**kwargs) -> f.String:
    return f.String(validate=f.Pattern(REV_PATTERN, "Expected a revision id N-hex."), **kwargs)


class RevisionsSchema(StrictSchema):
    """CouchDB's `_revisions` encoding of a revision's ancestry (replication only)."""

    start = f.integer(1, MAX_REVISION_POSITION)
    ids = f.List(
        f.String(validate=f.Pattern(r"^[0-9a-f]{1,128}$", "Expected a revision hash.")),
        required=True,
        validate=f.non_empty(1000),
    )


class EnvelopeSchema(StrictSchema):
    required_when = (RequiredWhen("_deleted", True, ENVELOPE_FIELDS, unless=True),)

    id_ = f.doc_id(data_key="_id")
    rev = _rev(data_key="_rev", required=False, allow_none=True)
    deleted = f.flag(data_key="_deleted")
    revisions = f.Nested(RevisionsSchema, data_key="_revisions", required=False, allow_none=True)
    doc_type = f.choice(sorted(DOC_TYPES), required=False)
    schema_version = f.integer(1, required=False)
    case_id = f.doc_id(required=False)
    key_version = f.integer(1, MAX_KEY_VERSION, required=False)
    nonce = f.String(
        required=False,
        allow_none=True,
        validate=f.Pattern(NONCE_BASE64, "Expected 12 bytes in standard base64 (16 chars)."),
    )
    ciphertext = f.String(
        required=False,
        allow_none=True,
        validate=[
            f.Pattern(BASE64, "Expected standard base64 with padding."),
            f.Size(min=24, max=MAX_CIPHERTEXT),
        ],
    )
    merged_from = f.List(
        _rev(required=True),
        required=False,
        allow_none=True,
        validate=f.non_empty(MAX_MERGED_LEAVES),
    )
    merged_into = _rev(required=False, allow_none=True)
