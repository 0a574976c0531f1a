"""Export the wire contract as JSON Schema (draft 2020-12) for app developers.

Hand-rolled rather than a third-party converter because the contract promises the same
verdict from both sides: every field type and validator used in `fields` has exactly
one translation here, and anything unknown is an error instead of a silent gap.
"""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields as mf
from marshmallow import validate as mv

from . import fields as f
from .base import RequiredWhen, StrictSchema
from .envelope import EnvelopeSchema
from .keyring import KeyringSchema
from .registry import DOC_TYPES
from .versions import CURRENT_VERSION

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def document_schema(doc_type: str) -> dict:
    """JSON Schema of one document type at the current schema version."""
    return _root(DOC_TYPES[doc_type], f"urn:sopu:schema:{doc_type}:v{CURRENT_VERSION}")


def envelope_schema() -> dict:
    return _root(EnvelopeSchema, f"urn:sopu:schema:envelope:v{CURRENT_VERSION}")


def keyring_schema() -> dict:
    return _root(KeyringSchema, f"urn:sopu:schema:keyring:v{CURRENT_VERSION}")


def object_schema(schema_cls: type[Schema]) -> dict:
    """JSON Schema of any schema built from the contract's fields (the server's API
    request bodies reuse them), its nested types in `$defs`: one verdict on both sides."""
    defs: dict[str, dict] = {}
    body = _object(schema_cls, defs)
    if defs:
        body["$defs"] = defs
    return body


def export_all() -> dict[str, dict]:
    """File name → schema, for every document type plus the envelope and the keyring."""
    files = {f"{name}.schema.json": document_schema(name) for name in sorted(DOC_TYPES)}
    files["envelope.schema.json"] = envelope_schema()
    files["keyring.schema.json"] = keyring_schema()
    return files


def _root(schema_cls: type[StrictSchema], schema_id: str) -> dict:
    defs: dict[str, dict] = {}
    body = _object(schema_cls, defs)
    root = {"$schema": DIALECT, "$id": schema_id, **body}
    if defs:
        root["$defs"] = defs
    return root


def _object(schema_cls: type[Schema], defs: dict) -> dict:
    schema = schema_cls()
    properties, required = {}, []
    for name, field in schema.fields.items():
        key = field.data_key or name
        properties[key] = _nullable(field, _field(field, defs))
        if field.required:
            required.append(key)
    out: dict = {"type": "object", "properties": properties, "additionalProperties": False}
    if schema_cls.__doc__:
        out["description"] = schema_cls.__doc__.strip().split("\n\n")[0]
    if required:
        out["required"] = required
    rules = getattr(schema_cls, "required_when", ())
    if rules:
        out["allOf"] = [_rule(rule) for rule in rules]
    return out


def _rule(rule: RequiredWhen) -> dict:
    condition = {"properties": {rule.when: {"const": rule.value}}, "required": [rule.when]}
    demand = {
        "required": list(rule.then),
        "properties": {key: {"not": {"type": "null"}} for key in rule.then},
    }
    return {"if": condition, "else" if rule.unless else "then": demand}


def _nullable(field: mf.Field, schema: dict) -> dict:
    if field.allow_none:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _field(field: mf.Field, defs: dict) -> dict:
    out = _base_type(field, defs)
    for validator in field.validators:
        out.update(_validator(validator, out.get("type")))
    if field.metadata.get("private"):
        out["x-private"] = True
        out["description"] = "Private reflection aid: never a statistic, filter or search key."
    return out


def _base_type(field: mf.Field, defs: dict) -> dict:
    if isinstance(field, f.Date):
        return {"type": "string", "format": "date", "pattern": f.DATE_PATTERN}
    if isinstance(field, f.DateTime):
        return {"type": "string", "format": "date-time", "pattern": f.DATETIME_PATTERN}
    if isinstance(field, f.String):
        return {"type": "string"}
    if isinstance(field, f.Integer):
        return {"type": "integer"}
    if isinstance(field, f.Boolean):
        return {"type": "boolean"}
    if isinstance(field, f.List):
        return {"type": "array", "items": _field(field.inner, defs)}
    if isinstance(field, f.Nested):
        return _ref(field.nested, defs)
    raise TypeError(f"no JSON Schema translation for {type(field).__name__}")


def _ref(schema_cls: type[Schema], defs: dict) -> dict:
    name = schema_cls.__name__.removesuffix("Schema")
    if name not in defs:
        defs[name] = {}  # reserve first: guards against recursion
        defs[name] = _object(schema_cls, defs)
    return {"$ref": f"#/$defs/{name}"}


def _validator(validator: object, json_type: str | None) -> dict:
    if isinstance(validator, f.Size):
        low, high = ("minItems", "maxItems") if json_type == "array" else ("minLength", "maxLength")
        bounds = {low: validator.min, high: validator.max}
        return {k: v for k, v in bounds.items() if v is not None}
    if isinstance(validator, mv.OneOf):
        return {"enum": list(validator.choices)}
    if isinstance(validator, mv.Range):
        bounds = {"minimum": validator.min, "maximum": validator.max}
        return {k: v for k, v in bounds.items() if v is not None}
    if isinstance(validator, f.Pattern):
        return {"pattern": validator.pattern}
    raise TypeError(f"no JSON Schema translation for validator {validator!r}")
