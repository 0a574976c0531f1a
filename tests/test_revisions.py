"""Unit tests for sync.revisions: rev ids, CouchDB winner rules, paths, stemming."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.revisions import (
    InvalidRevision,
    RevisionConflict,
    RevTree,
    canonical_json,
    next_rev,
    parse_rev,
    rev_hash,
)

A, B, C, D, E, F = "aa", "bb", "cc", "dd", "ee", "ff"


def chain(*revs: str, deleted: bool = False) -> RevTree:
    """A tree holding one linear path given oldest first as full rev ids."""
    tree = RevTree()
    tree.add(revisions(*revs), deleted)
    return tree


def revisions(*revs: str) -> dict:
    """``_revisions`` for a linear path given oldest first as full rev ids."""
    newest = revs[-1]
    return {"start": parse_rev(newest)[0], "ids": [parse_rev(r)[1] for r in reversed(revs)]}


# --------------------------------------------------------------------- parse_rev


def test_parse_rev_accepts_canonical_ids():
    assert parse_rev("1-abc") == (1, "abc")
    assert parse_rev("12-0123456789abcdef") == (12, "0123456789abcdef")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0-abc",
        "1-",
        "x-abc",
        "1-XYZ",
        "1-ABC",
        "-1-ab",
        "+1-ab",
        "01-ab",
        "1-ab-cd",
        "1_ab",
        "1-ab\n",
        " 1-ab",
        "١-ab",  # Arabic-Indic digit one
        None,
        1,
        b"1-ab",
        ["1-ab"],
    ],
)
def test_parse_rev_rejects(bad):
    with pytest.raises(InvalidRevision) as info:
        parse_rev(bad)
    assert repr(bad) in str(info.value)
    assert info.value.value == bad
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------- hashing


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": ["ä", None]}) == '{"a":["ä",null],"b":1}'.encode()


def test_canonical_json_rejects_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_rev_hash_is_32_lowercase_hex_and_deterministic():
    body = {"title": "Kotikäynti", "n": [1, 2]}
    first = rev_hash(None, False, body)
    assert len(first) == 32
    assert parse_rev(f"1-{first}")
    assert rev_hash(None, False, dict(reversed(body.items()))) == first


def test_rev_hash_ignores_underscore_keys():
    body = {"title": "x"}
    noisy = {
        "title": "x",
        "_id": "doc",
        "_rev": "1-aa",
        "_revisions": {"start": 1, "ids": ["aa"]},
        "_deleted": False,
        "_conflicts": ["1-bb"],
    }
    assert rev_hash("1-aa", False, noisy) == rev_hash("1-aa", False, body)


@pytest.mark.parametrize(
    ("parent", "deleted", "body"),
    [
        ("1-ab", False, {"title": "x"}),  # other parent
        (None, True, {"title": "x"}),  # deleted flag
        (None, False, {"title": "y"}),  # other value
        (None, False, {"title": "x", "extra": None}),  # extra key
        (None, False, {"Title": "x"}),  # key case
    ],
)
def test_rev_hash_depends_on_parent_deleted_and_content(parent, deleted, body):
    assert rev_hash(parent, deleted, body) != rev_hash(None, False, {"title": "x"})


def test_next_rev_increments_position():
    first = next_rev(None, False, {"a": 1})
    assert first.startswith("1-")
    second = next_rev(first, False, {"a": 2})
    assert parse_rev(second)[0] == 2
    assert next_rev(first, False, {"a": 2}) == second
    assert next_rev("41-ab", True, {}).startswith("42-")


def test_next_rev_rejects_bad_parent():
    with pytest.raises(InvalidRevision):
        next_rev("1-XY", False, {})


# ----------------------------------------------------------------- winner rules


def test_single_path_winner_and_leaves():
    tree = chain("1-aa", "2-bb", "3-cc")
    assert tree.winner() == "3-cc"
    assert tree.leaves() == [("3-cc", False)]
    assert tree.conflicts() == []
    assert not tree.is_deleted()
    assert tree.is_leaf("3-cc")
    assert not tree.is_leaf("2-bb")


def test_higher_position_wins():
    tree = chain("1-aa", "2-ff")
    tree.add(revisions("1-aa", "2-bb", "3-cc"), False)
    assert tree.winner() == "3-cc"
    assert tree.conflicts() == ["2-ff"]


def test_hash_breaks_position_ties_by_string_order():
    tree = chain("1-aa", "2-bb")
    tree.add(revisions("1-aa", "2-cc"), False)
    tree.add(revisions("1-aa", "2-b9"), False)
    assert tree.winner() == "2-cc"
    assert tree.conflicts() == ["2-bb", "2-b9"]


def test_string_comparison_not_numeric_for_hash():
    tree = chain("1-aa", "2-9")
    tree.add(revisions("1-aa", "2-10"), False)
    assert tree.winner() == "2-9"


def test_live_leaf_beats_longer_deleted_leaf():
    tree = chain("1-aa", "2-bb")
    tree.add(revisions("1-aa", "2-cc", "3-dd", "4-ee"), True)
    assert tree.winner() == "2-bb"
    assert not tree.is_deleted()
    assert tree.conflicts() == []
    assert tree.deleted_conflicts() == ["4-ee"]


def test_all_leaves_deleted_document_is_deleted():
    tree = chain("1-aa", "2-bb", deleted=True)
    tree.add(revisions("1-aa", "2-cc", "3-dd"), True)
    assert tree.winner() == "3-dd"
    assert tree.is_deleted()
    assert tree.conflicts() == []
    assert tree.deleted_conflicts() == ["2-bb"]


def test_conflicts_order_is_best_first():
    tree = chain("1-aa", "2-aa")
    for rev_path in [("1-aa", "2-cc"), ("1-aa", "2-bb", "3-aa"), ("1-aa", "2-ff")]:
        tree.add(revisions(*rev_path), False)
    tree.add(revisions("1-aa", "2-ee", "3-ff", "4-aa"), True)
    assert tree.winner() == "3-aa"
    assert tree.conflicts() == ["2-ff", "2-cc", "2-aa"]
    assert tree.deleted_conflicts() == ["4-aa"]
    assert [rev for rev, _ in tree.leaves()] == ["3-aa", "2-ff", "2-cc", "2-aa", "4-aa"]


def test_winner_of_empty_tree_raises():
    with pytest.raises(LookupError):
        RevTree().winner()


# ------------------------------------------------------------------ add / paths


def test_add_reports_new_leaf_and_is_idempotent():
    tree = RevTree()
    assert tree.add(revisions("1-aa", "2-bb"), False) is True
    snapshot = tree.to_json()
    assert tree.add(revisions("1-aa", "2-bb"), False) is False
    assert tree.add(revisions("2-bb"), True) is False
    assert tree.to_json() == snapshot
    assert tree.deleted("2-bb") is False


def test_adding_an_interior_rev_is_a_no_op():
    tree = chain("1-aa", "2-bb", "3-cc")
    assert tree.add(revisions("1-aa", "2-bb"), True) is False
    assert tree.leaves() == [("3-cc", False)]


def test_deleted_flag_of_ancestor_filled_in_by_its_own_path():
    """Order-independence: a tombstone later extended keeps its flag on every replica."""
    first = chain("1-aa", "2-bb", deleted=True)
    first.add(revisions("1-aa", "2-bb", "3-cc"), False)
    second = chain("1-aa", "2-bb", "3-cc")
    second.add(revisions("1-aa", "2-bb"), True)
    assert first == second
    assert second.deleted("2-bb") is True
    assert second.deleted("1-aa") is False


def test_path_and_ancestors_round_trip():
    tree = chain("1-aa", "2-bb", "3-cc")
    tree.add(revisions("1-aa", "2-dd"), False)
    assert tree.path("3-cc") == {"start": 3, "ids": ["cc", "bb", "aa"]}
    assert tree.path("2-dd") == {"start": 2, "ids": ["dd", "aa"]}
    assert tree.ancestors("3-cc") == ["2-bb", "1-aa"]
    assert tree.ancestors("1-aa") == []
    copy = RevTree()
    for leaf, deleted in tree.leaves():
        copy.add(tree.path(leaf), deleted)
    assert copy == tree


def test_path_of_unknown_rev_raises_key_error():
    with pytest.raises(KeyError, match="3-cc"):
        chain("1-aa").path("3-cc")


def test_disjoint_stemmed_path_becomes_second_root():
    tree = chain("1-aa", "2-bb")
    tree.add({"start": 5, "ids": ["ee", "dd"]}, False)
    assert tree.ancestors("5-ee") == ["4-dd"]
    assert tree.path("5-ee") == {"start": 5, "ids": ["ee", "dd"]}
    assert tree.winner() == "5-ee"
    assert tree.conflicts() == ["2-bb"]


def test_stemmed_path_joins_at_shared_rev():
    tree = chain("1-aa", "2-bb", "3-cc")
    tree.add({"start": 5, "ids": ["ee", "dd", "cc"]}, False)
    assert tree.leaves() == [("5-ee", False)]
    assert tree.path("5-ee") == {"start": 5, "ids": ["ee", "dd", "cc", "bb", "aa"]}


def test_longer_history_gives_stemmed_root_its_parents():
    tree = RevTree()
    tree.add({"start": 4, "ids": ["dd", "cc"]}, False)
    tree.add({"start": 2, "ids": ["bb", "aa"]}, False)
    assert len(tree.leaves()) == 2
    tree.add({"start": 4, "ids": ["dd", "cc", "bb", "aa"]}, False)
    assert tree.leaves() == [("4-dd", False)]
    assert tree.ancestors("4-dd") == ["3-cc", "2-bb", "1-aa"]


def test_contradicting_ancestry_keeps_existing_parent():
    tree = chain("1-aa", "2-bb", "3-cc")
    assert tree.add({"start": 4, "ids": ["dd", "cc", "b9", "a9"]}, False) is True
    assert tree.ancestors("4-dd") == ["3-cc", "2-bb", "1-aa"]
    assert "2-b9" not in tree


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"ids": ["aa"]},
        {"start": 0, "ids": ["aa"]},
        {"start": True, "ids": ["aa"]},
        {"start": "1", "ids": ["aa"]},
        {"start": 1, "ids": []},
        {"start": 1, "ids": "aa"},
        {"start": 1, "ids": ["aa", "bb"]},
        {"start": 2, "ids": ["aa", "BB"]},
        {"start": 2, "ids": ["aa", ""]},
        {"start": 2, "ids": ["aa", 7]},
    ],
)
def test_add_rejects_bad_revisions(bad):
    tree = RevTree()
    with pytest.raises(InvalidRevision):
        tree.add(bad, False)
    assert len(tree) == 0


# ----------------------------------------------------------------- new edits


def test_new_document_edit_chain():
    tree = RevTree()
    assert tree.parent_for_new_edit(None) is None
    first = next_rev(None, False, {"a": 1})
    tree.add_child(None, first, False)
    parent = tree.parent_for_new_edit(first)
    second = next_rev(parent, False, {"a": 2})
    tree.add_child(parent, second, False)
    assert tree.winner() == second
    assert tree.ancestors(second) == [first]


def test_new_edit_without_rev_on_live_doc_conflicts():
    tree = chain("1-aa")
    with pytest.raises(RevisionConflict):
        tree.parent_for_new_edit(None)
    with pytest.raises(RevisionConflict):
        tree.add_child(None, "1-bb", False)


def test_new_edit_on_stale_or_unknown_rev_conflicts():
    tree = chain("1-aa", "2-bb")
    for stale in ("1-aa", "2-cc"):
        with pytest.raises(RevisionConflict):
            tree.parent_for_new_edit(stale)
        with pytest.raises(RevisionConflict):
            tree.add_child(stale, "3-dd" if stale == "2-cc" else "2-dd", False)


def test_any_leaf_may_be_edited_including_losing_and_deleted_ones():
    tree = chain("1-aa", "2-bb", "3-cc")
    tree.add(revisions("1-aa", "2-dd"), True)
    assert tree.parent_for_new_edit("2-dd") == "2-dd"
    tree.add_child("2-dd", "3-ee", False)
    assert tree.winner() == "3-ee"
    assert tree.conflicts() == ["3-cc"]


def test_recreating_deleted_document_continues_from_tombstone():
    tree = chain("1-aa", "2-bb", deleted=True)
    parent = tree.parent_for_new_edit(None)
    assert parent == "2-bb"
    rev = next_rev(parent, False, {"a": 1})
    assert rev.startswith("3-")
    tree.add_child(parent, rev, False)
    assert tree.winner() == rev
    assert not tree.is_deleted()


def test_add_child_checks_position_and_duplicates():
    tree = chain("1-aa", "2-bb")
    with pytest.raises(InvalidRevision):
        tree.add_child("2-bb", "4-cc", False)
    tree.add(revisions("3-cc"), False)
    with pytest.raises(RevisionConflict):
        tree.add_child("2-bb", "3-cc", False)
    with pytest.raises(InvalidRevision):
        RevTree().add_child(None, "2-aa", False)


def test_add_child_records_deleted_flag():
    tree = chain("1-aa")
    tree.add_child("1-aa", "2-bb", True)
    assert tree.is_deleted()
    assert tree.deleted("2-bb")


# ------------------------------------------------------------------ revs_diff


def test_missing_keeps_input_order_without_duplicates():
    tree = chain("1-aa", "2-bb")
    assert tree.missing(["3-cc", "1-aa", "2-dd", "3-cc", "2-bb"]) == ["3-cc", "2-dd"]
    with pytest.raises(InvalidRevision):
        tree.missing(["bogus"])


def test_possible_ancestors_are_lower_leaves_best_first():
    tree = chain("1-aa", "2-bb", "3-cc")
    tree.add(revisions("1-aa", "2-dd"), True)
    tree.add(revisions("1-aa", "2-ee"), False)
    assert tree.possible_ancestors("4-ff") == ["3-cc", "2-ee", "2-dd"]
    assert tree.possible_ancestors("3-ff") == ["2-ee", "2-dd"]
    assert tree.possible_ancestors(["2-ff", "3-ff"]) == ["2-ee", "2-dd"]
    assert tree.possible_ancestors("2-ff") == []
    assert tree.possible_ancestors("3-cc") == []  # not missing


# ---------------------------------------------------------------------- stem


def test_stem_limit_one_keeps_only_leaves():
    tree = chain("1-aa", "2-bb", "3-cc")
    tree.add(revisions("1-aa", "2-dd"), False)
    dropped = tree.stem(1)
    assert dropped == ["1-aa", "2-bb"]
    assert tree.revs() == ["2-dd", "3-cc"]
    assert tree.path("3-cc") == {"start": 3, "ids": ["cc"]}
    assert tree.leaves() == [("3-cc", False), ("2-dd", False)]


def test_stem_limit_two_with_branches():
    tree = chain("1-aa", "2-bb", "3-cc", "4-dd")
    tree.add(revisions("1-aa", "2-bb", "3-ee"), False)
    tree.stem(2)
    assert tree.revs() == ["2-bb", "3-cc", "3-ee", "4-dd"]
    # 2-bb stays for 3-ee; kept nodes keep their edges (as CouchDB's stem does), so
    # 4-dd's path is longer than the limit.
    assert tree.path("4-dd") == {"start": 4, "ids": ["dd", "cc", "bb"]}
    assert tree.path("3-ee") == {"start": 3, "ids": ["ee", "bb"]}
    assert tree.is_leaf("3-ee")
    assert not tree.is_leaf("2-bb")


def test_stem_keeps_union_of_leaf_paths():
    tree = chain("1-aa", "2-bb", "3-cc", "4-dd", "5-ee")
    tree.add(revisions("1-aa", "2-ff"), False)
    tree.stem(3)
    assert tree.revs() == ["1-aa", "2-ff", "3-cc", "4-dd", "5-ee"]
    assert tree.ancestors("2-ff") == ["1-aa"]
    assert tree.ancestors("3-cc") == []
    assert tree.common_ancestor("5-ee", "2-ff") is None


def test_stem_never_removes_leaves_and_is_stable():
    tree = chain("1-aa", "2-bb", "3-cc", deleted=True)
    tree.add(revisions("1-aa", "2-dd"), False)
    leaves = tree.leaves()
    tree.stem(1)
    assert tree.leaves() == leaves
    snapshot = tree.to_json()
    assert tree.stem(1) == []
    assert tree.to_json() == snapshot


def test_stem_rejects_bad_limit():
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError):
            chain("1-aa").stem(bad)


def test_readding_after_stem_then_stemming_again_is_stable():
    tree = chain("1-aa", "2-bb", "3-cc", "4-dd")
    tree.stem(2)
    stemmed = tree.to_json()
    tree.add(revisions("1-aa", "2-bb", "3-cc", "4-dd"), False)
    assert tree.ancestors("4-dd") == ["3-cc", "2-bb", "1-aa"]
    tree.stem(2)
    assert tree.to_json() == stemmed


# ------------------------------------------------------------ common ancestor


def test_common_ancestor():
    tree = chain("1-aa", "2-bb", "3-cc", "4-dd")
    tree.add(revisions("1-aa", "2-bb", "3-ee"), False)
    tree.add(revisions("1-aa", "2-ff"), False)
    assert tree.common_ancestor("4-dd", "3-ee") == "2-bb"
    assert tree.common_ancestor("3-ee", "4-dd") == "2-bb"
    assert tree.common_ancestor("4-dd", "2-ff") == "1-aa"
    assert tree.common_ancestor("4-dd", "3-cc") == "3-cc"
    assert tree.common_ancestor("4-dd", "4-dd") == "4-dd"
    with pytest.raises(KeyError):
        tree.common_ancestor("4-dd", "9-aa")


# ------------------------------------------------------------------ storage


def test_to_json_layout():
    tree = chain("1-aa", "2-bb")
    tree.add(revisions("1-aa", "2-cc"), True)
    tree.add({"start": 7, "ids": ["ff"]}, False)
    assert tree.to_json() == {
        "v": 1,
        "revs": [
            ["1-aa", None, None],
            ["2-bb", 0, False],
            ["2-cc", 0, True],
            ["7-ff", None, False],
        ],
    }


def test_to_json_is_independent_of_insertion_order():
    paths = [
        (revisions("1-aa", "2-bb", "3-cc"), False),
        (revisions("1-aa", "2-dd"), True),
        ({"start": 9, "ids": ["ee"]}, False),
    ]
    one, other = RevTree(), RevTree()
    for path, deleted in paths:
        one.add(path, deleted)
    for path, deleted in reversed(paths):
        other.add(path, deleted)
    assert json.dumps(one.to_json()) == json.dumps(other.to_json())


def test_json_round_trip():
    tree = chain("1-aa", "2-bb", "3-cc")
    tree.add(revisions("1-aa", "2-dd"), True)
    tree.add({"start": 9, "ids": ["ee", "ff"]}, False)
    data = tree.to_json()
    restored = RevTree.from_json(json.loads(json.dumps(data)))
    assert restored == tree
    assert restored.to_json() == data
    assert RevTree.from_json(json.dumps(data)) == tree
    assert restored.leaves() == tree.leaves()
    assert restored.path("3-cc") == tree.path("3-cc")


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"revs": []},
        {"v": 2, "revs": []},
        {"v": 1},
        {"v": 1, "revs": [["1-aa", None]]},
        {"v": 1, "revs": [["1-AA", None, False]]},
        {"v": 1, "revs": [["1-aa", None, 0]]},
        {"v": 1, "revs": [["1-aa", None, False], ["1-aa", None, False]]},
        {"v": 1, "revs": [["2-bb", 0, False]]},
        {"v": 1, "revs": [["1-aa", None, False], ["3-bb", 0, False]]},
        {"v": 1, "revs": [["1-aa", None, False], ["2-bb", True, False]]},
        {"v": 1, "revs": [["1-aa", None, False], ["2-bb", -1, False]]},
    ],
)
def test_from_json_rejects_corrupt_data(bad):
    with pytest.raises(ValueError):
        RevTree.from_json(bad)


def test_empty_tree_round_trip_and_repr():
    assert RevTree.from_json(RevTree().to_json()) == RevTree()
    assert "winner=None" in repr(RevTree())
    assert "3-cc" in repr(chain("1-aa", "2-bb", "3-cc"))


def test_contains_and_revs():
    tree = chain("1-aa", "2-bb")
    assert "2-bb" in tree
    assert "2-cc" not in tree
    assert None not in tree
    assert list(tree) == tree.revs() == ["1-aa", "2-bb"]
    assert len(tree) == 2


@given(
    start=st.integers(1, 60),
    hashes=st.lists(st.text("0123456789abcdef", min_size=1, max_size=8), min_size=1, max_size=12),
    deleted=st.booleans(),
)
def test_path_json_is_the_json_of_a_tree_holding_that_path(start, hashes, deleted):
    if start < len(hashes):
        start = len(hashes)
    revisions = {"start": start, "ids": hashes}
    tree = RevTree()
    tree.add(revisions, deleted)
    assert RevTree.path_json(revisions, deleted) == tree.to_json()
    assert RevTree.from_json(RevTree.path_json(revisions, deleted)) == tree
