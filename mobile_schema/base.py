"""Base schemas: strict objects, coded errors, and declarative conditional requirements."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import RAISE, Schema, ValidationError, validates_schema

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


class StrictSchema(Schema):
    """An object with exactly the declared fields; anything else is an error."""

    required_when: tuple[RequiredWhen, ...] = ()

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


class DocumentSchema(StrictSchema):
    """Fields every client document carries.

    `updated_by`/`updated_at` name the author and time of each revision: merge needs
    them to say who wrote each side of a collision.
    """

    doc_type: str = ""

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

    def __init_subclass__(cls, **kwargs):
        """Pin `type` to the subclass's `doc_type`, so a note can never pass as a visit."""
        super().__init_subclass__(**kwargs)
        if cls.doc_type:
            cls._declared_fields["type"] = f.const(cls.doc_type)


class CaseDocumentSchema(DocumentSchema):
    """A document that belongs to one case (asiakkuus) and is encrypted with its key."""

    case_id = f.doc_id()
