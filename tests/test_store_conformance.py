"""The conformance suite every store passes (`sync.store.base`'s contract).

Each test runs once per backend (see `tests/conftest.py`). The assertions are what a
user of the store - the sync gateway, a CouchDB-protocol client - would notice; they
follow the docstrings of `sync.store.base` and CouchDB's behaviour, never the quirks of
one backing server. Sequences are compared only for equality, never as numbers.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.revisions import RevisionConflict, RevTree, canonical_json, next_rev, parse_rev
from sync.store.errors import DatabaseExists, InvalidDatabaseName, NotFound
from tests.conftest import MAX_DOCUMENT_SIZE

# ------------------------------------------------------------------------- helpers


def h(label: str) -> str:
    """A 32-hex-digit revision hash named by `label` (for replicated writes)."""
    return hashlib.md5(label.encode()).hexdigest()


def rev_path(*revs: str) -> dict:
    """`_revisions` for full rev ids given newest first."""
    return {"start": parse_rev(revs[0])[0], "ids": [parse_rev(r)[1] for r in revs]}


def body(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def ok(result: dict, doc_id: str | None = None) -> str:
    """Assert a bulk_docs result is a success (for `doc_id`); return its rev."""
    assert result.get("ok") is True, result
    assert "error" not in result, result
    if doc_id is not None:
        assert result["id"] == doc_id
    parse_rev(result["rev"])
    return result["rev"]


def write(db, doc: dict) -> str:
    """One interactive write that must succeed; returns the new rev."""
    [result] = db.bulk_docs([doc])
    return ok(result, doc["_id"])


def replicate(db, doc_id: str, *revs: str, deleted: bool = False, **fields) -> None:
    """A new_edits=false write of the path `revs` (newest first) with body `fields`."""
    doc = {"_id": doc_id, "_rev": revs[0], "_revisions": rev_path(*revs), **fields}
    if deleted:
        doc["_deleted"] = True
    [result] = db.bulk_docs([doc], new_edits=False)
    assert ok(result, doc_id) == revs[0]


def leaves_of(db, doc_id: str) -> set[tuple[str, bool]]:
    """`(rev, deleted)` of every leaf, read with open_revs="all"."""
    entries = db.get(doc_id, open_revs="all")
    assert all(set(entry) == {"ok"} for entry in entries), entries
    return {(e["ok"]["_rev"], e["ok"].get("_deleted", False) is True) for e in entries}


def change_of(db, doc_id: str, **kwargs) -> dict:
    [row] = [r for r in db.changes(**kwargs)["results"] if r["id"] == doc_id]
    return row


def all_changes(db, **kwargs) -> list[dict]:
    return db.changes(**kwargs)["results"]


def is_error(result: dict, error: str, doc_id) -> None:
    assert result.get("error") == error, result
    assert "ok" not in result and "rev" not in result, result
    assert result["id"] == doc_id
    assert isinstance(result.get("reason"), str)


# A rev tree used by several tests: 1-a -> 2-b -> 3-c (winner) and 1-a -> 2-d (conflict),
# plus 1-a -> 2-e -> 3-f deleted (a deleted leaf: never a conflict).
A, B, C, D, E, F = (f"{pos}-{h(x)}" for pos, x in zip((1, 2, 3, 2, 2, 3), "abcdef", strict=True))


def conflicted(db, doc_id: str = "doc") -> None:
    replicate(db, doc_id, C, B, A, v="c")
    replicate(db, doc_id, D, A, v="d")
    replicate(db, doc_id, F, E, A, deleted=True)


# --------------------------------------------------------------------- databases


def test_create_database_gives_an_empty_database(store, new_db_name):
    name = new_db_name()
    db = store.create_database(name)
    assert db.name == name
    info = db.info()
    assert info["db_name"] == name
    assert (info["doc_count"], info["doc_del_count"]) == (0, 0)
    assert db.changes()["results"] == []
    assert db.all_docs()["rows"] == []


def test_create_existing_database_raises_database_exists(store, new_db_name):
    name = new_db_name()
    store.create_database(name)
    with pytest.raises(DatabaseExists):
        store.create_database(name)


@pytest.mark.parametrize(
    "name", ["", "_bad", "Upper", "1abc", "a b", "a.b", "ä", "x" * 239, None, 7]
)
def test_invalid_database_name_raises_and_creates_nothing(store, name):
    before = store.list_databases()
    with pytest.raises(InvalidDatabaseName):
        store.create_database(name)
    assert store.list_databases() == before


def test_database_opens_an_existing_database(store, new_db_name):
    name = new_db_name()
    write(store.create_database(name), {"_id": "x", "v": 1})
    db = store.database(name)
    assert db.name == name
    assert db.get("x")["v"] == 1


def test_missing_database_raises_not_found(store, new_db_name):
    with pytest.raises(NotFound):
        store.database(new_db_name())


def test_delete_database(store, new_db_name):
    name = new_db_name()
    store.create_database(name)
    store.delete_database(name)
    assert name not in store.list_databases()
    with pytest.raises(NotFound):
        store.database(name)
    with pytest.raises(NotFound):
        store.delete_database(name)


def test_delete_missing_database_raises_not_found(store, new_db_name):
    with pytest.raises(NotFound):
        store.delete_database(new_db_name())


def test_deleted_database_takes_its_documents_and_archive_with_it(store, new_db_name):
    name = new_db_name()
    db = store.create_database(name)
    rev = write(db, {"_id": "x", "v": 1})
    db.put_local("checkpoint", {"seq": 1})
    store.delete_database(name)
    again = store.create_database(name)
    assert again.info()["doc_count"] == 0
    with pytest.raises(NotFound):
        again.get("x")
    with pytest.raises(NotFound):
        again.get_local("checkpoint")
    assert again.archived("x", rev) is None
    assert again.changes()["results"] == []


def test_list_databases_is_sorted_and_has_no_system_databases(store, new_db_name):
    names = [new_db_name() for _ in range(3)]
    for name in sorted(names, reverse=True):
        store.create_database(name)
    listed = store.list_databases()
    assert listed == sorted(listed)
    assert set(names) <= set(listed)
    assert not [n for n in listed if n.startswith("_")]


def test_ensure_database_creates_once_and_then_opens(store, new_db_name):
    name = new_db_name()
    first = store.ensure_database(name)
    write(first, {"_id": "x"})
    second = store.ensure_database(name)
    assert second.name == name
    assert second.info()["doc_count"] == 1


# -------------------------------------------------------------------------- info


def test_info_counts_live_and_deleted_documents(db):
    revs = [write(db, {"_id": f"d{i}", "i": i}) for i in range(3)]
    write(db, {"_id": "d1", "_rev": revs[1], "_deleted": True})
    info = db.info()
    assert (info["doc_count"], info["doc_del_count"]) == (2, 1)


def test_update_seq_changes_with_every_write(db):
    seqs = [db.info()["update_seq"]]
    rev = write(db, {"_id": "x", "v": 1})
    seqs.append(db.info()["update_seq"])
    rev = write(db, {"_id": "x", "_rev": rev, "v": 2})
    seqs.append(db.info()["update_seq"])
    write(db, {"_id": "x", "_rev": rev, "_deleted": True})
    seqs.append(db.info()["update_seq"])
    replicate(db, "y", A)
    seqs.append(db.info()["update_seq"])
    assert len({repr(s) for s in seqs}) == len(seqs), seqs


# ----------------------------------------------------- bulk_docs, interactive edits


def test_bulk_docs_with_nothing_returns_nothing(db):
    assert db.bulk_docs([]) == []
    assert db.bulk_docs([], new_edits=False) == []


def test_new_document_gets_the_deterministic_first_rev(db):
    doc = {"_id": "note", "type": "note", "text": "hei"}
    result = db.bulk_docs([doc])
    expected = next_rev(None, False, {"type": "note", "text": "hei"})
    assert expected.startswith("1-")
    assert result == [{"id": "note", "rev": expected, "ok": True}]
    assert db.get("note") == {**doc, "_rev": expected}


def test_results_come_in_input_order(db):
    docs = [{"_id": name, "n": i} for i, name in enumerate(["m", "c", "x", "a"])]
    results = db.bulk_docs(docs)
    assert [r["id"] for r in results] == ["m", "c", "x", "a"]
    for doc, result in zip(docs, results, strict=True):
        assert ok(result) == next_rev(None, False, body(doc))


def test_update_with_the_current_rev_makes_rev_2(db):
    rev1 = write(db, {"_id": "x", "a": 1, "b": 2})
    rev2 = write(db, {"_id": "x", "_rev": rev1, "a": 3})
    assert rev2 == next_rev(rev1, False, {"a": 3})
    assert rev2.startswith("2-")
    assert db.get("x") == {"_id": "x", "_rev": rev2, "a": 3}


def test_stale_rev_conflicts_and_the_rest_of_the_batch_is_written(db):
    rev1 = write(db, {"_id": "a", "v": 1})
    rev2 = write(db, {"_id": "a", "_rev": rev1, "v": 2})
    c1 = write(db, {"_id": "c", "v": 1})
    results = db.bulk_docs(
        [
            {"_id": "b", "v": 1},
            {"_id": "a", "_rev": rev1, "v": "stale"},
            {"_id": "c", "_rev": c1, "v": 2},
        ]
    )
    ok(results[0], "b")
    is_error(results[1], "conflict", "a")
    ok(results[2], "c")
    assert db.get("a") == {"_id": "a", "_rev": rev2, "v": 2}
    assert db.get("b")["v"] == 1
    assert db.get("c")["v"] == 2
    assert leaves_of(db, "a") == {(rev2, False)}


def test_missing_rev_for_an_existing_document_conflicts(db):
    rev = write(db, {"_id": "a", "v": 1})
    [result] = db.bulk_docs([{"_id": "a", "v": 2}])
    is_error(result, "conflict", "a")
    assert db.get("a") == {"_id": "a", "_rev": rev, "v": 1}


def test_unknown_rev_conflicts(db):
    rev = write(db, {"_id": "a", "v": 1})
    results = db.bulk_docs(
        [{"_id": "a", "_rev": "1-" + h("nope"), "v": 2}, {"_id": "new", "_rev": rev, "v": 2}]
    )
    is_error(results[0], "conflict", "a")
    is_error(results[1], "conflict", "new")
    assert db.get("a")["v"] == 1
    with pytest.raises(NotFound):
        db.get("new")


def test_same_id_twice_in_one_batch_writes_the_first(db):
    results = db.bulk_docs([{"_id": "a", "v": 1}, {"_id": "a", "v": 2}])
    rev = ok(results[0], "a")
    is_error(results[1], "conflict", "a")
    assert db.get("a") == {"_id": "a", "_rev": rev, "v": 1}


def test_delete_with_deleted_true(db):
    rev1 = write(db, {"_id": "x", "v": 1})
    rev2 = write(db, {"_id": "x", "_rev": rev1, "_deleted": True})
    assert rev2 == next_rev(rev1, True, {})
    with pytest.raises(NotFound):
        db.get("x")
    assert db.get("x", rev=rev2) == {"_id": "x", "_rev": rev2, "_deleted": True}
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (0, 1)
    assert db.all_docs()["rows"] == []


def test_tombstone_keeps_its_body(db):
    rev1 = write(db, {"_id": "x", "v": 1})
    rev2 = write(db, {"_id": "x", "_rev": rev1, "_deleted": True, "why": "duplicate"})
    assert rev2 == next_rev(rev1, True, {"why": "duplicate"})
    expected = {"_id": "x", "_rev": rev2, "_deleted": True, "why": "duplicate"}
    assert db.get("x", rev=rev2) == expected
    assert db.archived("x", rev2) == expected


def test_recreate_after_delete_continues_from_the_tombstone(db):
    rev1 = write(db, {"_id": "x", "v": 1})
    rev2 = write(db, {"_id": "x", "_rev": rev1, "_deleted": True})
    rev3 = write(db, {"_id": "x", "v": 3})
    assert rev3 == next_rev(rev2, False, {"v": 3})
    assert rev3.startswith("3-")
    assert db.get("x") == {"_id": "x", "_rev": rev3, "v": 3}
    assert leaves_of(db, "x") == {(rev3, False)}
    assert db.get("x", revs=True)["_revisions"] == rev_path(rev3, rev2, rev1)
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (1, 0)


def test_same_edit_in_two_databases_gives_the_same_rev(store, new_db_name):
    one, two = store.create_database(new_db_name()), store.create_database(new_db_name())
    revs = []
    for db in (one, two):
        r1 = write(db, {"_id": "x", "text": "sama"})
        r2 = write(db, {"_id": "x", "_rev": r1, "text": "sama", "more": [1, {"b": 2}]})
        r3 = write(db, {"_id": "x", "_rev": r2, "_deleted": True})
        revs.append((r1, r2, r3))
    assert revs[0] == revs[1]
    r1, r2, r3 = revs[0]
    assert r2 == next_rev(r1, False, {"more": [1, {"b": 2}], "text": "sama"})
    assert r3 == next_rev(r2, True, {})


def test_same_body_on_different_parents_or_deleted_flag_gives_different_revs(db):
    r1 = write(db, {"_id": "x", "v": 1})
    r2 = write(db, {"_id": "x", "_rev": r1, "v": 1})
    r3 = write(db, {"_id": "x", "_rev": r2, "_deleted": True, "v": 1})
    assert len({r1, r2, r3}) == 3
    assert r2 == next_rev(r1, False, {"v": 1})


def test_interactive_edit_of_a_losing_leaf_is_accepted(db):
    conflicted(db)
    rev = write(db, {"_id": "doc", "_rev": D, "v": "d2"})
    assert rev == next_rev(D, False, {"v": "d2"})
    assert leaves_of(db, "doc") == {(C, False), (rev, False), (F, True)}
    # 3-c and the new 3-... tie on position: the higher hash wins; 2-d is no leaf now.
    winner, loser = sorted([C, rev], key=lambda r: parse_rev(r)[1], reverse=True)
    doc = db.get("doc", conflicts=True)
    assert (doc["_rev"], doc["_conflicts"]) == (winner, [loser])


# ---------------------------------------------------------- bulk_docs, bad input

# Each case: (document, expected error). An `_id` of "bad" becomes "bad-<case>".
BAD_DOCUMENTS = {
    "string": ("not an object", "bad_request"),
    "list": (["_id", "x"], "bad_request"),
    "null": (None, "bad_request"),
    "missing-id": ({"v": 1}, "bad_request"),
    "empty-id": ({"_id": "", "v": 1}, "bad_request"),
    "number-id": ({"_id": 5, "v": 1}, "bad_request"),
    "reserved-id": ({"_id": "_foo", "v": 1}, "bad_request"),
    "design-id": ({"_id": "_design/x", "v": 1}, "bad_request"),
    "local-id": ({"_id": "_local/x", "v": 1}, "bad_request"),  # _local: see put_local
    "unknown-special-field": ({"_id": "bad", "_foo": 1}, "bad_request"),
    "attachments": ({"_id": "bad", "_attachments": {}}, "bad_request"),
    "deleted-not-bool": ({"_id": "bad", "_deleted": "yes"}, "bad_request"),
    "rev-abc": ({"_id": "bad", "_rev": "abc"}, "bad_request"),
    "rev-0": ({"_id": "bad", "_rev": "0-aa"}, "bad_request"),
    "rev-no-hash": ({"_id": "bad", "_rev": "1-"}, "bad_request"),
    "rev-uppercase": ({"_id": "bad", "_rev": "1-ABC"}, "bad_request"),
    "rev-number": ({"_id": "bad", "_rev": 1}, "bad_request"),
    "nan": ({"_id": "bad", "v": float("nan")}, "bad_request"),
    "too-big": ({"_id": "bad", "big": "x" * (MAX_DOCUMENT_SIZE + 10)}, "document_too_large"),
    # 40,000 characters but 80,000 bytes of UTF-8: the limit counts bytes.
    "too-big-in-utf8": ({"_id": "bad", "big": "ä" * 40_000}, "document_too_large"),
}
# Defects only replicated writes (new_edits=false) can have.
BAD_REPLICATED = {
    "no-rev-no-revisions": ({"_id": "bad", "v": 1}, "bad_request"),
    "revisions-disagree-with-rev": (
        {"_id": "bad", "_rev": C, "_revisions": rev_path(D, A)},
        "bad_request",
    ),
    "revisions-longer-than-start": (
        {"_id": "bad", "_revisions": {"start": 1, "ids": [h("a"), h("b")]}},
        "bad_request",
    ),
    "revisions-empty": ({"_id": "bad", "_revisions": {"start": 2, "ids": []}}, "bad_request"),
    "revisions-bad-hash": (
        {"_id": "bad", "_revisions": {"start": 2, "ids": ["XY", h("a")]}},
        "bad_request",
    ),
    "revisions-not-object": ({"_id": "bad", "_revisions": "2-ab"}, "bad_request"),
}


def _bad_batch(new_edits: bool) -> tuple[list, list[tuple[str, object, str]], list[dict]]:
    """Every bad case, each followed by a good document: (batch, bad cases, good docs).

    A bad case is (case, expected result id, expected error).
    """
    cases = dict(BAD_DOCUMENTS)
    if not new_edits:
        cases.update(BAD_REPLICATED)
    batch, bad, good = [], [], []
    for n, (case, (doc, error)) in enumerate(cases.items()):
        if isinstance(doc, dict):
            if doc.get("_id") == "bad":
                doc = {**doc, "_id": f"bad-{case}"}
            if not new_edits and case in BAD_DOCUMENTS and "_rev" not in doc:
                doc = {**doc, "_rev": A}  # so that only the defect under test is wrong
        bad.append((case, doc.get("_id") if isinstance(doc, dict) else None, error))
        good.append({"_id": f"good-{n:02}", "n": n, **({} if new_edits else {"_rev": B})})
        batch += [doc, good[-1]]
    return batch, bad, good


@pytest.mark.parametrize("new_edits", [True, False], ids=["interactive", "replicated"])
def test_bad_documents_are_rejected_and_the_rest_of_the_batch_is_written(db, new_edits):
    batch, bad, good = _bad_batch(new_edits)
    results = db.bulk_docs(batch, new_edits=new_edits)
    assert len(results) == len(batch)
    wrong = {
        case: result
        for (case, doc_id, error), result in zip(bad, results[::2], strict=True)
        if (result.get("id"), result.get("error"), "ok" in result) != (doc_id, error, False)
    }
    assert wrong == {}, "bad documents answered wrongly"
    revs = [ok(result, doc["_id"]) for doc, result in zip(good, results[1::2], strict=True)]
    rows = db.all_docs(include_docs=True)["rows"]
    assert [row["doc"] for row in rows] == [
        {**doc, "_rev": rev} for doc, rev in zip(good, revs, strict=True)
    ]
    assert db.info()["doc_count"] == len(good)
    assert sorted(r["id"] for r in all_changes(db)) == [doc["_id"] for doc in good]
    for _, doc_id, _ in bad:
        if isinstance(doc_id, str) and doc_id.startswith("bad-"):
            with pytest.raises(NotFound):
                db.get(doc_id)
    with pytest.raises(NotFound):
        db.get_local("x")  # "_local/x" was not written through bulk_docs


def test_bad_document_alone_is_rejected(db):
    for new_edits in (True, False):
        [result] = db.bulk_docs([{"_id": "x", "_rev": "abc"}], new_edits=new_edits)
        is_error(result, "bad_request", "x")
    [result] = db.bulk_docs([{"_id": "x", "v": 1}], new_edits=False)
    is_error(result, "bad_request", "x")
    assert db.info()["doc_count"] == 0


def test_bad_rev_for_an_existing_document_is_bad_request_not_conflict(db):
    rev = write(db, {"_id": "x", "v": 1})
    [result] = db.bulk_docs([{"_id": "x", "_rev": "1-XYZ", "v": 2}])
    is_error(result, "bad_request", "x")
    assert db.get("x") == {"_id": "x", "_rev": rev, "v": 1}


def test_document_just_under_the_size_limit_is_accepted(db):
    doc = {"_id": "big", "big": "x" * (MAX_DOCUMENT_SIZE - 100)}
    rev = write(db, doc)
    assert db.get("big") == {**doc, "_rev": rev}


# ------------------------------------------------------- bulk_docs, replication


def test_replicated_write_stores_the_given_revisions(db):
    replicate(db, "x", C, B, A, v="c")
    assert db.get("x") == {"_id": "x", "_rev": C, "v": "c"}
    assert db.get("x", revs=True)["_revisions"] == rev_path(C, B, A)
    assert leaves_of(db, "x") == {(C, False)}
    assert db.info()["doc_count"] == 1


def test_replicated_write_with_only_rev_is_a_root(db):
    [result] = db.bulk_docs([{"_id": "x", "_rev": C, "v": 1}], new_edits=False)
    assert ok(result, "x") == C
    assert db.get("x", revs=True)["_revisions"] == rev_path(C)


def test_replicated_write_extends_an_existing_branch(db):
    replicate(db, "x", A, v=1)
    replicate(db, "x", C, B, A, v=3)
    assert leaves_of(db, "x") == {(C, False)}
    assert "_conflicts" not in db.get("x", conflicts=True)


def test_replicated_write_fills_in_the_history_of_a_known_revision(db, request):
    if request.node.callspec.params.get("store") == "pouchdb":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="pouchdb-server ignores a new_edits=false write of a revision it already "
                "has, so it cannot add history to it; Apache CouchDB and the SQLite store do",
            )
        )
    # A stemmed source sent only 3-c; a later, longer path is merged in "as is" (CouchDB's
    # couch_key_tree:merge, RevTree.add): 3-c gains its ancestors, its body stays.
    replicate(db, "x", C, v="first")
    replicate(db, "x", C, B, A, v="second")
    assert db.get("x", revs=True) == {
        "_id": "x",
        "_rev": C,
        "v": "first",
        "_revisions": rev_path(C, B, A),
    }
    assert db.revs_diff({"x": [A, B, C]}) == {}
    assert leaves_of(db, "x") == {(C, False)}


def test_replicated_branches_make_conflicts_and_the_longer_branch_wins(db):
    conflicted(db)
    doc = db.get("doc", conflicts=True)
    assert doc == {"_id": "doc", "_rev": C, "v": "c", "_conflicts": [D]}
    assert leaves_of(db, "doc") == {(C, False), (D, False), (F, True)}
    assert db.info()["doc_count"] == 1
    assert db.info()["doc_del_count"] == 0


@pytest.mark.parametrize("order", ["low-first", "high-first"])
def test_tie_on_position_goes_to_the_higher_hash(db, order):
    low, high = "2-" + "1" * 32, "2-" + "e" * 32
    for rev in [low, high] if order == "low-first" else [high, low]:
        replicate(db, "x", rev, A, v=rev)
    doc = db.get("x", conflicts=True)
    assert (doc["_rev"], doc["v"], doc["_conflicts"]) == (high, high, [low])


def test_live_leaf_beats_a_longer_deleted_leaf(db):
    replicate(db, "x", B, A, v="b")
    replicate(db, "x", F, E, A, deleted=True)
    doc = db.get("x", conflicts=True)
    assert doc == {"_id": "x", "_rev": B, "v": "b"}  # a deleted leaf is no conflict
    assert db.info()["doc_count"] == 1
    assert change_of(db, "x")["changes"] == [{"rev": B}]


def test_document_with_only_deleted_leaves_is_deleted(db):
    replicate(db, "x", B, A, deleted=True)
    replicate(db, "x", F, E, A, deleted=True)
    with pytest.raises(NotFound):
        db.get("x")
    row = change_of(db, "x")
    assert row["deleted"] is True
    assert row["changes"] == [{"rev": F}]
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (0, 1)


def test_rewriting_known_revisions_changes_nothing(db):
    conflicted(db)
    seq = db.info()["update_seq"]
    results = db.bulk_docs(
        [
            {"_id": "doc", "_rev": C, "_revisions": rev_path(C, B, A), "v": "other body"},
            {"_id": "doc", "_rev": B, "_revisions": rev_path(B, A), "v": "interior"},
            {"_id": "doc", "_rev": D, "_revisions": rev_path(D, A), "_deleted": True},
        ],
        new_edits=False,
    )
    assert [ok(r, "doc") for r in results] == [C, B, D]
    assert db.get("doc", conflicts=True) == {"_id": "doc", "_rev": C, "v": "c", "_conflicts": [D]}
    assert leaves_of(db, "doc") == {(C, False), (D, False), (F, True)}
    assert db.changes(since=seq)["results"] == []


def test_replicated_write_of_a_deleted_branch_over_a_live_one(db):
    replicate(db, "x", B, A, v="b")
    replicate(db, "x", C, B, A, deleted=True)
    with pytest.raises(NotFound):
        db.get("x")
    assert leaves_of(db, "x") == {(C, True)}
    assert db.info()["doc_del_count"] == 1


# ------------------------------------------------------------------------ changes


def test_changes_lists_each_document_once_at_its_latest_change(db):
    a1 = write(db, {"_id": "a", "v": 1})
    write(db, {"_id": "b", "v": 1})
    write(db, {"_id": "c", "v": 1})
    a2 = write(db, {"_id": "a", "_rev": a1, "v": 2})
    feed = db.changes(since=0)
    assert [r["id"] for r in feed["results"]] == ["b", "c", "a"]
    assert feed["results"][-1]["changes"] == [{"rev": a2}]
    assert feed["last_seq"] == feed["results"][-1]["seq"]
    assert len({repr(r["seq"]) for r in feed["results"]}) == 3
    assert db.changes(since=None)["results"] == feed["results"]


def test_changes_since_last_seq_is_empty_and_keeps_last_seq(db):
    write(db, {"_id": "a"})
    last = db.changes()["last_seq"]
    feed = db.changes(since=last)
    assert (feed["results"], feed["last_seq"]) == ([], last)


def test_changes_since_a_seq_gives_only_later_changes(db):
    write(db, {"_id": "a"})
    since = db.changes()["last_seq"]
    b = write(db, {"_id": "b"})
    feed = db.changes(since=since)
    assert [(r["id"], r["changes"]) for r in feed["results"]] == [("b", [{"rev": b}])]
    assert db.changes(since=feed["last_seq"])["results"] == []


def test_changes_of_an_empty_database(db):
    feed = db.changes()
    assert (feed["results"], feed["last_seq"]) == ([], db.info()["update_seq"])


@pytest.mark.parametrize("limit", [1, 3])
def test_changes_limit_pages_through_everything_exactly_once(db, limit):
    ids = [f"d{i:02}" for i in range(7)]
    db.bulk_docs([{"_id": i} for i in ids])
    seen, since = [], 0
    for _ in range(20):
        page = db.changes(since=since, limit=limit)
        assert len(page["results"]) <= limit
        if not page["results"]:
            assert page["last_seq"] == since
            break
        assert page["last_seq"] == page["results"][-1]["seq"]
        seen += [r["id"] for r in page["results"]]
        since = page["last_seq"]
    assert sorted(seen) == ids
    assert len(seen) == len(ids)


def test_changes_style_all_docs_lists_every_leaf_winner_first(db):
    conflicted(db)
    main = change_of(db, "doc")
    assert main["changes"] == [{"rev": C}]
    row = change_of(db, "doc", style="all_docs")
    assert row["changes"][0] == {"rev": C}
    assert sorted(c["rev"] for c in row["changes"]) == sorted([C, D, F])
    assert row.get("deleted") is not True
    # The winner is not the highest leaf here: 3-f is deleted, so 2-b wins.
    replicate(db, "x", B, A, v="b")
    replicate(db, "x", F, E, A, deleted=True)
    row = change_of(db, "x", style="all_docs")
    assert row["changes"] == [{"rev": B}, {"rev": F}]
    assert row.get("deleted") is not True


def test_changes_include_docs_gives_the_winning_document(db):
    conflicted(db)
    rev = write(db, {"_id": "plain", "text": "hei"})
    rows = {r["id"]: r for r in all_changes(db, include_docs=True)}
    assert rows["doc"]["doc"] == {"_id": "doc", "_rev": C, "v": "c"}
    assert rows["plain"]["doc"] == {"_id": "plain", "_rev": rev, "text": "hei"}
    assert all("doc" not in r for r in all_changes(db))


def test_changes_flag_deleted_documents(db):
    rev = write(db, {"_id": "gone", "v": 1})
    dead = write(db, {"_id": "gone", "_rev": rev, "_deleted": True})
    write(db, {"_id": "here", "v": 1})
    rows = {r["id"]: r for r in all_changes(db, include_docs=True)}
    assert rows["gone"]["deleted"] is True
    assert rows["gone"]["changes"] == [{"rev": dead}]
    assert rows["gone"]["doc"]["_deleted"] is True
    assert rows["gone"]["doc"]["_rev"] == dead
    assert rows["here"].get("deleted") is not True


def test_changes_doc_ids_filter(db):
    for name in ["a", "b", "c", "d"]:
        write(db, {"_id": name})
    feed = db.changes(doc_ids=["d", "b", "unknown"])
    assert [r["id"] for r in feed["results"]] == ["b", "d"]
    assert db.changes(doc_ids=iter(["c"]))["results"][0]["id"] == "c"


# ---------------------------------------------------------------------- revs_diff


def test_revs_diff_reports_only_unknown_revisions(db):
    conflicted(db)
    x = write(db, {"_id": "x", "v": 1})
    new = "4-" + h("new")
    diff = db.revs_diff({"doc": [A, B, C, D, E, F, new], "x": [x], "y": ["1-" + h("y")]})
    assert set(diff) == {"doc", "y"}
    assert diff["doc"]["missing"] == [new]
    assert sorted(diff["doc"]["possible_ancestors"]) == sorted([C, D, F])
    assert diff["y"]["missing"] == ["1-" + h("y")]
    assert not diff["y"].get("possible_ancestors")


def test_revs_diff_knows_ancestors_received_only_as_history(db):
    replicate(db, "x", C, B, A)
    assert db.revs_diff({"x": [A, B, C]}) == {}


def test_revs_diff_possible_ancestors_are_leaves_below_the_missing_position(db):
    conflicted(db)  # leaves: 3-c, 2-d, 3-f (deleted)
    missing = "3-" + h("other")
    diff = db.revs_diff({"doc": [missing]})
    assert diff["doc"]["missing"] == [missing]
    assert diff["doc"]["possible_ancestors"] == [D]


def test_revs_diff_of_nothing_missing_is_empty(db):
    rev = write(db, {"_id": "x"})
    assert db.revs_diff({}) == {}
    assert db.revs_diff({"x": [rev]}) == {}


# ----------------------------------------------------------------------- bulk_get


def test_bulk_get_with_and_without_rev(db):
    conflicted(db)
    plain = write(db, {"_id": "plain", "v": 1})
    result = db.bulk_get([{"id": "doc", "rev": D}, {"id": "plain"}])
    assert [r["id"] for r in result["results"]] == ["doc", "plain"]
    [losing] = result["results"][0]["docs"]
    assert losing == {"ok": {"_id": "doc", "_rev": D, "v": "d", "_revisions": rev_path(D, A)}}
    [winner] = result["results"][1]["docs"]
    assert winner == {"ok": {"_id": "plain", "_rev": plain, "v": 1, "_revisions": rev_path(plain)}}


def test_bulk_get_without_revs_has_no_revisions(db):
    conflicted(db)
    result = db.bulk_get([{"id": "doc", "rev": C}], revs=False)
    assert result["results"][0]["docs"] == [{"ok": {"_id": "doc", "_rev": C, "v": "c"}}]


def test_bulk_get_of_a_winner_without_rev_gives_the_winner(db):
    conflicted(db)
    [entry] = db.bulk_get([{"id": "doc"}])["results"]
    assert entry["docs"][0]["ok"]["_rev"] == C
    assert entry["docs"][0]["ok"]["_revisions"] == rev_path(C, B, A)


def test_bulk_get_of_a_tombstone_by_rev(db):
    conflicted(db)
    [entry] = db.bulk_get([{"id": "doc", "rev": F}])["results"]
    assert entry["docs"] == [
        {"ok": {"_id": "doc", "_rev": F, "_deleted": True, "_revisions": rev_path(F, E, A)}}
    ]


def test_bulk_get_of_several_revisions_of_one_document(db):
    conflicted(db)
    result = db.bulk_get([{"id": "doc", "rev": C}, {"id": "doc", "rev": D}], revs=False)
    docs = [d["ok"] for r in result["results"] for d in r["docs"]]
    assert all(r["id"] == "doc" for r in result["results"])
    assert sorted(d["_rev"] for d in docs) == sorted([C, D])


def test_bulk_get_of_a_missing_rev_is_an_error_entry(db):
    write(db, {"_id": "x"})
    missing = "1-" + h("nope")
    result = db.bulk_get([{"id": "x", "rev": missing}])
    [entry] = result["results"]
    assert entry["id"] == "x"
    [doc] = entry["docs"]
    assert set(doc) == {"error"}
    assert doc["error"]["id"] == "x"
    assert doc["error"]["rev"] == missing
    assert doc["error"]["error"] == "not_found"
    assert "reason" in doc["error"]


def test_bulk_get_of_a_missing_document_is_an_error_entry(db):
    write(db, {"_id": "x"})
    result = db.bulk_get([{"id": "nobody"}, {"id": "x"}])
    assert [r["id"] for r in result["results"]] == ["nobody", "x"]
    [doc] = result["results"][0]["docs"]
    assert set(doc) == {"error"}
    assert doc["error"]["id"] == "nobody"
    assert doc["error"]["error"] == "not_found"
    assert "ok" in result["results"][1]["docs"][0]


# ---------------------------------------------------------------------------- get


def test_get_missing_document_raises_not_found(db):
    with pytest.raises(NotFound):
        db.get("nobody")
    with pytest.raises(NotFound):
        db.get("nobody", rev=A)


def test_get_unknown_rev_raises_not_found(db):
    write(db, {"_id": "x"})
    with pytest.raises(NotFound):
        db.get("x", rev="1-" + h("nope"))


def test_get_a_losing_leaf_by_rev(db):
    conflicted(db)
    assert db.get("doc", rev=D) == {"_id": "doc", "_rev": D, "v": "d"}
    assert db.get("doc", rev=D, revs=True)["_revisions"] == rev_path(D, A)


def test_get_deleted_document_needs_its_rev(db):
    rev = write(db, {"_id": "x", "v": 1})
    dead = write(db, {"_id": "x", "_rev": rev, "_deleted": True})
    with pytest.raises(NotFound):
        db.get("x")
    with pytest.raises(NotFound):
        db.get("x", conflicts=True)
    assert db.get("x", rev=dead) == {"_id": "x", "_rev": dead, "_deleted": True}
    assert db.get("x", rev=dead, revs=True)["_revisions"] == rev_path(dead, rev)


def test_get_revs_gives_the_full_path(db):
    revs = [write(db, {"_id": "x", "n": 0})]
    for n in range(1, 4):
        revs.append(write(db, {"_id": "x", "_rev": revs[-1], "n": n}))
    doc = db.get("x", revs=True)
    assert doc["_revisions"] == rev_path(*reversed(revs))
    assert "_revisions" not in db.get("x")


def test_get_open_revs_all_gives_every_leaf(db):
    conflicted(db)
    docs = {e["ok"]["_rev"]: e["ok"] for e in db.get("doc", open_revs="all")}
    assert docs == {
        C: {"_id": "doc", "_rev": C, "v": "c"},
        D: {"_id": "doc", "_rev": D, "v": "d"},
        F: {"_id": "doc", "_rev": F, "_deleted": True},
    }


def test_get_open_revs_all_with_revs(db):
    conflicted(db)
    docs = {e["ok"]["_rev"]: e["ok"] for e in db.get("doc", open_revs="all", revs=True)}
    assert {rev: doc["_revisions"] for rev, doc in docs.items()} == {
        C: rev_path(C, B, A),
        D: rev_path(D, A),
        F: rev_path(F, E, A),
    }


def test_get_open_revs_list_marks_missing_revisions(db):
    conflicted(db)
    missing = "2-" + h("nope")
    entries = db.get("doc", open_revs=[D, missing, F])
    assert sorted(entries, key=repr) == sorted(
        [
            {"ok": {"_id": "doc", "_rev": D, "v": "d"}},
            {"missing": missing},
            {"ok": {"_id": "doc", "_rev": F, "_deleted": True}},
        ],
        key=repr,
    )


def test_get_conflicts_lists_live_losing_leaves_only(db):
    conflicted(db)
    g = "3-" + "0" * 32  # ties with 3-c on position, loses on hash
    replicate(db, "doc", g, D, A, v="g")
    doc = db.get("doc", conflicts=True)
    assert doc["_rev"] == C
    assert doc["_conflicts"] == [g]  # 2-d is no longer a leaf; 3-f is deleted
    assert "_conflicts" not in db.get("doc")


def test_get_conflicts_without_conflicts_adds_nothing(db):
    rev = write(db, {"_id": "x", "v": 1})
    assert db.get("x", conflicts=True) == {"_id": "x", "_rev": rev, "v": 1}


# ----------------------------------------------------------------------- all_docs


def test_all_docs_lists_live_documents_by_id(db):
    revs = {name: write(db, {"_id": name, "n": name}) for name in ["m", "b", "x", "a"]}
    write(db, {"_id": "x", "_rev": revs.pop("x"), "_deleted": True})
    conflicted(db)
    revs["doc"] = C
    result = db.all_docs()
    assert [row["id"] for row in result["rows"]] == ["a", "b", "doc", "m"]
    for row in result["rows"]:
        assert row == {"id": row["id"], "key": row["id"], "value": {"rev": revs[row["id"]]}}
    assert result["total_rows"] == 4


def test_all_docs_include_docs(db):
    rev = write(db, {"_id": "a", "text": "hei"})
    conflicted(db)
    rows = db.all_docs(include_docs=True)["rows"]
    assert [row["doc"] for row in rows] == [
        {"_id": "a", "_rev": rev, "text": "hei"},
        {"_id": "doc", "_rev": C, "v": "c"},
    ]


def test_all_docs_keys_shows_deleted_and_unknown_rows(db):
    a = write(db, {"_id": "a"})
    z = write(db, {"_id": "z"})
    dead = write(db, {"_id": "z", "_rev": z, "_deleted": True})
    rows = db.all_docs(keys=["z", "unknown", "a"])["rows"]
    assert rows == [
        {"id": "z", "key": "z", "value": {"rev": dead, "deleted": True}},
        {"key": "unknown", "error": "not_found"},
        {"id": "a", "key": "a", "value": {"rev": a}},
    ]


def test_all_docs_keys_with_include_docs(db):
    a = write(db, {"_id": "a", "v": 1})
    rows = db.all_docs(include_docs=True, keys=["a", "nobody"])["rows"]
    assert rows[0]["doc"] == {"_id": "a", "_rev": a, "v": 1}
    assert rows[1] == {"key": "nobody", "error": "not_found"}


# -------------------------------------------------------------------------- _local


def test_local_documents_put_get_replace_delete(db):
    with pytest.raises(NotFound):
        db.get_local("checkpoint")
    result = db.put_local("checkpoint", {"seq": 1, "session": "å"})
    assert result["ok"] is True
    assert result["id"] == "_local/checkpoint"
    doc = db.get_local("checkpoint")
    assert doc["_id"] == "_local/checkpoint"
    assert body(doc) == {"seq": 1, "session": "å"}
    db.put_local("checkpoint", {"seq": 2})  # no _rev: last writer wins
    assert body(db.get_local("checkpoint")) == {"seq": 2}
    db.put_local("checkpoint", {"_rev": "0-999", "seq": 3})  # a stale _rev is ignored
    assert body(db.get_local("checkpoint")) == {"seq": 3}
    db.delete_local("checkpoint")
    with pytest.raises(NotFound):
        db.get_local("checkpoint")
    with pytest.raises(NotFound):
        db.delete_local("checkpoint")
    db.put_local("checkpoint", {"seq": 4})
    assert body(db.get_local("checkpoint")) == {"seq": 4}


def test_local_documents_are_separate_per_id_and_per_database(store, new_db_name):
    one, two = store.create_database(new_db_name()), store.create_database(new_db_name())
    one.put_local("a", {"v": 1})
    one.put_local("b", {"v": 2})
    assert body(one.get_local("a")) == {"v": 1}
    assert body(one.get_local("b")) == {"v": 2}
    with pytest.raises(NotFound):
        two.get_local("a")


def test_local_documents_are_not_documents(db):
    rev = write(db, {"_id": "a"})
    seq = db.changes()["last_seq"]
    db.put_local("a", {"v": 1})
    db.put_local("checkpoint", {"v": 1})
    assert [row["id"] for row in db.all_docs()["rows"]] == ["a"]
    assert db.changes(since=seq)["results"] == []
    assert [r["id"] for r in all_changes(db)] == ["a"]
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (1, 0)
    assert db.get("a") == {"_id": "a", "_rev": rev}
    assert body(db.get_local("a")) == {"v": 1}


# ----------------------------------------------------------------------- archived


def test_every_accepted_revision_stays_archived(db):
    bodies = [{"n": n, "text": f"versio {n}"} for n in range(5)]
    revs: list[str] = []
    for b in bodies:
        revs.append(write(db, {"_id": "x", **b, **({"_rev": revs[-1]} if revs else {})}))
    dead = write(db, {"_id": "x", "_rev": revs[-1], "_deleted": True})
    for rev, b in zip(revs, bodies, strict=True):
        assert db.archived("x", rev) == {"_id": "x", "_rev": rev, **b}
    assert db.archived("x", dead) == {"_id": "x", "_rev": dead, "_deleted": True}


def test_archived_keeps_replicated_and_losing_revisions(db):
    conflicted(db)
    assert db.archived("doc", C) == {"_id": "doc", "_rev": C, "v": "c"}
    assert db.archived("doc", D) == {"_id": "doc", "_rev": D, "v": "d"}
    assert db.archived("doc", F) == {"_id": "doc", "_rev": F, "_deleted": True}
    assert db.archived("doc", B) is None  # only known as history: no body was sent


def test_archived_of_unknown_revisions_is_none(db):
    write(db, {"_id": "x"})
    assert db.archived("x", "1-" + h("nope")) is None
    assert db.archived("nobody", A) is None


@pytest.mark.store_options(revs_limit=3)
def test_archived_survives_stemming(db):
    revs: list[str] = []
    for n in range(8):
        revs.append(write(db, {"_id": "x", "n": n, **({"_rev": revs[-1]} if revs else {})}))
    for n, rev in enumerate(revs):
        assert db.archived("x", rev) == {"_id": "x", "_rev": rev, "n": n}
    assert db.get("x") == {"_id": "x", "_rev": revs[-1], "n": 7}


# ------------------------------------------------------------------------ unicode

UNICODE_BODY = {
    "teksti": "Hyvää päivää! Smörgåsbord, ÅÄÖ åäö, Øresund",
    "emoji": "🦊👍🏽 👨‍👩‍👧",
    "combining": "e\u0301 ≠ é",  # not normalised: NFD stays NFD
    "avain-åäö": ["ä", {"ö": "€"}],
    "escapes": 'tab\t newline\n quote" backslash\\ nul\u0000',
    "astral": "\U0001f600\U00010348",
}


def test_unicode_round_trips_exactly(db):
    doc_id = "dokumentti-åäö-🦊"
    rev = write(db, {"_id": doc_id, **UNICODE_BODY})
    assert rev == next_rev(None, False, UNICODE_BODY)
    expected = {"_id": doc_id, "_rev": rev, **UNICODE_BODY}
    for got in (
        db.get(doc_id),
        db.archived(doc_id, rev),
        db.all_docs(include_docs=True)["rows"][0]["doc"],
        change_of(db, doc_id, include_docs=True)["doc"],
        db.bulk_get([{"id": doc_id}], revs=False)["results"][0]["docs"][0]["ok"],
        db.get(doc_id, open_revs="all")[0]["ok"],
    ):
        assert canonical_json(got) == canonical_json(expected)
    assert [row["id"] for row in db.all_docs()["rows"]] == [doc_id]
    db.put_local("tarkistuspiste-ä", dict(UNICODE_BODY))
    assert body(db.get_local("tarkistuspiste-ä")) == UNICODE_BODY


# ------------------------------------------------ property: store == RevTree model

PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _apply_interactive(db, model: RevTree, bodies: dict, parent, deleted: bool, n: int) -> None:
    doc: dict = {"_id": "doc", "n": n}
    if parent is not None:
        doc["_rev"] = parent
    if deleted:
        doc["_deleted"] = True
    [result] = db.bulk_docs([doc])
    try:
        base = model.parent_for_new_edit(parent)
    except RevisionConflict:
        is_error(result, "conflict", "doc")
        return
    rev = next_rev(base, deleted, {"n": n})
    assert ok(result, "doc") == rev
    model.add_child(base, rev, deleted)
    bodies[rev] = n


def _apply_replicated(db, model: RevTree, bodies: dict, path: list[str], deleted, n) -> None:
    replicate(db, "doc", *path, deleted=deleted, n=n)
    if model.add(rev_path(*path), deleted):
        bodies[path[0]] = n


def _check_against_model(db, model: RevTree, bodies: dict) -> None:
    """Winner, leaves (with their bodies), conflicts and history as the model has them."""
    winner = model.winner()
    leaves = {e["ok"]["_rev"]: e["ok"] for e in db.get("doc", open_revs="all")}
    assert {rev: doc.get("_deleted", False) for rev, doc in leaves.items()} == dict(model.leaves())
    assert {rev: doc["n"] for rev, doc in leaves.items()} == {
        rev: bodies[rev] for rev, _ in model.leaves()
    }
    row = change_of(db, "doc", style="all_docs")
    assert row["changes"][0] == {"rev": winner}
    assert sorted(c["rev"] for c in row["changes"]) == sorted(leaves)
    assert (row.get("deleted") is True) == model.is_deleted()
    if model.is_deleted():
        with pytest.raises(NotFound):
            db.get("doc")
    else:
        doc = db.get("doc", conflicts=True, revs=True)
        assert doc["_rev"] == winner
        assert doc.get("_conflicts", []) == model.conflicts()
        assert doc["_revisions"] == model.path(winner)
    assert db.revs_diff({"doc": model.revs()}) == {}


@PROPERTY
@given(data=st.data())
def test_store_agrees_with_the_revision_tree_model(store, new_db_name, data):
    """Interactive edits and deletes (stale ones too), replicated branches and re-sent
    paths, in any order: the store ends up with the tree `RevTree` says it should."""
    db = store.create_database(new_db_name())
    model, bodies = RevTree(), {}
    for n in range(1, data.draw(st.integers(1, 8), label="steps") + 1):
        revs = model.revs()
        kind = data.draw(
            st.sampled_from(["edit", "delete", "branch", "resend"] if revs else ["edit", "branch"])
        )
        if kind in ("edit", "delete"):
            leaves = [rev for rev, _ in model.leaves()]
            choices = [None, *leaves, *revs] if kind == "edit" else [*leaves, *revs]
            parent = data.draw(st.sampled_from(choices), label="parent")
            _apply_interactive(db, model, bodies, parent, kind == "delete", n)
        elif kind == "branch":
            base = data.draw(st.sampled_from([None, *revs]), label="base")
            length = data.draw(st.integers(1, 3), label="length")
            deleted = data.draw(st.booleans(), label="deleted")
            lineage = [] if base is None else [base, *model.ancestors(base)]
            pos = 0 if base is None else parse_rev(base)[0]
            prefix = data.draw(st.sampled_from("0a5f"), label="hash prefix")
            new = [f"{pos + k}-{prefix}{n:03x}{k:x}" for k in range(length, 0, -1)]
            _apply_replicated(db, model, bodies, [*new, *lineage], deleted, n)
        else:
            leaf, deleted = data.draw(st.sampled_from(model.leaves()), label="resend")
            _apply_replicated(db, model, bodies, [leaf, *model.ancestors(leaf)], deleted, -n)
        assert leaves_of(db, "doc") == set(model.leaves())
    _check_against_model(db, model, bodies)
