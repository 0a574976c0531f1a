"""Pair work (parityö) scenarios: two instructors edit the same record on two devices.

Each test spells out the merged result. Aino (worker A) writes first, Bertta (worker
B) later, so Bertta's revision is "theirs" (the later side) in reconciliation
entries. Every merge is also run with the sides swapped (it must give the same bytes),
and every merged document and amendment must be valid under the wire contract.
"""

from __future__ import annotations

import copy
import json

import pytest

from mobile_schema import DOC_TYPES, merge_rules, validate_document
from mobile_schema import fields as f
from mobile_schema.base import SCALAR, StrictSchema, merge_fields
from mobile_schema.examples import CHILD, MOTHER, PAIR_WORKER, WORKER, example
from sync.merge import MergeError, SideMeta, merge, merge_all, merge_text, merged_revisions
from sync.revisions import canonical_json, next_rev

A, B = WORKER, PAIR_WORKER
T0 = "2026-05-04T11:05:00+03:00"
TA = "2026-05-04T12:00:00+03:00"
TB = "2026-05-04T12:30:00+03:00"
DISCUSSION = (
    "Keskusteltiin aamujen sujumisesta. Äiti kertoi, että aamut ovat raskaita. "
    "Eetu nukkuu huonosti.\n\n"
    "Sovittiin kuvakorteista. Seuraava käynti on kahden viikon päästä."
)
ACTION = "90a1b2c3d4e5f60718293a4b5c6d7e8f"
NEW_1, NEW_2, NEW_3 = "a" * 32, "b" * 32, "c" * 32


def draft_note(**changes) -> dict:
    """The example note, still a draft, with a two-paragraph discussion."""
    doc = example("note")
    for key in ("finalised_by", "finalised_at"):
        doc.pop(key)
    doc.update({"state": "draft", "discussion": DISCUSSION, "updated_at": T0} | changes)
    return doc


def by(worker: str, at: str, doc: dict, **changes) -> dict:
    """A copy of `doc` edited by `worker` at `at`."""
    out = copy.deepcopy(doc)
    out.update(updated_by=worker, updated_at=at, **changes)
    return out


def by_a(doc: dict, **changes) -> dict:
    return by(A, TA, doc, **changes)


def by_b(doc: dict, **changes) -> dict:
    return by(B, TB, doc, **changes)


def merged(base, ours, theirs, **kwargs):
    """Merge both ways round; check they agree to the byte and everything is valid."""
    result = merge(base, ours, theirs, **kwargs)
    swapped = merge(base, theirs, ours, **kwargs)
    assert canonical_json(result.doc) == canonical_json(swapped.doc)
    assert result == swapped
    assert validate_document(result.doc) == result.doc
    for extra in result.extra_docs:
        validate_document(extra)
    return result


def entries(result) -> list[dict]:
    """The reconciliation entries of the merged document, without their derived ids."""
    return [{k: v for k, v in e.items() if k != "id"} for e in result.doc.get("reconciliation", [])]


def entry(path, kind, ours, theirs, ours_by=A, ours_at=TA, theirs_by=B, theirs_at=TB) -> dict:
    return {
        "path": path,
        "kind": kind,
        "ours": json.dumps(ours, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        "ours_by": ours_by,
        "ours_at": ours_at,
        "theirs": json.dumps(theirs, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        "theirs_by": theirs_by,
        "theirs_at": theirs_at,
    }


def without(doc: dict, *keys: str) -> dict:
    return {k: v for k, v in doc.items() if k not in keys}


# ---------------------------------------------------------------- the rules exist


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_every_field_of_every_type_declares_how_it_merges(doc_type):
    rules = merge_rules(doc_type)
    schema = DOC_TYPES[doc_type]()
    for name, field in schema.fields.items():
        assert f"/{field.data_key or name}" in rules
    assert rules["/_id"] == "immutable" and rules["/updated_at"] == "stamp"
    assert rules["/reconciliation"] == "items"


def test_a_field_without_a_merge_rule_is_refused():
    class Forgetful(StrictSchema):
        merge_rules = {"title": SCALAR}
        title = f.name()
        remark = f.text()

    with pytest.raises(TypeError, match=r"Forgetful\.remark declares no merge rule"):
        merge_fields(Forgetful)


def test_the_rules_say_what_pair_work_needs():
    note, plan = merge_rules("note"), merge_rules("plan")
    assert note["/discussion"] == "text"
    assert note["/agreed_actions"] == "items"
    assert note["/agreed_actions/*/text"] == "text"
    assert note["/amends"] == "immutable"
    assert plan["/goals/*/ratings/*/value"] == "scalar"
    assert plan["/review_on"] == "scalar"
    assert merge_rules("family")["/members/*/languages"] == "set"
    assert merge_rules("case")["/status"] == "progress"
    assert merge_rules("consent")["/scope"] == "scalar"  # never spliced: the client agreed to one


# ---------------------------------------------------------------- free text


def test_an_edit_on_one_side_only_is_taken_as_it_is():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("raskaita", "jo helpompia"))
    bertta = by_b(base)
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == aino["discussion"]
    assert result.clean


def test_the_same_change_on_both_sides_is_no_collision():
    base = draft_note()
    text = DISCUSSION.replace("huonosti", "paremmin")
    result = merged(base, by_a(base, discussion=text), by_b(base, discussion=text))
    assert result.doc["discussion"] == text
    assert result.clean and "reconciliation" not in result.doc


def test_different_sentences_of_one_paragraph_both_survive():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("raskaita", "nykyään helpompia"))
    bertta = by_b(base, discussion=DISCUSSION.replace("Eetu nukkuu huonosti", "Eetu nukkuu hyvin"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == (
        "Keskusteltiin aamujen sujumisesta. Äiti kertoi, että aamut ovat nykyään helpompia. "
        "Eetu nukkuu hyvin.\n\n"
        "Sovittiin kuvakorteista. Seuraava käynti on kahden viikon päästä."
    )
    assert result.clean


def test_different_paragraphs_both_survive():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("sujumisesta", "ja iltojen sujumisesta"))
    bertta = by_b(base, discussion=DISCUSSION.replace("kahden viikon", "kolmen viikon"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == (
        "Keskusteltiin aamujen ja iltojen sujumisesta. Äiti kertoi, että aamut ovat raskaita. "
        "Eetu nukkuu huonosti.\n\n"
        "Sovittiin kuvakorteista. Seuraava käynti on kolmen viikon päästä."
    )
    assert result.clean


def test_the_same_sentence_edited_on_both_sides_keeps_both_versions_in_order():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("raskaita", "kiireisiä"))
    bertta = by_b(base, discussion=DISCUSSION.replace("raskaita", "riitaisia"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == (
        "Keskusteltiin aamujen sujumisesta. Äiti kertoi, että aamut ovat kiireisiä. "
        "Äiti kertoi, että aamut ovat riitaisia. Eetu nukkuu huonosti.\n\n"
        "Sovittiin kuvakorteista. Seuraava käynti on kahden viikon päästä."
    )
    assert entries(result) == [
        entry(
            "/discussion",
            "text",
            "Äiti kertoi, että aamut ovat kiireisiä. ",
            "Äiti kertoi, että aamut ovat riitaisia. ",
        )
    ]
    assert result.collisions == tuple(result.doc["reconciliation"])


def test_one_side_deletes_a_paragraph_the_other_edits():
    base = draft_note()
    first, second = DISCUSSION.split("\n\n")
    aino = by_a(base, discussion=second)
    bertta = by_b(base, discussion=DISCUSSION.replace("huonosti", "huonosti, koska ilta venyy"))
    result = merged(base, aino, bertta)
    # Aino's removal stands where Bertta did not write; Bertta's edited sentence stays.
    assert result.doc["discussion"] == (
        "Eetu nukkuu huonosti, koska ilta venyy.\n\n"
        "Sovittiin kuvakorteista. Seuraava käynti on kahden viikon päästä."
    )
    assert entries(result) == [
        entry(
            "/discussion",
            "text",
            "",
            first.replace("huonosti", "huonosti, koska ilta venyy") + "\n\n",
        )
    ]


def test_a_deleted_paragraph_and_an_edit_elsewhere_both_apply():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.split("\n\n")[1])
    bertta = by_b(base, discussion=DISCUSSION.replace("kahden viikon", "viikon"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == "Sovittiin kuvakorteista. Seuraava käynti on viikon päästä."
    assert result.clean


def test_both_append_to_the_end_of_the_discussion():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION + " Äiti pyysi lisää tietoa perhekerhosta.")
    bertta = by_b(base, discussion=DISCUSSION + "\n\nPäiväkodin opettaja osallistui puhelimitse.")
    result = merged(base, aino, bertta)
    # Aino continued the last paragraph, Bertta started a new one: both stay as written.
    assert result.doc["discussion"] == (
        DISCUSSION + " Äiti pyysi lisää tietoa perhekerhosta.\n\n"
        "Päiväkodin opettaja osallistui puhelimitse."
    )
    assert result.clean


def test_the_same_sentence_appended_on_both_sides_is_kept_once():
    base = draft_note()
    added = " Äiti soittaa neuvolaan."
    aino = by_a(base, discussion=DISCUSSION + added)
    bertta = by_b(base, discussion=DISCUSSION + added + " Isä tulee mukaan ensi kerralla.")
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == DISCUSSION + added + " Isä tulee mukaan ensi kerralla."
    assert result.clean


def test_finnish_and_swedish_text_with_aao_merges_by_sentence():
    text = "Vi pratade om kvällarna. Äidin mukaan ilta venyy. Eetu är trött på morgonen."
    base = draft_note(client_view=text)
    aino = by_a(base, client_view=text.replace("kvällarna", "kvällarna och måltiderna"))
    bertta = by_b(base, client_view=text.replace("är trött", "är pigg"))
    result = merged(base, aino, bertta)
    assert result.doc["client_view"] == (
        "Vi pratade om kvällarna och måltiderna. Äidin mukaan ilta venyy. Eetu är pigg på morgonen."
    )
    assert result.clean


def test_a_whitespace_only_change_yields_to_a_real_edit_of_the_same_sentence():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("että aamut", "että  aamut"))
    bertta = by_b(base, discussion=DISCUSSION.replace("raskaita", "kiireisiä"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == bertta["discussion"]
    assert result.clean


def test_a_new_paragraph_break_and_an_edit_elsewhere_both_apply():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("raskaita. ", "raskaita.\n\n"))
    bertta = by_b(base, discussion=DISCUSSION.replace("kahden", "kolmen"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == (
        "Keskusteltiin aamujen sujumisesta. Äiti kertoi, että aamut ovat raskaita.\n\n"
        "Eetu nukkuu huonosti.\n\n"
        "Sovittiin kuvakorteista. Seuraava käynti on kolmen viikon päästä."
    )
    assert result.clean


def test_a_removed_sentence_stays_removed_if_the_other_side_only_re_spaced_it():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace(" Eetu nukkuu huonosti.", ""))
    bertta = by_b(base, discussion=DISCUSSION.replace("Eetu nukkuu", "Eetu  nukkuu"))
    result = merged(base, aino, bertta)
    assert result.doc["discussion"] == aino["discussion"]
    assert result.clean


def test_a_text_too_long_for_its_field_keeps_the_later_text_and_both_in_full():
    base = draft_note(client_view="Alku.")
    aino = by_a(base, client_view="Alku. " + "Aino kirjoitti pitkästi. " * 420)
    bertta = by_b(base, client_view="Alku. " + "Bertta kirjoitti pitkästi. " * 400)
    result = merged(base, aino, bertta)
    assert len(aino["client_view"]) + len(bertta["client_view"]) > 20_000
    assert result.doc["client_view"] == bertta["client_view"]
    assert entries(result) == [
        entry("/client_view", "value", aino["client_view"], bertta["client_view"])
    ]


def test_one_side_empties_a_field_the_other_left_alone():
    base = draft_note()
    result = merged(base, by_a(base, client_view=""), by_b(base, discussion=DISCUSSION + " Ok."))
    assert result.doc["client_view"] == ""
    assert result.doc["discussion"] == DISCUSSION + " Ok."
    assert result.clean


def test_one_side_empties_a_field_the_other_edited():
    base = draft_note()
    view = base["client_view"]
    aino = by_a(base, client_view=None)
    bertta = by_b(base, client_view=view.replace("paremmin", "paljon paremmin"))
    result = merged(base, aino, bertta)
    assert result.doc["client_view"] == bertta["client_view"]
    assert entries(result) == [entry("/client_view", "text", "", bertta["client_view"])]


# ---------------------------------------------------------------- lists by item id


def test_both_add_agreed_actions():
    base = draft_note()
    aino_action = {"id": NEW_1, "text": "Äiti soittaa perhekerhoon.", "due_on": "2026-05-11"}
    bertta_action = {"id": NEW_2, "text": "Ohjaaja tuo kuvakortit.", "responsible": "ohjaaja"}
    aino = by_a(base, agreed_actions=[*base["agreed_actions"], aino_action])
    bertta = by_b(base, agreed_actions=[*base["agreed_actions"], bertta_action])
    result = merged(base, aino, bertta)
    assert result.doc["agreed_actions"] == [*base["agreed_actions"], aino_action, bertta_action]
    assert result.clean


def test_an_action_removed_on_one_side_and_untouched_on_the_other_is_removed():
    base = draft_note()
    aino = by_a(base, agreed_actions=[])
    bertta = by_b(base, discussion=DISCUSSION + " Lisäys.")
    result = merged(base, aino, bertta)
    assert result.doc["agreed_actions"] == []
    assert result.clean


def test_an_action_removed_on_one_side_and_edited_on_the_other_stays_marked():
    base = draft_note()
    edited = dict(base["agreed_actions"][0], due_on="2026-05-25")
    aino = by_a(base, agreed_actions=[])
    bertta = by_b(base, agreed_actions=[edited])
    result = merged(base, aino, bertta)
    assert result.doc["agreed_actions"] == [edited]
    assert entries(result) == [entry(f"/agreed_actions/{ACTION}", "removed_edited", None, edited)]


def test_different_fields_of_one_action_edited_on_each_side():
    base = draft_note()
    action = base["agreed_actions"][0]
    aino = by_a(base, agreed_actions=[dict(action, responsible="äiti")])
    bertta = by_b(base, agreed_actions=[dict(action, due_on="2026-06-01")])
    result = merged(base, aino, bertta)
    assert result.doc["agreed_actions"] == [dict(action, responsible="äiti", due_on="2026-06-01")]
    assert result.clean


def test_client_review_set_on_one_side():
    base = draft_note(client_review=None)
    review = {"status": "disagrees", "comment": "Aamut eivät ole raskaita, vain kiireisiä."}
    result = merged(base, by_a(base, client_review=review), by_b(base, client_view="Hyvä."))
    assert result.doc["client_review"] == review
    assert result.doc["client_view"] == "Hyvä."
    assert result.clean


def test_client_review_status_set_differently_keeps_the_later_and_records_both():
    base = draft_note(client_review={"status": "not_reviewed"})
    aino = by_a(base, client_review={"status": "read"})
    bertta = by_b(base, client_review={"status": "agrees"})
    result = merged(base, aino, bertta)
    assert result.doc["client_review"] == {"status": "agrees"}
    assert entries(result) == [entry("/client_review/status", "value", "read", "agrees")]


# ---------------------------------------------------------------- final notes


def finalised(doc: dict, worker: str, at: str) -> dict:
    return by(worker, at, doc, state="final", finalised_by=worker, finalised_at=at)


def test_finalise_on_one_side_and_edit_on_the_other_makes_an_amendment():
    base = draft_note()
    aino = finalised(base, A, TA)
    bertta = by_b(base, discussion=DISCUSSION + " Isä soitti kesken käynnin.")
    result = merged(base, aino, bertta)
    assert result.doc == aino  # content and stamps: the record reads as Aino finalised it
    (amendment,) = result.extra_docs
    assert amendment == {
        "_id": amendment["_id"],
        "type": "note",
        "schema_version": base["schema_version"],
        "case_id": base["case_id"],
        "kind": "amendment",
        "amends": base["_id"],
        "amendment_reason": amendment["amendment_reason"],
        "occurred_at": base["occurred_at"],
        "state": "draft",
        "visit_id": base["visit_id"],
        "discussion": DISCUSSION + " Isä soitti kesken käynnin.",
        "created_at": TB,
        "created_by": B,
        "updated_at": TB,
        "updated_by": B,
    }
    assert "(Concurrent offline edit" in amendment["amendment_reason"]
    assert "changed fields: discussion." in amendment["amendment_reason"]
    assert len(amendment["_id"]) == 32 and amendment["_id"] != base["_id"]
    assert "reconciliation" not in result.doc


def test_the_amendment_is_the_same_on_every_node_and_keyed_ids_hide_the_content():
    base = draft_note()
    aino = finalised(base, A, TA)
    bertta = by_b(base, client_view="Äiti haluaa tarkentaa: aamut ovat kiireisiä.")
    first = merged(base, aino, bertta)
    again = merged(copy.deepcopy(base), copy.deepcopy(bertta), copy.deepcopy(aino))
    assert first.extra_docs == again.extra_docs
    keyed = merged(base, aino, bertta, key=b"k" * 32)
    assert keyed.extra_docs[0]["_id"] != first.extra_docs[0]["_id"]
    assert (
        keyed.extra_docs[0]["_id"] == merged(base, bertta, aino, key=b"k" * 32).extra_docs[0]["_id"]
    )


def test_finalise_on_one_side_and_nothing_on_the_other_is_just_the_final_note():
    base = draft_note()
    aino = finalised(base, A, TA)
    result = merged(base, aino, copy.deepcopy(base))
    assert result.doc == aino
    assert result.clean


def test_an_edit_of_a_note_that_was_already_final_becomes_an_amendment():
    base = finalised(draft_note(), A, T0)
    bertta = by_b(base, agreed_actions=[])
    aino = by_a(base)  # only re-saved
    result = merged(base, aino, bertta)
    assert result.doc == base  # a final note's stamps never change either
    (amendment,) = result.extra_docs
    assert amendment["agreed_actions"] == []
    assert amendment["created_by"] == B and amendment["amends"] == base["_id"]
    assert "(Edit of a note that was already final" in amendment["amendment_reason"]


def test_both_finalise_differently_the_first_finalisation_is_the_record():
    base = draft_note()
    aino = finalised(by_a(base, client_view="Aamut sujuvat."), A, TA)
    bertta = finalised(by_b(base, client_view="Aamut sujuvat paremmin."), B, TB)
    result = merged(base, aino, bertta)
    assert without(result.doc, "reconciliation") == aino
    (amendment,) = result.extra_docs
    # Bertta's version is kept as she gave it: final, in her name, linked to the note.
    assert amendment["state"] == "final" and amendment["amends"] == base["_id"]
    assert (amendment["finalised_by"], amendment["finalised_at"]) == (B, TB)
    assert amendment["client_view"] == "Aamut sujuvat paremmin."
    assert amendment["discussion"] == bertta["discussion"]
    assert (amendment["created_by"], amendment["updated_by"]) == (B, B)
    # ... and the note says so, naming both finalisers and where each version is.
    assert entries(result) == [
        entry("", "finalised_twice", base["_id"], amendment["_id"], A, TA, B, TB)
    ]
    assert result.collisions == tuple(result.doc["reconciliation"])


def test_both_finalise_the_same_text_is_one_record():
    base = draft_note()
    aino = finalised(by_a(base, client_view="Aamut sujuvat."), A, TA)
    bertta = finalised(by_b(base, client_view="Aamut sujuvat."), B, TB)
    result = merged(base, aino, bertta)
    assert result.doc == aino and result.clean


def test_acknowledging_an_item_on_a_final_note_keeps_content_and_stamps():
    base = finalised(draft_note(), A, T0)
    item = entry("/client_view", "value", "Aamut.", "Illat.") | {"id": NEW_1}
    note = base | {"reconciliation": [item]}
    ack_b = {"id": NEW_2, "by": B, "at": TB}
    ack_a = {"id": NEW_3, "by": A, "at": TA}
    bertta = copy.deepcopy(note)
    bertta["reconciliation"][0]["acknowledged"] = [ack_b]
    aino = copy.deepcopy(note)  # Aino acknowledged it on her own phone at the same time
    aino["reconciliation"][0]["acknowledged"] = [ack_a]
    result = merged(note, aino, bertta)
    assert without(result.doc, "reconciliation") == without(note, "reconciliation")
    [kept] = result.doc["reconciliation"]
    assert without(kept, "acknowledged") == item
    assert sorted(a["id"] for a in kept["acknowledged"]) == [NEW_2, NEW_3]
    assert result.clean


def test_an_amendment_keeps_collisions_the_edited_version_still_held():
    base = draft_note(client_review={"status": "not_reviewed"})
    aino = by_a(base, client_review={"status": "read"})
    bertta = by_b(base, client_review={"status": "agrees"})
    both_edits = merge(base, aino, bertta).doc  # "agrees", with "read" in an entry
    carita = finalised(base, NEW_3, "2026-05-04T13:00:00+03:00")
    result = merged(base, both_edits, carita)
    assert result.doc["client_review"] == {"status": "not_reviewed"}
    (amendment,) = result.extra_docs
    assert amendment["client_review"] == {"status": "agrees"}
    assert amendment["reconciliation"] == both_edits["reconciliation"]


# ---------------------------------------------------------------- the client plan


def plan(**changes) -> dict:
    doc = example("plan")
    doc.update(updated_at=T0, **changes)
    return doc


GOAL = "293a4b5c6d7e8f90a1b2c3d4e5f60718"
RATING = "3a4b5c6d7e8f90a1b2c3d4e5f6071829"


def with_goal(doc: dict, **changes) -> list[dict]:
    return [dict(doc["goals"][0], **changes)]


def test_both_add_goals():
    base = plan()
    sleep = {"id": NEW_1, "title": "Eetu nukahtaa ennen yhdeksää"}
    friends = {"id": NEW_2, "title": "Äidillä on vertaistukea", "parent_view": "Haluan jutella."}
    aino = by_a(base, goals=[*base["goals"], sleep])
    bertta = by_b(base, goals=[*base["goals"], friends])
    result = merged(base, aino, bertta)
    assert result.doc["goals"] == [*base["goals"], sleep, friends]
    assert result.clean


def test_goal_views_written_by_each_worker_both_survive():
    base = plan()
    aino = by_a(base, goals=with_goal(base, parent_view="Haluan rauhalliset illat."))
    bertta = by_b(base, goals=with_goal(base, worker_view="Iltarutiini kuvakorteilla."))
    result = merged(base, aino, bertta)
    assert result.doc["goals"] == with_goal(
        base, parent_view="Haluan rauhalliset illat.", worker_view="Iltarutiini kuvakorteilla."
    )
    assert result.clean


def rated(doc: dict, value: int) -> list[dict]:
    return with_goal(doc, ratings=[dict(doc["goals"][0]["ratings"][0], value=value)])


def test_a_rating_changed_to_the_same_value_on_both_sides_is_no_collision():
    base = plan()
    result = merged(base, by_a(base, goals=rated(base, 5)), by_b(base, goals=rated(base, 5)))
    assert result.doc["goals"] == rated(base, 5)
    assert result.clean


def test_a_rating_changed_differently_keeps_the_later_and_records_both():
    base = plan()
    result = merged(base, by_a(base, goals=rated(base, 4)), by_b(base, goals=rated(base, 6)))
    assert result.doc["goals"] == rated(base, 6)
    assert entries(result) == [entry(f"/goals/{GOAL}/ratings/{RATING}/value", "value", 4, 6)]


def test_ratings_added_on_both_sides_to_one_goal_are_both_kept():
    base = plan()
    old = base["goals"][0]["ratings"]
    parent = {"id": NEW_1, "rated_on": "2026-05-04", "value": 5, "rated_by": "parent"}
    child = {"id": NEW_2, "rated_on": "2026-05-04", "value": 7, "rated_by": "child"}
    aino = by_a(base, goals=with_goal(base, ratings=[*old, parent]))
    bertta = by_b(base, goals=with_goal(base, ratings=[*old, child]))
    result = merged(base, aino, bertta)
    assert result.doc["goals"] == with_goal(base, ratings=[*old, parent, child])
    assert result.clean


def test_the_review_date_changed_on_both_sides():
    base = plan()
    aino = by_a(base, review_on="2026-07-27")
    bertta = by_b(base, review_on="2026-08-03")
    result = merged(base, aino, bertta)
    assert result.doc["review_on"] == "2026-08-03"
    assert entries(result) == [entry("/review_on", "value", "2026-07-27", "2026-08-03")]


# ---------------------------------------------------------------- visits


PARTICIPANT = "7e8f90a1b2c3d4e5f60718293a4b5c6d"


def test_both_add_participants():
    base = example("visit") | {"updated_at": T0}
    interpreter = {
        "id": NEW_1,
        "kind": "external",
        "name": "Samira Haddad",
        "interpreter": True,
        "language": "ar",
    }
    child = {"id": NEW_2, "kind": "family_member", "member_id": CHILD}
    aino = by_a(base, participants=[*base["participants"], interpreter])
    bertta = by_b(base, participants=[*base["participants"], child])
    result = merged(base, aino, bertta)
    assert result.doc["participants"] == [*base["participants"], interpreter, child]
    assert result.clean


def test_a_participant_removed_on_one_side_while_edited_on_the_other():
    base = example("visit") | {"updated_at": T0}
    edited = dict(base["participants"][3], role="erityisopettaja")
    aino = by_a(base, participants=base["participants"][:3])
    bertta = by_b(base, participants=[*base["participants"][:3], edited])
    result = merged(base, aino, bertta)
    assert result.doc["participants"] == [*base["participants"][:3], edited]
    assert entries(result) == [
        entry(f"/participants/{PARTICIPANT}", "removed_edited", None, edited)
    ]


def test_an_interpreter_keeps_a_language_when_the_sides_are_picked_apart():
    base = example("visit") | {"updated_at": T0}
    base["participants"][3].update(interpreter=False, language="so")
    aino = copy.deepcopy(base)
    aino["participants"][3].update(interpreter=True, language="ar")
    aino = by_a(aino)
    bertta = copy.deepcopy(base)
    bertta["participants"][3].update(language=None)
    bertta = by_b(bertta)
    result = merged(base, aino, bertta)
    participant = result.doc["participants"][3]
    assert participant["interpreter"] is True
    assert participant["language"] == "ar"  # the later side emptied it; the rule needs one
    assert entries(result) == [entry(f"/participants/{PARTICIPANT}/language", "value", "ar", None)]


# ---------------------------------------------------------------- family and case


def test_a_birth_date_corrected_on_one_side_and_languages_on_the_other():
    base = example("family") | {"updated_at": T0}
    aino = copy.deepcopy(base)
    aino["members"][1]["birth_date"] = "2021-08-31"
    bertta = copy.deepcopy(base)
    bertta["members"][1]["languages"] = ["fi", "sv", "en"]
    result = merged(base, by_a(aino), by_b(bertta))
    assert result.doc["members"][1] == dict(
        base["members"][1], birth_date="2021-08-31", languages=["fi", "sv", "en"]
    )
    assert result.doc["members"][0] == base["members"][0]
    assert result.clean


def test_languages_added_and_removed_on_different_sides_both_apply():
    base = example("family") | {"updated_at": T0}
    aino = copy.deepcopy(base)
    aino["members"][0]["languages"] = ["sv", "fi", "en"]
    bertta = copy.deepcopy(base)
    bertta["members"][0]["languages"] = ["fi"]
    result = merged(base, by_a(aino), by_b(bertta))
    assert result.doc["members"][0]["languages"] == ["fi", "en"]
    assert result.clean


def test_assignments_added_on_both_sides():
    base = example("case") | {"updated_at": T0}
    sub_a = {
        "id": NEW_1,
        "worker_id": NEW_3,
        "role": "substitute",
        "start_date": "2026-06-01",
        "end_date": "2026-06-30",
    }
    sub_b = {
        "id": NEW_2,
        "worker_id": "d" * 32,
        "role": "substitute",
        "start_date": "2026-07-01",
        "end_date": "2026-07-31",
    }
    result = merged(
        base,
        by_a(base, assignments=[*base["assignments"], sub_a]),
        by_b(base, assignments=[*base["assignments"], sub_b]),
    )
    assert result.doc["assignments"] == [*base["assignments"], sub_a, sub_b]
    assert result.clean


def test_case_status_only_moves_forward():
    base = example("case") | {"updated_at": T0, "status": "assessment"}
    del base["active_since"]
    aino = by_a(base, status="closed", closed_on="2026-06-01", closure_reason="moved")
    bertta = by_b(base, status="active", active_since="2026-05-20")
    result = merged(base, aino, bertta)
    assert result.doc["status"] == "closed"
    assert result.doc["closed_on"] == "2026-06-01" and result.doc["active_since"] == "2026-05-20"
    assert result.clean


def test_a_consent_scope_edited_on_both_sides_is_never_spliced():
    base = example("consent") | {"updated_at": T0}
    aino = by_a(base, scope=base["scope"] + " Myös neuvolan kanssa.")
    bertta = by_b(base, scope="Vain päiväkodin kanssa.")
    result = merged(base, aino, bertta)
    assert result.doc["scope"] == "Vain päiväkodin kanssa."
    assert entries(result) == [entry("/scope", "value", aino["scope"], bertta["scope"])]


# ---------------------------------------------------------------- identities and edges


def test_independent_creation_of_the_same_id():
    aino = by_a(draft_note(), discussion="Aino kirjasi käynnin.", client_view=None)
    bertta = by_b(
        draft_note(),
        discussion="Bertta kirjasi käynnin.",
        client_view=None,
        occurred_at="2026-05-04T09:35:00+03:00",
    )
    result = merged(None, aino, bertta)
    assert result.doc["discussion"] == "Aino kirjasi käynnin. Bertta kirjasi käynnin."
    assert result.doc["occurred_at"] == "2026-05-04T09:35:00+03:00"
    assert entries(result) == [
        entry("/occurred_at", "value", "2026-05-04T09:30:00+03:00", "2026-05-04T09:35:00+03:00")
    ]


def test_merging_a_revision_with_itself_gives_it_back():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION + " Lisäys.", _rev="2-" + "a" * 32)
    assert merge(base, aino, aino).doc == without(aino, "_rev")
    assert merge(base, base, aino).doc == without(aino, "_rev")
    assert merge(base, aino, base).doc == without(aino, "_rev")
    assert merge(None, aino, aino).doc == without(aino, "_rev")


def test_old_entries_stay_and_a_reconciled_entry_stays_removed():
    base = draft_note()
    aino = by_a(base, discussion=DISCUSSION.replace("raskaita", "kiireisiä"))
    bertta = by_b(base, discussion=DISCUSSION.replace("raskaita", "riitaisia"))
    first = merge(base, aino, bertta).doc
    later = "2026-05-05T09:00:00+03:00"
    resolved = by(A, later, first, discussion=DISCUSSION.replace("raskaita", "kiireisiä"))
    del resolved["reconciliation"]
    untouched = by(B, later.replace("09:00", "09:10"), first, client_view="Äiti lisäsi.")
    result = merged(first, resolved, untouched)
    assert "reconciliation" not in result.doc
    assert result.doc["discussion"] == resolved["discussion"]
    assert result.doc["client_view"] == "Äiti lisäsi."


def test_an_old_version_base_is_upgraded_before_merging():
    base = draft_note()
    old = without(base, "client_review") | {
        "schema_version": 1,
        "client_agreed": True,
        "client_comment": "Hyvä.",
    }
    base["client_review"] = {"status": "agrees", "comment": "Hyvä."}
    aino = by_a(base, client_review={"status": "agrees", "comment": "Hyvä. Kiitos."})
    bertta = by_b(base, discussion=DISCUSSION + " Lisäys.")
    result = merged(old, aino, bertta)
    assert result.doc["client_review"] == {"status": "agrees", "comment": "Hyvä. Kiitos."}
    assert result.clean


def test_different_documents_or_unknown_fields_are_refused():
    base = draft_note()
    with pytest.raises(MergeError, match="different documents"):
        merge(base, base, base | {"_id": "f" * 32})
    with pytest.raises(MergeError, match="change its type"):
        merge(None, base, example("visit") | {"_id": base["_id"]})
    with pytest.raises(MergeError, match="without a merge rule"):
        merge(base, base, by_b(base, hetu="010203A123B"))
    twice = base["agreed_actions"] * 2
    with pytest.raises(MergeError, match="appears twice"):
        merge(base, by_a(base, agreed_actions=twice), by_b(base, agreed_actions=[]))


def test_three_leaves_merge_to_the_same_body_in_any_order():
    base = draft_note()
    leaves = [
        by_a(base, discussion=DISCUSSION.replace("raskaita", "kiireisiä")),
        by_b(base, discussion=DISCUSSION.replace("raskaita", "riitaisia")),
        by(NEW_3, "2026-05-04T13:00:00+03:00", base, discussion=DISCUSSION + " Kolmas."),
    ]
    results = {
        canonical_json(merge_all(base, order).doc)
        for order in (leaves, leaves[::-1], [leaves[1], leaves[2], leaves[0]])
    }
    assert len(results) == 1
    doc = json.loads(results.pop())
    assert "kiireisiä" in doc["discussion"] and "riitaisia" in doc["discussion"]
    assert doc["discussion"].endswith(" Kolmas.")


def test_the_merged_revision_is_the_child_of_the_winning_leaf_on_every_node():
    base = draft_note()
    rev_a, rev_b = "3-" + "1" * 32, "3-" + "2" * 32
    aino = by_a(base, discussion=DISCUSSION + " A.")
    bertta = by_b(base, client_view="B.")
    result = merge(base, aino, bertta, SideMeta(rev=rev_a), SideMeta(rev=rev_b))
    assert result.revisions.parent == rev_b  # CouchDB's winner: same length, greater hash
    assert result.revisions.merged_from == (rev_a, rev_b)
    body = {k: v for k, v in result.doc.items() if k != "_id"}
    content = {"merged_from": [rev_a, rev_b], "body": body}
    assert result.revisions.rev == next_rev(rev_b, False, content)
    # The loser's deletion says which merge took it in; a device's deletion never does.
    marker = {"merged_into": result.revisions.rev}
    assert result.revisions.deletions == ((rev_a, next_rev(rev_a, True, marker)),)
    swapped = merge(base, bertta, aino, SideMeta(rev=rev_b), SideMeta(rev=rev_a))
    assert swapped.revisions == result.revisions
    keyed = merged_revisions([rev_a, rev_b], result.doc, key=b"k" * 32)
    assert keyed.parent == rev_b and keyed.rev.startswith("4-")
    assert keyed.rev != result.revisions.rev


def test_authors_and_times_come_from_the_caller_when_given():
    base = plan()
    aino = by_a(base, review_on="2026-07-27")
    bertta = by_b(base, review_on="2026-08-03")
    late = "2026-05-04T23:00:00+03:00"
    result = merge(base, aino, bertta, SideMeta(by=NEW_3, at=late), None)
    # Aino's revision now counts as the later one, written by NEW_3.
    assert result.doc["review_on"] == "2026-07-27"
    assert entries(result) == [
        entry("/review_on", "value", "2026-08-03", "2026-07-27", B, TB, NEW_3, late)
    ]


def test_text_merge_joins_back_every_character():
    text = '  Hei! Mitä kuuluu? 3.5 kg. Rivi ilman pistettä\nToinen "lainaus." Loppu'
    assert merge_text(text, text, text).text == text
    assert merge_text("", "", "Uusi.").text == "Uusi."
    merged_text = merge_text(text, text.replace("Hei!", "Moi!"), text.replace("Loppu", "Loppu."))
    assert merged_text.text == text.replace("Hei!", "Moi!").replace("Loppu", "Loppu.")


def test_the_example_mother_stays_untouched_when_only_the_child_changes():
    base = example("family") | {"updated_at": T0}
    bertta = copy.deepcopy(base)
    bertta["members"][1]["given_names"] = "Eetu Johannes"
    result = merged(base, by_a(base, address="Rantakatu 7, 40100 Jyväskylä"), by_b(bertta))
    assert result.doc["members"][0]["id"] == MOTHER
    assert result.doc["members"][1]["given_names"] == "Eetu Johannes"
    assert result.doc["address"] == "Rantakatu 7, 40100 Jyväskylä"
    assert result.doc["updated_by"] == B and result.doc["updated_at"] == TB
