"""Field types and validators that speak in stable error codes.

marshmallow's stock fields are lenient in ways a wire contract must not be: `Integer`
takes "5" and `True`, `Boolean` takes "yes", `DateTime` takes "2024-1-2 3:4". A device
written in Kotlin or JavaScript against the exported JSON Schema must get the same
verdict as the server, so every field here accepts exactly what its JSON Schema says
and every message carries a code (see `errors.coded`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from marshmallow import ValidationError, fields, validate

from . import errors

ID_PATTERN = r"^[0-9a-f]{32}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"

SHORT_TEXT = 200
MEDIUM_TEXT = 2_000
LONG_TEXT = 20_000
MAX_ITEMS = 200

_KEY_CODES = {
    "required": errors.REQUIRED,
    "null": errors.NULL,
    "invalid": errors.INVALID_TYPE,
    "invalid_utf8": errors.INVALID_TYPE,
    "type": errors.INVALID_TYPE,
    "format": errors.INVALID_FORMAT,
    "invalid_awareness": errors.MISSING_TIMEZONE,
    "too_large": errors.OUT_OF_RANGE,
    "validator_failed": errors.INVALID,
}


def _coded_messages(cls: type) -> dict[str, str]:
    """All default messages of a field class, each prefixed with its error code."""
    merged: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        merged.update(getattr(klass, "default_error_messages", {}))
    return {
        key: errors.coded(_KEY_CODES.get(key, errors.INVALID), msg) for key, msg in merged.items()
    }


class String(fields.String):
    default_error_messages = _coded_messages(fields.String)


class Integer(fields.Integer):
    """A JSON integer: no booleans, no strings; 3.0 is 3 (as in JSON Schema)."""

    default_error_messages = _coded_messages(fields.Integer)

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return int(value)


class Boolean(fields.Boolean):
    """A JSON boolean: `true` or `false`, nothing that merely looks truthy."""

    default_error_messages = _coded_messages(fields.Boolean)

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _PatternCheckedMixin:
    """Check the raw string against the exact pattern the JSON Schema publishes."""

    raw_pattern: str

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if not re.fullmatch(self.raw_pattern, value):
            raise self.make_error("format", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Date(_PatternCheckedMixin, fields.Date):
    """A calendar date, `YYYY-MM-DD`."""

    raw_pattern = DATE_PATTERN
    default_error_messages = {
        **_coded_messages(fields.Date),
        "invalid": errors.coded(errors.INVALID_TYPE, "Expected a date string."),
        "format": errors.coded(errors.INVALID_FORMAT, "Expected a date as YYYY-MM-DD."),
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)


class DateTime(_PatternCheckedMixin, fields.AwareDateTime):
    """An RFC 3339 timestamp with seconds and a time zone, e.g. 2026-05-04T09:30:00+03:00."""

    raw_pattern = DATETIME_PATTERN
    default_error_messages = {
        **_coded_messages(fields.AwareDateTime),
        "invalid": errors.coded(errors.INVALID_TYPE, "Expected a timestamp string."),
        "invalid_awareness": errors.coded(errors.MISSING_TIMEZONE, "The time zone is missing."),
        "format": errors.coded(
            errors.INVALID_FORMAT,
            "Expected an RFC 3339 timestamp with seconds and time zone, "
            "e.g. 2026-05-04T09:30:00+03:00.",
        ),
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)


class List(fields.List):
    default_error_messages = _coded_messages(fields.List)


class Nested(fields.Nested):
    default_error_messages = _coded_messages(fields.Nested)


class Pattern(validate.Validator):
    """Whole-string regular expression match (JSON Schema `pattern`, anchored)."""

    def __init__(self, pattern: str, description: str):
        self.pattern = pattern
        self.description = description
        self._regex = re.compile(pattern)

    def __call__(self, value: str) -> str:
        if not self._regex.fullmatch(value):
            raise ValidationError(errors.coded(errors.INVALID_FORMAT, self.description))
        return value


class Size(validate.Validator):
    """Length of a string (in characters) or a list (in items), as JSON Schema counts it."""

    def __init__(self, min: int | None = None, max: int | None = None):
        self.min = min
        self.max = max

    def __call__(self, value):
        if self.min is not None and len(value) < self.min:
            raise ValidationError(errors.coded(errors.TOO_SHORT, f"Shorter than {self.min}."))
        if self.max is not None and len(value) > self.max:
            raise ValidationError(errors.coded(errors.TOO_LONG, f"Longer than {self.max}."))
        return value


def max_length(limit: int) -> Size:
    return Size(max=limit)


def non_empty(limit: int) -> Size:
    return Size(min=1, max=limit)


def one_of(choices: Iterable[str]) -> validate.OneOf:
    return validate.OneOf(
        list(choices), error=errors.coded(errors.INVALID_CHOICE, "Must be one of: {choices}.")
    )


def in_range(low: int, high: int | None = None) -> validate.Range:
    message = "Must be between {min} and {max}." if high is not None else "Must be at least {min}."
    return validate.Range(min=low, max=high, error=errors.coded(errors.OUT_OF_RANGE, message))


def _presence(required: bool, kwargs: dict) -> dict:
    """Required fields may not be null; optional ones may be absent or null."""
    return {"required": required, "allow_none": not required, **kwargs}


def doc_id(required: bool = True, **kwargs) -> String:
    """A random identifier: 32 lowercase hex digits, never derived from personal data."""
    return String(
        validate=Pattern(ID_PATTERN, "Expected a random id of 32 lowercase hex digits."),
        **_presence(required, kwargs),
    )


def text(limit: int = LONG_TEXT, required: bool = False, **kwargs) -> String:
    """Free text (may be empty) of at most `limit` characters."""
    return String(validate=max_length(limit), **_presence(required, kwargs))


def name(required: bool = True, **kwargs) -> String:
    """A short non-empty name or title."""
    return String(validate=non_empty(SHORT_TEXT), **_presence(required, kwargs))


def choice(values: Iterable[str], required: bool = True, **kwargs) -> String:
    return String(validate=one_of(values), **_presence(required, kwargs))


def const(value: str) -> String:
    """The document type tag: present and exactly `value`."""
    return String(validate=one_of([value]), required=True, allow_none=False)


def flag(required: bool = False, **kwargs) -> Boolean:
    return Boolean(**_presence(required, kwargs))


def date(required: bool = False, **kwargs) -> Date:
    return Date(**_presence(required, kwargs))


def timestamp(required: bool = False, **kwargs) -> DateTime:
    return DateTime(**_presence(required, kwargs))


def integer(low: int, high: int | None = None, required: bool = True, **kwargs) -> Integer:
    return Integer(validate=in_range(low, high), **_presence(required, kwargs))


def language(required: bool = False, **kwargs) -> String:
    """An ISO 639 language code such as fi, sv, en, ar, so."""
    return String(
        validate=Pattern(LANGUAGE_PATTERN, "Expected an ISO 639 code such as fi or sv."),
        **_presence(required, kwargs),
    )


def items(schema: type, required: bool = False, limit: int = MAX_ITEMS, **kwargs) -> List:
    """A list of nested items; items with an `id` merge by that id (see the merge rules)."""
    return List(Nested(schema), validate=max_length(limit), **_presence(required, kwargs))


def strings(inner: fields.Field, limit: int = MAX_ITEMS, required: bool = False) -> List:
    return List(inner, validate=max_length(limit), **_presence(required, {}))
