"""Property tests: generated valid documents load, round-trip, and match JSON Schema."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from mobile_schema import DOC_TYPES, problems_of, validate_document
from mobile_schema.json_schema import document_schema
from tests.strategies import documents

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALIDATORS = {
    name: Draft202012Validator(document_schema(name), format_checker=FormatChecker())
    for name in DOC_TYPES
}


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
@SETTINGS
@given(data=st.data())
def test_generated_documents_are_valid_and_round_trip(doc_type, data):
    doc = data.draw(documents(doc_type))
    assert problems_of(doc) == []
    schema = DOC_TYPES[doc_type]()
    loaded = schema.load(doc)
    dumped = schema.dump(loaded)
    assert schema.load(dumped) == loaded
    assert validate_document(dumped) == dumped


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
@SETTINGS
@given(data=st.data())
def test_json_schema_accepts_what_marshmallow_accepts(doc_type, data):
    doc = data.draw(documents(doc_type))
    assert list(VALIDATORS[doc_type].iter_errors(doc)) == []


def _mutations(doc: dict) -> list:
    """Ways to break a valid document, each one a thing a buggy app really sends."""
    keys = [k for k in doc if k not in ("type", "_id")]
    out = [
        ("unknown field", lambda d: d.__setitem__("surname_of_child", "Virtanen")),
        ("missing _id", lambda d: d.pop("_id")),
        ("id from personal data", lambda d: d.__setitem__("_id", "virtanen-maija-1985")),
        ("number as string", lambda d: d.__setitem__("schema_version", "2")),
    ]
    for key in keys:
        value = doc[key]
        out.append((f"{key} to list", lambda d, k=key: d.__setitem__(k, [d[k]])))
        if isinstance(value, str):
            out.append((f"{key} too long", lambda d, k=key: d.__setitem__(k, "x" * 30_000)))
            out.append((f"{key} as number", lambda d, k=key: d.__setitem__(k, 12)))
        if isinstance(value, bool):
            out.append((f"{key} truthy string", lambda d, k=key: d.__setitem__(k, "yes")))
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out.append((f"{key}[0] extra", lambda d, k=key: d[k][0].__setitem__("zz", 1)))
            out.append((f"{key}[0] emptied", lambda d, k=key: d[k].__setitem__(0, {})))
        if isinstance(value, dict):
            out.append((f"{key} extra", lambda d, k=key: d[k].__setitem__("zz", 1)))
    return out


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
@SETTINGS
@given(data=st.data())
def test_marshmallow_and_json_schema_agree_on_broken_documents(doc_type, data):
    doc = data.draw(documents(doc_type))
    label, mutate = data.draw(st.sampled_from(_mutations(doc)))
    broken = copy.deepcopy(doc)
    mutate(broken)
    marshmallow_ok = problems_of(broken) == []
    json_schema_ok = VALIDATORS[doc_type].is_valid(broken)
    assert marshmallow_ok == json_schema_ok, (label, broken)
