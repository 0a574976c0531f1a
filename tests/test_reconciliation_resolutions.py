"""Resolving a reconciliation item (server/casework/resolutions.py), kind by kind: the
field as the worker chose it, the item gone or acknowledged, the stamps, and what is
refused (a final note's content, a field edited since the merge)."""

from __future__ import annotations

import json
import random

import pytest

from mobile_schema import validate_document
from mobile_schema.base import open_items
from server.casework import resolutions as r
from server.tools.demo_data import note_doc
from sync.merge import merge

pytestmark = pytest.mark.both_directories

AINO, BERTIL, KAISA = "a" * 32, "b" * 32, "c" * 32
CASE = "d" * 32
BASE = "Tapasimme kotona. Äiti kertoi aamuista. Sovimme seuraavasta käynnistä."
NOW = "2026-11-23T08:00:00Z"


def note(**fields) -> dict:
    doc = note_doc(random.Random(1), CASE, AINO) | {"state": "draft", "discussion": BASE}
    for key in ("finalised_by", "finalised_at"):
        doc.pop(key, None)
    return validate_document(doc | fields)


def merged(ours: dict, theirs: dict, base: dict) -> dict:
    """The gateway's merge of two edits (ours earlier), as the server writes it."""
    return merge(base, ours, theirs).doc


def edited(base: dict, by: str, at: str, **fields) -> dict:
    return base | fields | {"updated_by": by, "updated_at": at}


def text_collision() -> dict:
    base = note()
    aino = edited(
        base, AINO, "2026-11-22T10:01:00Z", discussion=BASE.replace("aamuista", "aamuista paljon")
    )
    bertil = edited(
        base,
        BERTIL,
        "2026-11-22T10:02:00Z",
        discussion=BASE.replace("Äiti kertoi aamuista.", "Isä oli töissä."),
    )
    return merged(aino, bertil, base)


def test_keeping_one_side_of_a_text_leaves_its_passage_and_the_rest_of_the_text():
    doc = text_collision()
    [item] = open_items(doc)
    assert item["kind"] == "text" and r.keepable(doc, item) == {"earlier", "later"}
    earlier = r.resolved(doc, item["id"], "earlier", KAISA, NOW)
    assert earlier["discussion"] == BASE.replace("aamuista", "aamuista paljon")
    later = r.resolved(doc, item["id"], "later", KAISA, NOW)
    assert later["discussion"] == BASE.replace("Äiti kertoi aamuista.", "Isä oli töissä.")
    for out in (earlier, later):
        assert "reconciliation" not in out
        assert (out["updated_by"], out["updated_at"]) == (KAISA, NOW)
        validate_document(out)


def test_an_edited_text_replaces_the_field_and_a_moved_passage_is_not_guessed():
    doc = text_collision()
    [item] = open_items(doc)
    assert r.current_text(doc, item) == doc["discussion"]
    out = r.resolved(doc, item["id"], "text", KAISA, NOW, text="Uusi teksti.\r\nToinen rivi.")
    assert out["discussion"] == "Uusi teksti.\nToinen rivi." and not open_items(out)
    rewritten = doc | {"discussion": "Joku kirjoitti kaiken uudelleen."}
    assert r.keepable(rewritten, item) == set()
    with pytest.raises(r.ResolutionRefused) as refused:
        r.resolved(rewritten, item["id"], "earlier", KAISA, NOW)
    assert refused.value.reason == "passages_moved"


def test_a_passage_one_side_removed_goes_when_that_side_is_kept():
    assert r.keep_passage("A. B. C.", "", "B.", "") == "A. C."
    assert r.keep_passage("A. B.", "", "B.", "") == "A."
    assert r.keep_passage("A. B. C.", "", "B.", "B.") == "A. B. C."
    assert r.keep_passage("A. B. A. B.", "A.", "B.", "A.") is None  # twice: not guessed


def test_a_value_collision_sets_the_earlier_value_and_a_removal_removes():
    base = note(client_review={"status": "read"})
    aino = edited(base, AINO, "2026-11-22T10:01:00Z", client_review={"status": "agrees"})
    bertil = edited(base, BERTIL, "2026-11-22T10:02:00Z", client_review={"status": "disagrees"})
    doc = merged(aino, bertil, base)
    [item] = open_items(doc)
    assert (item["kind"], item["path"]) == ("value", "/client_review/status")
    assert r.current_text(doc, item) is None  # a choice, not free text to edit
    assert r.is_text_field("note", "/client_review/comment")
    assert r.is_text_field("plan", "/goals/0123abcd/parent_view")
    assert not r.is_text_field("plan", "/goals/0123abcd/ratings/4567cdef/value")
    out = r.resolved(doc, item["id"], "earlier", KAISA, NOW)
    assert out["client_review"]["status"] == "agrees" and not open_items(out)
    removed = {**item, "ours": json.dumps(None), "path": "/client_review"}
    doc = doc | {"reconciliation": [removed]}
    assert "client_review" not in r.resolved(doc, item["id"], "earlier", KAISA, NOW)


def test_an_acknowledgement_changes_nothing_but_the_item():
    doc = text_collision()
    [item] = open_items(doc)
    out = r.resolved(doc, item["id"], "acknowledge", KAISA, NOW)
    [acked] = out["reconciliation"]
    [ack] = acked["acknowledged"]
    assert (ack["by"], ack["at"]) == (KAISA, NOW) and len(ack["id"]) == 32
    assert {k: v for k, v in out.items() if k != "reconciliation"} == {
        k: v for k, v in doc.items() if k != "reconciliation"
    }
    with pytest.raises(r.ResolutionRefused) as again:
        r.resolved(out, item["id"], "later", KAISA, NOW)
    assert again.value.reason == "item_closed"


def test_a_final_note_and_a_whole_document_item_are_only_acknowledged():
    doc = text_collision() | {"state": "final", "finalised_by": AINO, "finalised_at": NOW}
    [item] = open_items(doc)
    assert r.acknowledge_only(doc, item) and r.keepable(doc, item) == set()
    assert r.current_text(doc, item) is None
    for choice in ("earlier", "later", "text"):
        with pytest.raises(r.ResolutionRefused) as refused:
            r.resolved(doc, item["id"], choice, KAISA, NOW, text="x")
        assert refused.value.reason == "acknowledge_only"
    deleted = text_collision()
    [item] = open_items(deleted)
    whole = {**item, "kind": "deleted_edited", "path": "", "ours": "null"}
    deleted = deleted | {"reconciliation": [whole]}
    assert r.acknowledge_only(deleted, whole)
    assert r.resolved(deleted, whole["id"], "acknowledge", KAISA, NOW)["discussion"]
