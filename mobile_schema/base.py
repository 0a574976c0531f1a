"""Base schemas: strict objects, coded errors, and declarative conditional requirements."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from marshmallow import RAISE, Schema, ValidationError, validates_schema
from marshmallow import fields as mf
from marshmallow import validate as mv

from . import errors
from . import fields as f
from .versions import CURRENT_VERSION


@dataclass(frozen=True)
class RequiredWhen:
    """`then` fields must be present and non-null when field `when` equals `value`
    (or, with `unless=True`, whenever it does not).

    Declared rather than coded so the JSON Schema export can publish the same rule
    (as `if`/`then`/`else`) and a device gets the same verdict as the server.
    """

    when: str
    value: object
    then: tuple[str, ...]
    unless: bool = False

    def applies(self, original: object) -> bool:
        if not isinstance(original, dict):
            return False
        matches = original.get(self.when) == self.value
        return matches != self.unless


# How a field merges when two workers changed the same document concurrently (see
# sync.merge and docs/adr/010-text-merge.md). Every field of every schema declares one in
# its class's `merge_rules` (wire name -> rule; the tests enforce it), so a new field
# cannot be added without deciding how concurrent edits of it merge.
IMMUTABLE = "immutable"  # fixed at creation; if both sides differ, the original stays
SCALAR = "scalar"  # one value; changed differently on both sides: later kept, both recorded
PROGRESS = "progress"  # a choice that only moves forward: the furthest value is kept
TEXT = "text"  # free text, merged sentence by sentence; overlapping edits keep both
ITEMS = "items"  # list of objects merged by their `id`, each by its own schema's rules
SET = "set"  # list of plain values: additions and removals of both sides apply
OBJECT = "object"  # nested object merged field by field by its schema's rules
STAMP = "stamp"  # author, time and version of the revision: the later side's
REVISION = "revision"  # `_rev`: not content; the caller gives the merged body its revision
MERGE_RULES = frozenset({IMMUTABLE, SCALAR, PROGRESS, TEXT, ITEMS, SET, OBJECT, STAMP, REVISION})


class StrictSchema(Schema):
    """An object with exactly the declared fields; anything else is an error."""

    required_when: tuple[RequiredWhen, ...] = ()
    merge_rules: dict[str, str] = {}  # this class's own fields; subclasses add theirs

    error_messages = {
        "unknown": errors.coded(errors.UNKNOWN_FIELD, "Unknown field."),
        "type": errors.coded(errors.INVALID_TYPE, "Expected a JSON object."),
    }

    class Meta:
        unknown = RAISE

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _check_required_when(self, data, original, **kwargs):
        problems: dict[str, list[str]] = {}
        for rule in self.required_when:
            if not rule.applies(original):
                continue
            for key in rule.then:
                if original.get(key) is None:
                    verb = "is not" if rule.unless else "is"
                    message = f"Required when {rule.when} {verb} {rule.value!r}."
                    problems.setdefault(key, []).append(errors.coded(errors.REQUIRED, message))
        if problems:
            raise ValidationError(problems)


RECONCILIATION_KINDS = (
    "text",
    "value",
    "removed_edited",
    "deleted_edited",
    "finalised_twice",
    "field",
    "compacted",
)
WHOLE_DOCUMENT_KINDS = ("deleted_edited", "finalised_twice", "compacted")
RECONCILED_VALUE_LIMIT = 200_000
RECONCILIATION_LIMIT = 200  # items in a document's `reconciliation` list
COMPACTED_LIMIT = 10_000  # items one `compacted` item can hold


class AcknowledgementSchema(StrictSchema):
    """A worker saw an item and acknowledged it, without editing the document (the way
    to clear an item on a final note, whose content never changes)."""

    merge_rules = {"id": IMMUTABLE, "by": IMMUTABLE, "at": IMMUTABLE}

    id = f.doc_id()
    by = f.doc_id()
    at = f.timestamp(required=True)


class ReconciledItemSchema(StrictSchema):
    """Both versions of something two workers changed differently, kept for reconciling.

    Written by the server's merge, never hidden: `path` names the field (list items by
    their `id`, e.g. `/goals/<id>/title`; empty for the whole document); `ours` and
    `theirs` are the JSON text of each side's value there (`null` when that side removed
    or emptied it), `ours` being the earlier revision and `theirs` the later one. `kind`:
    `text` (overlapping edits of free text: the field holds both passages, ours first),
    `value` (a value changed differently: the field holds theirs), `removed_edited` (one
    side removed what the other edited: the edited version is kept), `field` (several
    collisions in one field, kept as one item: both sides' whole field; the field holds
    the merge), `deleted_edited` (one side deleted the document while the other edited
    it: the document is kept; the deleting side's value is `null`, the other's the
    document's id), `finalised_twice` (both finalised a note differently: the first
    finalisation is the note, the other is kept as a final amendment; the values are
    the ids of the note and of the amendment) or `compacted` (older items moved into
    this one, in `compacted`, so the document stays within its limits). An item is open
    until a worker acknowledges it (`acknowledged`) or removes it by editing the
    document.
    """

    merge_rules = {  # an item never changes: it is added, acknowledged, and removed
        "id": IMMUTABLE,
        "path": IMMUTABLE,
        "kind": IMMUTABLE,
        "ours": IMMUTABLE,
        "ours_by": IMMUTABLE,
        "ours_at": IMMUTABLE,
        "theirs": IMMUTABLE,
        "theirs_by": IMMUTABLE,
        "theirs_at": IMMUTABLE,
        "acknowledged": ITEMS,
    }

    id = f.doc_id()
    path = f.String(
        required=True,
        validate=f.Pattern(
            r"^(/[a-z0-9_]+)*$",
            "Expected a path such as /goals/<id>/title (empty: the whole document).",
        ),
    )
    kind = f.choice(RECONCILIATION_KINDS)
    ours = f.text(RECONCILED_VALUE_LIMIT, required=True)
    ours_by = f.doc_id()
    ours_at = f.timestamp(required=True)
    theirs = f.text(RECONCILED_VALUE_LIMIT, required=True)
    theirs_by = f.doc_id()
    theirs_at = f.timestamp(required=True)
    acknowledged = f.items(AcknowledgementSchema, limit=20)


class ReconciliationSchema(ReconciledItemSchema):
    """One item of a document's `reconciliation` list (see ReconciledItemSchema); a
    `compacted` item holds the older items it replaced, verbatim."""

    merge_rules = {"compacted": IMMUTABLE}

    compacted = f.items(ReconciledItemSchema, limit=COMPACTED_LIMIT)


def is_open(item: dict) -> bool:
    """An item is open until someone acknowledges it."""
    return not item.get("acknowledged")


def open_items(doc: dict) -> list[dict]:
    """The reconciliation items of `doc` nobody has acknowledged yet."""
    return [i for i in doc.get("reconciliation") or [] if isinstance(i, dict) and is_open(i)]


class DocumentSchema(StrictSchema):
    """Fields every client document carries.

    `updated_by`/`updated_at` name the author and time of each revision: merge needs
    them to say who wrote each side of a collision. `reconciliation` lists what
    concurrent edits left for a worker to reconcile.
    """

    doc_type: str = ""
    immutable_when: tuple[str, object] | None = None  # (field, value): edits → amendments
    merge_rules = {
        "_id": IMMUTABLE,
        "_rev": REVISION,
        "type": IMMUTABLE,
        "schema_version": STAMP,
        "created_at": IMMUTABLE,
        "created_by": IMMUTABLE,
        "updated_at": STAMP,
        "updated_by": STAMP,
        "reconciliation": ITEMS,
    }

    id_ = f.doc_id(data_key="_id")
    rev = f.String(
        data_key="_rev",
        required=False,
        allow_none=True,
        validate=f.Pattern(r"^[1-9][0-9]*-[0-9a-f]+$", "Expected a revision id N-hex."),
    )
    type = f.String(required=True)
    schema_version = f.integer(CURRENT_VERSION, CURRENT_VERSION)  # older ones are upgraded first
    created_at = f.timestamp()
    created_by = f.doc_id(required=False)
    updated_at = f.timestamp(required=True)
    updated_by = f.doc_id()
    reconciliation = f.items(ReconciliationSchema, limit=RECONCILIATION_LIMIT)

    def __init_subclass__(cls, **kwargs):
        """Pin `type` to the subclass's `doc_type`, so a note can never pass as a visit."""
        super().__init_subclass__(**kwargs)
        if cls.doc_type:
            cls._declared_fields["type"] = f.const(cls.doc_type)


class CaseDocumentSchema(DocumentSchema):
    """A document that belongs to one case (asiakkuus) and is encrypted with its key."""

    merge_rules = {"case_id": IMMUTABLE}

    case_id = f.doc_id()


@dataclass(frozen=True)
class MergeField:
    """One field as the merge sees it: its wire name, its rule, and what the rule needs."""

    key: str
    rule: str
    nested: type[StrictSchema] | None = None  # item schema (ITEMS) or object schema (OBJECT)
    max_length: int | None = None  # TEXT: a merged text longer than this cannot be stored
    choices: tuple | None = None  # PROGRESS: the values in their forward order


def declared_merge_rules(schema_cls: type[StrictSchema]) -> dict[str, str]:
    """The rules a schema class and its bases declare, by wire name."""
    rules: dict[str, str] = {}
    for klass in reversed(schema_cls.__mro__):
        rules.update(vars(klass).get("merge_rules", {}))
    return rules


@functools.cache
def merge_fields(schema_cls: type[StrictSchema]) -> dict[str, MergeField]:
    """Every field of `schema_cls` with its merge rule, in declaration order.

    Raises TypeError if a field declares no rule, or one that does not fit its type,
    so a schema that forgot to decide how a field merges fails loudly, not silently.
    """
    declared = declared_merge_rules(schema_cls)
    out: dict[str, MergeField] = {}
    for name, field in schema_cls().fields.items():
        key = field.data_key or name
        rule = declared.get(key)
        if rule not in MERGE_RULES:
            raise TypeError(f"{schema_cls.__name__}.{key} declares no merge rule")
        out[key] = _merge_field(schema_cls, key, rule, field)
    return out


def _merge_field(schema_cls: type, key: str, rule: str, field: mf.Field) -> MergeField:
    """Check that `rule` fits the field's type and collect what the merge needs."""
    nested = None
    if rule == ITEMS:
        inner = getattr(field, "inner", None)
        nested = getattr(inner, "nested", None)
        if not (isinstance(field, mf.List) and isinstance(inner, mf.Nested)):
            raise TypeError(f"{schema_cls.__name__}.{key}: items needs a list of objects")
        if "id" not in nested().fields:
            raise TypeError(f"{schema_cls.__name__}.{key}: items need an `id` to merge by")
    elif rule == OBJECT:
        if not isinstance(field, mf.Nested):
            raise TypeError(f"{schema_cls.__name__}.{key}: object needs a nested schema")
        nested = field.nested
    elif rule == SET and (not isinstance(field, mf.List) or isinstance(field.inner, mf.Nested)):
        raise TypeError(f"{schema_cls.__name__}.{key}: set needs a list of plain values")
    elif rule == TEXT and not isinstance(field, mf.String):
        raise TypeError(f"{schema_cls.__name__}.{key}: text needs a string field")
    limits = [v.max for v in field.validators if isinstance(v, f.Size)]
    choices = [tuple(v.choices) for v in field.validators if isinstance(v, mv.OneOf)]
    if rule == PROGRESS and not choices:
        raise TypeError(f"{schema_cls.__name__}.{key}: progress needs a choice field")
    return MergeField(
        key, rule, nested, limits[0] if limits else None, choices[0] if choices else None
    )
