"""A merge never fails on the document's own limits, and never hides anything to fit."""

from __future__ import annotations

import copy
import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mobile_schema import validate_document
from mobile_schema.base import RECONCILIATION_LIMIT
from sync.merge import Deletion, Graph, SideMeta, merge, merge_leaves
from sync.revisions import canonical_json
from tests.test_merge_scenarios import T0, TA, TB, A, B, by_a, by_b, draft_note, entry, plan


def items(count: int, tag: str) -> list[dict]:
    """`count` open reconciliation items, each with a recognisable value."""
    return [
        entry("/client_view", "value", f"{tag}-ours-{n}", f"{tag}-theirs-{n}", A, T0, B, T0)
        | {"id": hashlib.md5(f"{tag}-{n}".encode()).hexdigest()}
        for n in range(count)
    ]


def everything(doc: dict) -> str:
    """The whole document as text: what a worker can find in it."""
    return json.dumps(doc, ensure_ascii=False)


def item_ids(doc: dict) -> set[str]:
    out = set()
    for item in doc.get("reconciliation") or []:
        out.add(item["id"])
        out |= {inner["id"] for inner in item.get("compacted") or []}
    return out


def colliding(base: dict) -> tuple[dict, dict]:
    """Aino and Bertta rewrite the same three sentences, the client view and the review."""
    aino = by_a(
        base,
        discussion="Aino yksi. Aino kaksi. Sovittiin kuvakorteista. Aino kolme.",
        client_view="Aino näkee näin.",
        client_review={"status": "read"},
    )
    bertta = by_b(
        base,
        discussion="Bertta yksi. Bertta kaksi. Sovittiin kuvakorteista. Bertta kolme.",
        client_view="Bertta näkee näin.",
        client_review={"status": "disagrees"},
    )
    return aino, bertta


def test_a_note_with_199_open_items_that_gains_more_collisions_keeps_every_edit_visible():
    base = draft_note(discussion="Yksi. Kaksi. Sovittiin kuvakorteista. Kolme.")
    base["reconciliation"] = items(RECONCILIATION_LIMIT - 1, "old")
    aino, bertta = colliding(base)
    result = merge(base, aino, bertta)
    doc = validate_document(result.doc)  # the merge fits: the push never errors
    assert len(doc["reconciliation"]) <= RECONCILIATION_LIMIT
    assert item_ids(base) <= item_ids(doc)  # every old item, verbatim (some compacted)
    text = everything(doc)
    for words in ("Aino yksi", "Aino kaksi", "Aino kolme", "Bertta yksi", "Bertta kolme"):
        assert words in text
    assert "Aino näkee näin." in text and "Bertta näkee näin." in text
    assert '\\"read\\"' in text and doc["client_review"]["status"] == "disagrees"
    discussion = [i for i in doc["reconciliation"] if i["path"] == "/discussion"]
    assert [i["kind"] for i in discussion] == ["field"]  # three collisions, one item
    assert json.loads(discussion[0]["ours"]) == aino["discussion"]
    assert json.loads(discussion[0]["theirs"]) == bertta["discussion"]


def test_two_sides_with_many_different_items_are_compacted_not_dropped():
    base = draft_note()
    aino = by_a(base, reconciliation=items(150, "a"))
    bertta = by_b(base, reconciliation=items(150, "b"))
    result = merge(base, aino, bertta)
    doc = validate_document(result.doc)
    assert len(doc["reconciliation"]) <= RECONCILIATION_LIMIT
    assert item_ids(aino) | item_ids(bertta) <= item_ids(doc)
    [compacted] = [i for i in doc["reconciliation"] if i["kind"] == "compacted"]
    assert compacted["path"] == "" and len(compacted["compacted"]) >= 100


def test_compaction_never_nests_and_keeps_what_it_compacted_before():
    base = draft_note()
    a, b = by_a(base, reconciliation=items(150, "a")), by_b(base, reconciliation=items(150, "b"))
    first = merge(base, a, b).doc
    kept = first["reconciliation"]
    later = merge(
        first,
        by_a(first, reconciliation=[*kept, *items(120, "c")]),
        by_b(first, reconciliation=[*kept, *items(120, "d")]),
    ).doc
    validate_document(later)
    [compacted] = [i for i in later["reconciliation"] if i["kind"] == "compacted"]
    assert all("compacted" not in inner for inner in compacted["compacted"])
    assert item_ids(a) | item_ids(b) <= item_ids(later)
    assert len(item_ids(later)) >= 300 + 240


def test_agreed_actions_added_past_the_list_limit_keep_both_lists():
    base = draft_note(agreed_actions=[])
    mine = [{"id": f"{n:032x}", "text": f"Ainon tehtävä {n}."} for n in range(30)]
    hers = [{"id": f"{n + 100:032x}", "text": f"Bertan tehtävä {n}."} for n in range(30)]
    result = merge(base, by_a(base, agreed_actions=mine), by_b(base, agreed_actions=hers))
    doc = validate_document(result.doc)
    assert doc["agreed_actions"] == hers  # the later list stays in the field
    [kept] = [i for i in doc["reconciliation"] if i["path"] == "/agreed_actions"]
    assert json.loads(kept["ours"]) == mine and json.loads(kept["theirs"]) == hers


def test_ratings_added_past_the_list_limit_keep_both():
    base = plan()
    goal = base["goals"][0]["id"]

    def rated(doc, prefix, count):
        out = copy.deepcopy(doc)
        out["goals"][0]["ratings"] = [
            {
                "id": f"{prefix}{n:031x}",
                "rated_on": "2026-05-04",
                "value": n % 11,
                "rated_by": "parent",
            }
            for n in range(count)
        ]
        return out

    aino, bertta = by_a(rated(base, "a", 60)), by_b(rated(base, "b", 60))
    doc = validate_document(merge(base, aino, bertta).doc)
    assert len(doc["goals"][0]["ratings"]) == 60
    [kept] = [i for i in doc["reconciliation"] if i["path"] == f"/goals/{goal}/ratings"]
    assert len(json.loads(kept["ours"])) == 60 and len(json.loads(kept["theirs"])) == 60


def test_a_deletion_that_meets_an_edit_keeps_the_document_and_names_the_deleter():
    base = draft_note()
    bertta = by_b(base, discussion=base["discussion"] + " Isä soitti.")
    graph = Graph()
    graph.learn("3-" + "b" * 32, (), bertta)
    deletion = Deletion("3-" + "a" * 32, A, TA)
    plan_ = merge_leaves(graph, [bertta], [SideMeta(rev="3-" + "b" * 32)], [deletion])
    try:
        next(plan_)
        raise AssertionError("needs nothing: one live leaf")
    except StopIteration as done:
        result = done.value
    doc = validate_document(result.doc)
    assert doc["discussion"].endswith("Isä soitti.")
    [item] = doc["reconciliation"]
    assert {k: v for k, v in item.items() if k != "id"} == entry(
        "", "deleted_edited", None, base["_id"], A, TA, B, TB
    )
    # The merge takes the deletion in: its deletion-of-the-deletion marks it as merged.
    assert result.revisions.parent == "3-" + "b" * 32
    assert [leaf for leaf, _ in result.revisions.deletions] == ["3-" + "a" * 32]
    assert not result.revisions.records_history


@st.composite
def crowded(draw):
    """A note near its item limit and two sides that collide in some fields."""
    base = draft_note(discussion="Yksi. Kaksi. Kolme. Neljä.")
    base["reconciliation"] = items(draw(st.integers(150, RECONCILIATION_LIMIT)), "old")
    sides = []
    for who, at in ((A, TA), (B, TB)):
        edits = {}
        if draw(st.booleans()):
            edits["discussion"] = " ".join(
                f"{who[:4]} {n}." for n in range(draw(st.integers(1, 6)))
            )
        if draw(st.booleans()):
            edits["client_view"] = f"{who[:4]} näkee."
        if draw(st.booleans()):
            edits["client_review"] = {
                "status": draw(st.sampled_from(["read", "agrees", "disagrees"]))
            }
        extra = draw(st.integers(0, 60))
        if extra:
            edits["reconciliation"] = base["reconciliation"] + items(extra, who[:4])
        doc = copy.deepcopy(base)
        doc.update(updated_by=who, updated_at=at, **edits)
        sides.append(doc)
    return base, sides


@settings(max_examples=60, deadline=None)
@given(crowded())
def test_crowded_merges_always_fit_and_keep_every_item_and_value(case):
    base, (aino, bertta) = case
    result = merge(base, aino, bertta)
    doc = validate_document(result.doc)
    assert len(doc["reconciliation"]) <= RECONCILIATION_LIMIT
    assert item_ids(aino) | item_ids(bertta) <= item_ids(doc)
    text = everything(doc)
    for side in (aino, bertta):
        for key in ("discussion", "client_view"):
            if side.get(key) == base.get(key):
                continue  # not this side's edit
            for sentence in (side.get(key) or "").split(". "):
                assert sentence.rstrip(".") in text
    assert canonical_json(doc) == canonical_json(merge(base, bertta, aino).doc)
