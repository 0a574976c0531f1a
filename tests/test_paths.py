"""`mobile_schema.paths`: paths into a document, as reconciliation items name fields."""

from __future__ import annotations

import copy
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile_schema import paths
from mobile_schema.paths import PathError
from tests.strategies import documents

GOAL = "abcd1234" + "0" * 24
OTHER_GOAL = "abce5678" + "0" * 24
RATING = "9f00" + "1" * 28
PLAN = {
    "_id": "e" * 32,
    "goals": [
        {"id": GOAL, "title": "Rauhallisemmat illat", "ratings": [{"id": RATING, "value": 3}]},
        {"id": OTHER_GOAL, "title": "Aamut", "ratings": []},
    ],
    "client_review": None,
    "languages": ["fi", "sv"],
}


def test_a_segment_meeting_a_list_picks_by_id_then_unique_prefix_then_index():
    assert paths.get(PLAN, f"/goals/{GOAL}/ratings/{RATING}/value") == 3
    assert paths.get(PLAN, "goals/abcd/ratings/9f00/value") == 3  # leading / optional
    assert paths.get(PLAN, "/goals/1/title") == "Aamut"
    assert paths.get(PLAN, "/languages/1") == "sv"
    assert paths.get(PLAN, "") == PLAN


def test_errors_name_the_path_and_the_reason():
    with pytest.raises(PathError) as caught:
        paths.get(PLAN, "/goals/abcf/title")
    assert str(caught.value) == "/goals/abcf/title: no item abcf in /goals"
    assert isinstance(caught.value, ValueError)
    assert caught.value.path == "/goals/abcf/title"
    assert caught.value.reason == "no item abcf in /goals"
    with pytest.raises(PathError, match=r"^/goals/abc/title: no item abc in /goals \(an id pre"):
        paths.get(PLAN, "goals/abc/title")  # 3 characters are not a prefix, nor an index
    with pytest.raises(PathError, match=r"^/goals/7: no item 7 in /goals$"):
        paths.get(PLAN, "goals/7")
    with pytest.raises(PathError, match=r"^/nope: no field nope in the document$"):
        paths.get(PLAN, "nope")
    with pytest.raises(PathError, match="/goals/0/title is a text, not an object or a list"):
        paths.get(PLAN, "goals/0/title/first")
    with pytest.raises(PathError, match="empty segment"):
        paths.get(PLAN, "goals//title")


def test_ambiguous_prefix_lists_the_candidates():
    doc = {"goals": [{"id": "abcd1"}, {"id": "abcd2"}]}
    with pytest.raises(PathError, match=r"^/goals/abcd: item abcd in /goals is ambiguous: abcd1"):
        paths.get(doc, "goals/abcd")


def test_set_value_creates_missing_objects_but_never_list_items():
    doc = paths.set_value(PLAN, "client_review/status", "read")
    assert doc["client_review"] == {"status": "read"}
    doc = paths.set_value(doc, "/client_review/comment", "Luin.")
    assert doc["client_review"] == {"status": "read", "comment": "Luin."}
    doc = paths.set_value(doc, "goals/abce/title", "Aamut sujuvat")
    assert doc["goals"][1]["title"] == "Aamut sujuvat"
    with pytest.raises(PathError, match="no item ffff in /goals"):
        paths.set_value(PLAN, "goals/ffff/title", "x")
    with pytest.raises(PathError, match="whole document"):
        paths.set_value(PLAN, "/", {})
    assert PLAN["client_review"] is None  # the input is never changed


def test_remove_a_field_or_a_list_item():
    doc = paths.remove(PLAN, "goals/abcd/ratings/9f00")
    assert doc["goals"][0]["ratings"] == []
    doc = paths.remove(doc, "/client_review")
    assert "client_review" not in doc
    doc = paths.remove(doc, "languages/0")
    assert doc["languages"] == ["sv"]
    with pytest.raises(PathError, match="no field client_review in the document"):
        paths.remove(doc, "client_review")
    assert len(PLAN["goals"][0]["ratings"]) == 1


def test_append_creates_the_list_and_gives_object_items_an_id():
    doc = paths.append(PLAN, "agreed_actions", {"text": "Äiti soittaa neuvolaan."})
    [action] = doc["agreed_actions"]
    assert re.fullmatch(r"[0-9a-f]{32}", action["id"]) and action["text"].startswith("Äiti")
    doc = paths.append(doc, "agreed_actions", {"id": "7" * 32, "text": "Toinen."})
    assert doc["agreed_actions"][1]["id"] == "7" * 32
    doc = paths.append(doc, "goals/abcd/ratings", {"value": 5})
    assert [r["value"] for r in doc["goals"][0]["ratings"]] == [3, 5]
    doc = paths.append(doc, "languages", "ar")
    assert doc["languages"] == ["fi", "sv", "ar"]
    with pytest.raises(PathError, match="/goals/0/title is a text, not a list"):
        paths.append(PLAN, "goals/0/title", "x")
    assert "agreed_actions" not in PLAN


def test_segments_and_pointer_round_trip_escapes():
    assert paths.segments("/a~1b/c~0d") == ["a/b", "c~d"]
    assert paths.pointer(["a/b", "c~d"]) == "/a~1b/c~0d"
    assert paths.segments("") == paths.segments("/") == []


# ---------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _locations(node, prefix=()):
    """(segments, how) for every field and list item of `node`: `field` (an object's
    key), `id` (an item picked by its unique id) or `index`."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key), "field"
            yield from _locations(value, (*prefix, key))
    elif isinstance(node, list):
        ids = Counter(i.get("id") for i in node if isinstance(i, dict))
        for n, item in enumerate(node):
            item_id = item.get("id") if isinstance(item, dict) else None
            unique = isinstance(item_id, str) and ids[item_id] == 1
            segment, how = (item_id, "id") if unique else (str(n), "index")
            yield (*prefix, segment), how
            yield from _locations(item, (*prefix, segment))


def _at(doc, parts):
    return paths.get(doc, paths.pointer(list(parts)))


def _written(parts, slash: bool) -> str:
    text = paths.pointer(list(parts))
    return text if slash else text[1:]


@SETTINGS
@given(data=st.data())
def test_set_then_get_gives_the_value_back(data):
    doc = data.draw(documents())
    original = copy.deepcopy(doc)
    found = list(_locations(doc))
    spots = [parts for parts, how in found if how != "id" and parts[-1] != "id"]
    objects = [(), *(parts for parts, _how in found if isinstance(_at(doc, parts), dict))]
    choices = spots + [(*parts, "zz_new", "deeper") for parts in objects]
    parts = data.draw(st.sampled_from(choices))
    path = _written(parts, data.draw(st.booleans()))
    value = data.draw(JSON)
    changed = paths.set_value(doc, path, value)
    assert paths.get(changed, path) == value
    assert doc == original


@SETTINGS
@given(data=st.data())
def test_remove_then_get_raises(data):
    doc = data.draw(documents())
    original = copy.deepcopy(doc)
    spots = [parts for parts, how in _locations(doc) if how != "index"]
    parts = data.draw(st.sampled_from(spots))
    path = _written(parts, data.draw(st.booleans()))
    changed = paths.remove(doc, path)
    with pytest.raises(PathError):
        paths.get(changed, path)
    assert doc == original


def test_an_id_made_of_digits_never_falls_back_to_an_index():
    doc = {"items": [{"id": "0" * 32, "text": "a"}, {"id": "1" * 32, "text": "b"}]}
    gone = paths.remove(doc, f"/items/{'0' * 32}")
    with pytest.raises(PathError, match="no item"):
        paths.get(gone, f"/items/{'0' * 32}")
    assert paths.get(gone, "/items/0/text") == "b"  # a short index still works
