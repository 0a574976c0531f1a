"""Hypothesis strategies that build valid documents from the marshmallow schemas.

Walking the schemas (rather than hand-writing one strategy per type) means a new field
is covered by the property tests the day it is added.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st
from marshmallow import fields as mf
from marshmallow import validate as mv

from mobile_schema import DOC_TYPES
from mobile_schema import fields as f
from mobile_schema.base import StrictSchema

HEX = "0123456789abcdef"
ids = st.text(alphabet=HEX, min_size=32, max_size=32)
# Letters a Finnish or Swedish note really contains, plus a little of everything else.
TEXT_ALPHABET = st.one_of(
    st.sampled_from(string.ascii_letters + "åäöÅÄÖ .,;:!?-'\"\n"),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=3))])


def _iso_date(value: date) -> str:
    return value.isoformat()


def _iso_timestamp(value: datetime) -> str:
    text = value.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


timestamps = st.builds(
    lambda d, z: _iso_timestamp(d.replace(tzinfo=z)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1)),
    zones,
)


def _size(field: mf.Field) -> tuple[int, int]:
    for validator in field.validators:
        if isinstance(validator, f.Size):
            return validator.min or 0, validator.max if validator.max is not None else 50
    return 0, 50


def _string(field: mf.Field) -> st.SearchStrategy:
    low, high = _size(field)
    for validator in field.validators:
        if isinstance(validator, mv.OneOf):
            return st.sampled_from(list(validator.choices))
        if isinstance(validator, f.Pattern):
            if validator.pattern == f.ID_PATTERN:
                return ids
            pattern = st.from_regex(validator.pattern, fullmatch=True)
            return pattern.filter(lambda s: low <= len(s) <= high)
    return st.text(TEXT_ALPHABET, min_size=low, max_size=min(high, 80))


def field_values(field: mf.Field) -> st.SearchStrategy:
    """Valid JSON values for one field (never null)."""
    if isinstance(field, f.Date):
        return dates.map(_iso_date)
    if isinstance(field, f.DateTime):
        return timestamps
    if isinstance(field, f.String):
        return _string(field)
    if isinstance(field, f.Integer):
        rng = next(v for v in field.validators if isinstance(v, mv.Range))
        high = rng.max if rng.max is not None else rng.min + 1000
        return st.integers(rng.min, high)
    if isinstance(field, f.Boolean):
        return st.booleans()
    if isinstance(field, f.List):
        low, high = _size(field)
        return st.lists(field_values(field.inner), min_size=low, max_size=min(high, 3))
    if isinstance(field, f.Nested):
        return objects(field.nested)
    raise TypeError(type(field))


@st.composite
def objects(draw, schema_cls: type[StrictSchema]) -> dict:
    """A valid object: required fields always, optional ones sometimes, rules honoured."""
    out = {}
    fields = schema_cls().fields
    for name, field in fields.items():
        key = field.data_key or name
        if field.required or draw(st.booleans()):
            out[key] = draw(field_values(field))
    for rule in getattr(schema_cls, "required_when", ()):
        if rule.applies(out):
            for key in rule.then:
                if out.get(key) is None:
                    out[key] = draw(field_values(_by_key(fields, key)))
    return out


def _by_key(fields: dict, key: str) -> mf.Field:
    return next(fl for name, fl in fields.items() if (fl.data_key or name) == key)


def documents(doc_type: str | None = None) -> st.SearchStrategy:
    """Valid current-version documents of one type, or of any type."""
    if doc_type is None:
        return st.sampled_from(sorted(DOC_TYPES)).flatmap(documents)
    return objects(DOC_TYPES[doc_type])
