"""The wire contract: what it accepts, what it rejects, and how it explains rejections."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mobile_schema import (
    CURRENT_VERSION,
    DOC_TYPES,
    DocumentInvalid,
    problems_of,
    validate_document,
    validate_envelope,
)
from mobile_schema.examples import CASE, all_examples, example
from mobile_schema.json_schema import document_schema, envelope_schema, export_all


def problem_set(doc, envelope=False):
    return {(p.path, p.code) for p in problems_of(doc, envelope=envelope)}


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_every_example_is_valid_for_marshmallow_and_json_schema(doc_type):
    doc = example(doc_type)
    assert validate_document(doc) == doc
    validator = Draft202012Validator(document_schema(doc_type), format_checker=FormatChecker())
    assert list(validator.iter_errors(doc)) == []


def test_every_document_type_has_an_example():
    assert set(all_examples()) == set(DOC_TYPES)


@pytest.mark.parametrize(
    ("mutate", "path", "code"),
    [
        (lambda d: d.pop("occurred_at"), "/occurred_at", "required"),
        (lambda d: d.__setitem__("state", "locked"), "/state", "invalid_choice"),
        (
            lambda d: d.__setitem__("written_with_client", "yes"),
            "/written_with_client",
            "invalid_type",
        ),
        (lambda d: d.__setitem__("written_with_client", 1), "/written_with_client", "invalid_type"),
        (lambda d: d.__setitem__("discussion", "sana " * 5000), "/discussion", "too_long"),
        (lambda d: d.__setitem__("client_name", "Anna"), "/client_name", "unknown_field"),
        (
            lambda d: d.__setitem__("occurred_at", "2026-05-04 09:30"),
            "/occurred_at",
            "invalid_format",
        ),
        (
            lambda d: d.__setitem__("occurred_at", "2026-05-04T09:30:00"),
            "/occurred_at",
            "invalid_format",
        ),
        (
            lambda d: d.__setitem__("occurred_at", "2026-02-30T09:30:00Z"),
            "/occurred_at",
            "invalid_type",
        ),
        (lambda d: d.__setitem__("case_id", "Lindqvist-Anna"), "/case_id", "invalid_format"),
        (lambda d: d["agreed_actions"][0].pop("text"), "/agreed_actions/0/text", "required"),
        (
            lambda d: d["client_review"].__setitem__("status", "maybe"),
            "/client_review/status",
            "invalid_choice",
        ),
        (lambda d: d.pop("finalised_by"), "/finalised_by", "required"),
        (lambda d: d.__setitem__("kind", "amendment"), "/amends", "required"),
        (lambda d: d.__setitem__("agreed_actions", {"id": "x"}), "/agreed_actions", "invalid_type"),
    ],
)
def test_note_rejections_name_the_field_and_the_code(mutate, path, code):
    doc = example("note")
    mutate(doc)
    with pytest.raises(DocumentInvalid) as raised:
        validate_document(doc)
    found = {(p.path, p.code) for p in raised.value.problems}
    assert (path, code) in found
    assert all(p.doc_id == doc["_id"] for p in raised.value.problems)
    assert all(p.message for p in raised.value.problems)


def test_plan_rating_must_be_zero_to_ten():
    doc = example("plan")
    doc["goals"][0]["ratings"][0]["value"] = 11
    assert problem_set(doc) == {("/goals/0/ratings/0/value", "out_of_range")}
    doc["goals"][0]["ratings"][0]["value"] = 7.5
    assert problem_set(doc) == {("/goals/0/ratings/0/value", "invalid_type")}


def test_case_status_requires_the_date_it_began():
    doc = example("case")
    doc["status"] = "closed"
    assert problem_set(doc) == {("/closed_on", "required"), ("/closure_reason", "required")}
    doc.update(closed_on="2026-09-30", closure_reason="goals_met")
    assert problem_set(doc) == set()


def test_substitute_assignment_needs_an_end_date():
    doc = example("case")
    doc["assignments"][1]["role"] = "substitute"
    assert problem_set(doc) == {("/assignments/1/end_date", "required")}


def test_interpreter_needs_a_language():
    doc = example("visit")
    doc["participants"][3]["interpreter"] = True
    assert problem_set(doc) == {("/participants/3/language", "required")}


def test_observation_cannot_be_linked_to_a_client():
    doc = example("observation")
    doc["case_id"] = CASE
    assert problem_set(doc) == {("/case_id", "unknown_field")}


def test_concern_zone_is_marked_private_in_the_exported_schema():
    prop = document_schema("assessment")["properties"]["concern_zone"]
    assert prop["anyOf"][0]["x-private"] is True


def test_unknown_type_and_missing_type_are_explained():
    assert problem_set({"_id": "a" * 32, "type": "diary"}) == {("/type", "unknown_doc_type")}
    assert problem_set({"_id": "a" * 32}) == {("/type", "required")}
    assert problem_set(["not", "an", "object"]) == {("", "invalid_type")}


def test_future_schema_version_is_rejected_with_its_own_code():
    doc = example("note")
    doc["schema_version"] = CURRENT_VERSION + 1
    problems = problems_of(doc)
    assert [(p.path, p.code) for p in problems] == [
        ("/schema_version", "unsupported_schema_version")
    ]
    assert "newer" in problems[0].message


@pytest.mark.parametrize("bad", [0, -1, "2", True, None])
def test_nonsense_schema_versions_are_rejected(bad):
    doc = example("visit")
    doc["schema_version"] = bad
    assert {code for _, code in problem_set(doc)} & {"invalid_type", "required"}


def test_version_1_note_is_upgraded_on_load():
    doc = example("note")
    del doc["client_review"]
    doc.update(schema_version=1, client_agreed=False, client_comment="En ole samaa mieltä.")
    upgraded = validate_document(doc)
    assert upgraded["schema_version"] == CURRENT_VERSION
    assert upgraded["client_review"] == {"status": "disagrees", "comment": "En ole samaa mieltä."}
    assert "client_agreed" not in upgraded
    assert doc["schema_version"] == 1, "the caller's document is not modified"


def test_version_1_visit_and_family_are_upgraded_on_load():
    visit = example("visit") | {"schema_version": 1, "kind": "network"}
    assert validate_document(visit)["kind"] == "network_meeting"
    family = example("family") | {"schema_version": 1}
    for member in family["members"]:
        member["language"] = member.pop("languages")[0]
    assert [m["languages"] for m in validate_document(family)["members"]] == [["sv"], ["fi"]]


def test_version_1_document_with_new_field_is_still_checked_after_upgrade():
    visit = example("visit") | {"schema_version": 1, "kind": "teleport"}
    assert problem_set(visit) == {("/kind", "invalid_choice")}


ENVELOPE = {
    "_id": "a" * 32,
    "_rev": "3-" + "b" * 32,
    "doc_type": "note",
    "schema_version": CURRENT_VERSION,
    "case_id": CASE,
    "key_version": 1,
    "nonce": "AAECAwQFBgcICQoL",
    "ciphertext": "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0",
}


def test_envelope_and_tombstone_are_valid():
    assert validate_envelope(dict(ENVELOPE)) == ENVELOPE
    assert problem_set({"_id": "a" * 32, "_rev": "2-ab", "_deleted": True}, envelope=True) == set()


def test_envelope_rejections():
    assert problem_set(ENVELOPE | {"family_name": "Virtanen"}, envelope=True) == {
        ("/family_name", "unknown_field")
    }
    assert problem_set(ENVELOPE | {"nonce": "short"}, envelope=True) == {
        ("/nonce", "invalid_format")
    }
    assert problem_set(
        ENVELOPE | {"ciphertext": "this is plain text, not base64 at all"}, envelope=True
    ) == {("/ciphertext", "invalid_format")}
    missing = {k: v for k, v in ENVELOPE.items() if k != "ciphertext"}
    assert problem_set(missing, envelope=True) == {("/ciphertext", "required")}
    future = ENVELOPE | {"schema_version": CURRENT_VERSION + 1}
    assert problem_set(future, envelope=True) == {("/schema_version", "unsupported_schema_version")}


def test_envelope_json_schema_agrees_on_samples():
    validator = Draft202012Validator(envelope_schema(), format_checker=FormatChecker())
    samples = [
        ENVELOPE,
        {"_id": "a" * 32, "_rev": "2-ab", "_deleted": True},
        ENVELOPE | {"nonce": "short"},
        {k: v for k, v in ENVELOPE.items() if k != "nonce"},
        ENVELOPE | {"_revisions": {"start": 3, "ids": ["b" * 32, "c" * 32]}},
        ENVELOPE | {"_revisions": {"start": 0, "ids": []}},
        ENVELOPE | {"key_version": 0},
    ]
    for sample in samples:
        assert validator.is_valid(sample) == (problems_of(sample, envelope=True) == []), sample


def test_export_has_one_schema_per_type_plus_envelope():
    files = export_all()
    assert set(files) == {f"{t}.schema.json" for t in DOC_TYPES} | {
        "envelope.schema.json",
        "keyring.schema.json",
    }
    for schema in files.values():
        Draft202012Validator.check_schema(schema)


def test_a_real_keyring_document_matches_the_exported_keyring_schema(tmp_path):
    from mobile_schema.json_schema import keyring_schema
    from server.keys.keyrings import keyring_doc
    from sync.crypto import CaseKey, DeviceKeys

    device = DeviceKeys.generate("mlkem768-x25519")
    doc = keyring_doc(
        "d" * 32, device.public(), CASE, [CaseKey.generate(CASE, 1), CaseKey.generate(CASE, 2)]
    )
    validator = Draft202012Validator(keyring_schema(), format_checker=FormatChecker())
    assert list(validator.iter_errors(doc)) == []
    assert not validator.is_valid(doc | {"current_version": 0})
