"""CouchStore against a real pouchdb-server: what is specific to the HTTP adapter.

The shared conformance suite checks the contract on every backend; these tests check the
adapter's own design (Sopu-computed revs, the `_local` revision archive, the request
budget of a bulk write) and its normalisation of pouchdb-server quirks and HTTP errors.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import pytest
import requests
from ibm_cloud_sdk_core import ApiException

from sync.revisions import next_rev
from sync.store.couch import ARCHIVE_PREFIX, CouchStore, _store_error
from sync.store.errors import (
    BadRequest,
    Conflict,
    DatabaseExists,
    DocumentTooLarge,
    Forbidden,
    InvalidDatabaseName,
    NotFound,
    Unavailable,
    Unsupported,
)
from tests.support.pouchdb_server import free_port


@pytest.fixture
def couch(pouchdb_server_url):
    store = CouchStore(pouchdb_server_url, max_document_size=4096)
    yield store
    store.close()


@pytest.fixture
def cdb(couch):
    db = couch.create_database(f"c{uuid.uuid4().hex}")
    yield db
    with contextlib.suppress(NotFound):
        couch.delete_database(db.name)


@pytest.fixture
def raw(pouchdb_server_url):
    """Plain HTTP to the server, to look behind the adapter's back."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Accept"] = "application/json"

    def call(method: str, path: str, **kwargs):
        return session.request(method, pouchdb_server_url + path, timeout=10, **kwargs)

    yield call
    session.close()


def count_requests(store: CouchStore) -> list[str]:
    """Record "METHOD /path" of every request the store's client sends from now on."""
    seen: list[str] = []
    store.client.get_http_client().hooks["response"].append(
        lambda r, *a, **k: seen.append(f"{r.request.method} {r.request.path_url.split('?')[0]}")
    )
    return seen


def api_error(status: int, body: dict | None = None) -> ApiException:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else requests.compat.json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return ApiException(status, http_response=response)


def replicated(doc_id: str, *hashes: str, **fields) -> dict:
    """A new_edits=false document whose path is `hashes`, newest first."""
    start = len(hashes)
    revisions = {"start": start, "ids": list(hashes)}
    return {"_id": doc_id, "_rev": f"{start}-{hashes[0]}", "_revisions": revisions, **fields}


def make_conflict(db) -> tuple[str, str]:
    """A document with two live leaves written by replication; returns (winner, loser)."""
    db.bulk_docs([replicated("c", "aa", "00", v=1), replicated("c", "bb", "00", v=2)], False)
    return "2-bb", "2-aa"


# --------------------------------------------------------------------------- URL, errors


def test_url_drops_the_password():
    store = CouchStore("http://sopu:s3cret@127.0.0.1:5984/")
    assert store.url == "http://sopu@127.0.0.1:5984"
    assert store.client.service_url == "http://127.0.0.1:5984"
    assert CouchStore("https://127.0.0.1:6984").url == "https://127.0.0.1:6984"


def test_unreachable_server_is_unavailable_without_leaking_the_password():
    port = free_port()
    store = CouchStore(f"http://sopu:hunter2@127.0.0.1:{port}", retries=0, timeout=5)
    with pytest.raises(Unavailable) as caught:
        store.list_databases()
    message = str(caught.value)
    assert f"http://sopu@127.0.0.1:{port}" in message
    assert "unreachable" in message
    assert "hunter2" not in message


def test_wrong_credentials_are_forbidden(pouchdb_server_url):
    store = CouchStore(pouchdb_server_url.replace("http://", "http://nobody:wrong@"))
    with pytest.raises(Forbidden) as caught:
        store.list_databases()
    assert "wrong" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"error": "not_found", "reason": "missing"}, NotFound),
        (409, {"error": "conflict", "reason": "Document update conflict"}, Conflict),
        (412, {"error": "file_exists", "reason": "exists"}, DatabaseExists),
        (400, {"error": "bad_request", "reason": "invalid_json"}, BadRequest),
        (400, {"error": "illegal_database_name", "reason": "bad"}, InvalidDatabaseName),
        (413, {"error": "document_too_large", "reason": "big"}, DocumentTooLarge),
        (401, {"error": "unauthorized", "reason": "nope"}, Forbidden),
        (403, {"error": "forbidden", "reason": "nope"}, Forbidden),
        (500, {"error": "unknown_error", "reason": "boom"}, Unavailable),
        (503, None, Unavailable),
        (501, {"error": "not_implemented", "reason": "no"}, Unsupported),
    ],
)
def test_http_errors_map_to_store_errors(status, body, expected):
    error = _store_error(api_error(status, body), "http://u@127.0.0.1:1")
    assert type(error) is expected
    if expected is Unavailable:
        assert "http://u@127.0.0.1:1" in error.reason


def test_missing_database_is_not_found(couch, cdb):
    with pytest.raises(NotFound):
        couch.database(f"missing{uuid.uuid4().hex}")
    couch.delete_database(cdb.name)
    with pytest.raises(NotFound):
        cdb.info()
    with pytest.raises(NotFound):
        cdb.bulk_docs([{"_id": "a"}])
    with pytest.raises(NotFound):
        cdb.archived("a", "1-aa")
    with pytest.raises(NotFound):
        cdb.get("a", open_revs="all")


# --------------------------------------------------------------------------- databases


def test_database_lifecycle_and_system_databases(couch, raw):
    name = f"life{uuid.uuid4().hex}"
    couch.create_database(name)
    with pytest.raises(DatabaseExists):
        couch.create_database(name)
    names = couch.list_databases()
    assert name in names
    assert names == sorted(names)
    assert not [n for n in names if n.startswith("_")]
    assert raw("GET", "/_all_dbs").json()[:2] == ["_replicator", "_users"]
    with pytest.raises(NotFound):
        couch.database("_users")
    with pytest.raises(NotFound):
        couch.delete_database("_users")
    couch.delete_database(name)
    with pytest.raises(NotFound):  # pouchdb-server itself answers 200 here
        couch.delete_database(name)
    with pytest.raises(NotFound):
        couch.database(name)


@pytest.mark.parametrize("name", ["Upper", "_system", "1digit", "", "a b", "a/b"])
def test_bad_database_names_are_rejected_before_sending(couch, name):
    with pytest.raises(InvalidDatabaseName):
        couch.create_database(name)


# --------------------------------------------------------------------------- writes


def test_sopu_computes_every_revision(cdb, raw):
    body1, body2 = {"type": "note", "n": 1}, {"type": "note", "n": 2}
    [created] = cdb.bulk_docs([{"_id": "a", **body1}])
    rev1 = next_rev(None, False, body1)
    assert created == {"id": "a", "rev": rev1, "ok": True}
    [edited] = cdb.bulk_docs([{"_id": "a", "_rev": rev1, **body2}])
    rev2 = next_rev(rev1, False, body2)
    assert edited["rev"] == rev2
    [deleted] = cdb.bulk_docs([{"_id": "a", "_rev": rev2, "_deleted": True}])
    rev3 = next_rev(rev2, True, {})
    assert deleted["rev"] == rev3
    [recreated] = cdb.bulk_docs([{"_id": "a", **body1}])  # continues from the tombstone
    assert recreated["rev"] == next_rev(rev3, False, body1)
    on_server = raw("GET", f"/{cdb.name}/a", params={"revs": "true"}).json()
    assert on_server["_rev"] == recreated["rev"]
    assert on_server["_revisions"]["ids"] == [
        r.split("-")[1] for r in (recreated["rev"], rev3, rev2, rev1)
    ]


def test_same_edit_gives_same_rev_in_every_database(couch, cdb):
    other = couch.create_database(f"c{uuid.uuid4().hex}")
    try:
        doc = {"_id": "same", "text": "hei"}
        assert cdb.bulk_docs([doc]) == other.bulk_docs([doc])
    finally:
        couch.delete_database(other.name)


def test_archive_keeps_every_revision_after_compaction(cdb, raw):
    revs, parent = [], None
    for n in range(3):
        doc = {"_id": "a", "n": n} if parent is None else {"_id": "a", "_rev": parent, "n": n}
        [result] = cdb.bulk_docs([doc])
        parent = result["rev"]
        revs.append(parent)
    assert raw("POST", f"/{cdb.name}/_compact", json={}).status_code == 202
    deadline = time.monotonic() + 10
    while raw("GET", f"/{cdb.name}/a", params={"rev": revs[0]}).status_code != 404:
        assert time.monotonic() < deadline, "compaction did not drop the old body"
        time.sleep(0.05)
    with pytest.raises(NotFound):
        cdb.get("a", rev=revs[0])
    for n, rev in enumerate(revs):
        assert cdb.archived("a", rev) == {"_id": "a", "_rev": rev, "n": n}
    assert cdb.archived("a", "9-abc") is None
    # The archive is invisible to everything else.
    assert cdb.info()["doc_count"] == 1
    assert [r["id"] for r in cdb.changes()["results"]] == ["a"]
    assert [r["id"] for r in cdb.all_docs()["rows"]] == ["a"]
    # Compacted ancestors are still in the tree: not missing (pouchdb-server says they are).
    assert cdb.revs_diff({"a": revs}) == {}


def test_tombstones_are_archived_with_deleted_flag(cdb):
    [created] = cdb.bulk_docs([{"_id": "a", "n": 1}])
    [deleted] = cdb.bulk_docs([{"_id": "a", "_rev": created["rev"], "_deleted": True}])
    assert cdb.archived("a", deleted["rev"]) == {
        "_id": "a",
        "_rev": deleted["rev"],
        "_deleted": True,
    }


def test_archive_entry_is_written_before_the_document(couch, cdb, monkeypatch):
    original = couch.client.post_bulk_docs

    def fail_document_write(db, bulk_docs, **kwargs):
        if bulk_docs.get("new_edits") is False:
            raise requests.ConnectionError("connection lost")
        return original(db=db, bulk_docs=bulk_docs, **kwargs)

    monkeypatch.setattr(couch.client, "post_bulk_docs", fail_document_write)
    with pytest.raises(Unavailable):
        cdb.bulk_docs([{"_id": "a", "n": 1}])
    rev = next_rev(None, False, {"n": 1})
    assert cdb.archived("a", rev) == {"_id": "a", "_rev": rev, "n": 1}
    with pytest.raises(NotFound):
        cdb.get("a")
    monkeypatch.undo()
    # Retrying the same batch is idempotent: same rev, archive entry already there.
    assert cdb.bulk_docs([{"_id": "a", "n": 1}]) == [{"id": "a", "rev": rev, "ok": True}]
    assert cdb.get("a")["_rev"] == rev


def test_stale_rev_is_a_conflict_and_the_rest_is_written(cdb):
    [a, b] = cdb.bulk_docs([{"_id": "a", "n": 1}, {"_id": "b", "n": 1}])
    cdb.bulk_docs([{"_id": "a", "_rev": a["rev"], "n": 2}])
    results = cdb.bulk_docs(
        [
            {"_id": "a", "_rev": a["rev"], "n": 3},  # stale: 1-x is no longer a leaf
            {"_id": "b", "_rev": b["rev"], "n": 2},
            {"_id": "new", "n": 1},
            {"_id": "b", "n": 9},  # exists and no _rev
            {"_id": "ghost", "_rev": "1-abc", "n": 1},  # _rev of a document that never was
        ]
    )
    assert results[0] == {"id": "a", "error": "conflict", "reason": "Document update conflict."}
    assert results[1] == {"id": "b", "rev": next_rev(b["rev"], False, {"n": 2}), "ok": True}
    assert results[2]["ok"] is True
    assert results[3]["error"] == "conflict"
    assert results[4]["error"] == "conflict"
    assert cdb.get("b")["n"] == 2
    assert cdb.get("new")["n"] == 1
    assert cdb.get("a")["n"] == 2


def test_same_document_twice_in_one_batch(cdb):
    [a] = cdb.bulk_docs([{"_id": "a", "n": 1}])
    first, second = cdb.bulk_docs(
        [{"_id": "a", "_rev": a["rev"], "n": 2}, {"_id": "a", "_rev": a["rev"], "n": 3}]
    )
    assert first["ok"] is True
    assert second["error"] == "conflict"
    chained = next_rev(first["rev"], False, {"n": 4})
    [third] = cdb.bulk_docs([{"_id": "a", "_rev": first["rev"], "n": 4}])
    assert third["rev"] == chained


def test_racing_writers_make_a_conflict_branch_not_an_error(couch, cdb, monkeypatch):
    [a] = cdb.bulk_docs([{"_id": "a", "n": 0}])
    other = couch.database(cdb.name)
    stale = other._winners(["a"])  # the other writer read before the first one wrote
    [mine] = cdb.bulk_docs([{"_id": "a", "_rev": a["rev"], "n": 1}])
    monkeypatch.setattr(other, "_winners", lambda ids: stale)
    [theirs] = other.bulk_docs([{"_id": "a", "_rev": a["rev"], "n": 2}])
    assert mine["ok"] and theirs["ok"]
    leaves = {e["ok"]["_rev"] for e in cdb.get("a", open_revs="all")}
    assert leaves == {mine["rev"], theirs["rev"]}
    assert cdb.archived("a", theirs["rev"])["n"] == 2


def test_edit_of_losing_leaf_is_accepted(cdb):
    _, loser = make_conflict(cdb)
    assert cdb.get("c", conflicts=True)["_conflicts"] == [loser]
    [resolved] = cdb.bulk_docs([{"_id": "c", "_rev": loser, "_deleted": True}])
    assert resolved["rev"] == next_rev(loser, True, {})
    assert "_conflicts" not in cdb.get("c", conflicts=True)
    [stale] = cdb.bulk_docs([{"_id": "c", "_rev": "1-00", "n": 1}])  # interior rev
    assert stale["error"] == "conflict"


def test_bad_and_too_large_documents_do_not_stop_the_batch(cdb):
    results = cdb.bulk_docs(
        [
            {"_id": "big", "blob": "x" * 5000},
            {"_id": "_design/x"},
            {"_id": "fine", "n": 1},
            "not a doc",
        ]
    )
    assert results[0]["error"] == "document_too_large"
    assert results[1]["error"] == "bad_request"
    assert results[2]["ok"] is True
    assert results[3] == {"id": None, "error": "bad_request", "reason": results[3]["reason"]}
    assert [r["id"] for r in cdb.all_docs()["rows"]] == ["fine"]


def test_replicated_writes_answer_every_document_and_are_archived(cdb):
    docs = [
        {"_id": "r", "_rev": "3-cc", "_revisions": {"start": 3, "ids": ["cc", "bb", "aa"]}},
        {"_id": "s", "_rev": "1-dd", "_deleted": True},
    ]
    expected = [{"id": "r", "rev": "3-cc", "ok": True}, {"id": "s", "rev": "1-dd", "ok": True}]
    assert cdb.bulk_docs(docs, new_edits=False) == expected
    assert cdb.bulk_docs(docs, new_edits=False) == expected  # existing revs: a no-op
    assert cdb.archived("r", "3-cc") == {"_id": "r", "_rev": "3-cc"}
    assert cdb.archived("s", "1-dd") == {"_id": "s", "_rev": "1-dd", "_deleted": True}
    assert cdb.archived("r", "2-bb") is None  # only known as an ancestor, never accepted
    assert cdb.info()["update_seq"] == 2


def test_bulk_write_of_500_documents_takes_three_requests(couch, cdb):
    body = {"type": "envelope", "ciphertext": os.urandom(600).hex()}
    ids = [uuid.uuid4().hex for _ in range(500)]
    seen = count_requests(couch)
    started = time.perf_counter()
    created = cdb.bulk_docs([{"_id": i, **body} for i in ids])
    elapsed = time.perf_counter() - started
    assert all(r["ok"] for r in created)
    assert seen == [
        f"POST /{cdb.name}/_all_docs",
        f"POST /{cdb.name}/_bulk_docs",
        f"POST /{cdb.name}/_bulk_docs",
    ]
    seen.clear()
    updated = cdb.bulk_docs([{"_id": r["id"], "_rev": r["rev"], **body, "n": 2} for r in created])
    assert all(r["ok"] for r in updated)
    assert len(seen) == 3
    print(f"\nbulk_docs of 500 new documents: 3 requests, {elapsed:.3f} s")


def test_large_batches_are_cut_into_requests_under_the_size_limit(couch, cdb, monkeypatch):
    monkeypatch.setattr("sync.store.couch.MAX_REQUEST_BYTES", 2500)
    docs = [{"_id": f"d{n}", "blob": "x" * 900} for n in range(4)]
    seen = count_requests(couch)
    results = cdb.bulk_docs(docs)
    assert [r["id"] for r in results] == ["d0", "d1", "d2", "d3"]
    assert all(r["ok"] for r in results)
    assert seen.count(f"POST /{cdb.name}/_bulk_docs") == 4  # two chunks, two requests each
    assert all(cdb.archived(r["id"], r["rev"]) for r in results)


# --------------------------------------------------------------------------- reads


def test_info_has_exactly_the_four_keys(cdb):
    [a, _] = cdb.bulk_docs([{"_id": "a"}, {"_id": "b"}])
    cdb.bulk_docs([{"_id": "a", "_rev": a["rev"], "_deleted": True}])
    assert cdb.info() == {
        "db_name": cdb.name,
        "doc_count": 1,
        "doc_del_count": 1,  # pouchdb-server does not report it: counted
        "update_seq": 3,
    }


def test_changes_all_docs_lists_the_winner_first(cdb):
    winner, loser = make_conflict(cdb)
    # A deleted leaf with a higher position loses against a live one.
    cdb.bulk_docs(
        [
            replicated("d", "aa", n=1),
            replicated("d", "ff", "ee", "ab", _deleted=True),
            replicated("gone", "aa", "11", _deleted=True),
            replicated("gone", "bb", "11", _deleted=True),
        ],
        new_edits=False,
    )
    expected = {"c": [winner, loser], "d": ["1-aa", "3-ff"], "gone": ["2-bb", "2-aa"]}
    for include_docs in (False, True):
        feed = cdb.changes(style="all_docs", include_docs=include_docs)
        leaves = {r["id"]: [c["rev"] for c in r["changes"]] for r in feed["results"]}
        assert leaves == expected
    main = cdb.changes()["results"]
    assert {r["id"]: [c["rev"] for c in r["changes"]] for r in main} == {
        "c": [winner],
        "d": ["1-aa"],
        "gone": ["2-bb"],
    }
    assert [r.get("deleted", False) for r in main] == [False, False, True]


def test_changes_limit_doc_ids_and_last_seq(cdb):
    cdb.bulk_docs([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])
    assert cdb.changes(limit=0) == {"results": [], "last_seq": 0}
    first = cdb.changes(limit=1)
    assert [r["id"] for r in first["results"]] == ["a"]
    assert first["last_seq"] == first["results"][0]["seq"]
    rest = cdb.changes(since=first["last_seq"])
    assert [r["id"] for r in rest["results"]] == ["b", "c"]
    assert cdb.changes(since=rest["last_seq"]) == {"results": [], "last_seq": rest["last_seq"]}
    only = cdb.changes(doc_ids=["c", "zz"])
    assert [r["id"] for r in only["results"]] == ["c"]
    assert set(only["results"][0]) == {"seq", "id", "changes"}
    assert cdb.changes(doc_ids=[])["results"] == []
    with pytest.raises(BadRequest):
        cdb.changes(style="everything")


def test_revs_diff_reports_only_revisions_absent_from_the_tree(cdb):
    cdb.bulk_docs(
        [{"_id": "a", "_rev": "3-cc", "_revisions": {"start": 3, "ids": ["cc", "bb", "aa"]}}],
        new_edits=False,
    )
    # pouchdb-server calls the stub ancestors 1-aa and 2-bb missing; they are in the tree.
    diff = cdb.revs_diff({"a": ["1-aa", "2-bb", "3-cc", "4-dd", "2-ee"], "b": ["1-bb", "1-bb"]})
    assert diff == {
        "a": {"missing": ["4-dd", "2-ee"], "possible_ancestors": ["3-cc"]},
        "b": {"missing": ["1-bb"]},
    }
    assert cdb.revs_diff({"a": ["3-cc"]}) == {}
    with pytest.raises(BadRequest):
        cdb.revs_diff({"a": ["bogus"]})


def test_bulk_get_normalises_pouchdb_answers(cdb):
    [a] = cdb.bulk_docs([{"_id": "a", "n": 1}])
    [a2] = cdb.bulk_docs([{"_id": "a", "_rev": a["rev"], "n": 2}])
    [g] = cdb.bulk_docs([{"_id": "gone"}])
    [dead] = cdb.bulk_docs([{"_id": "gone", "_rev": g["rev"], "_deleted": True}])
    answer = cdb.bulk_get(
        [
            {"id": "a"},
            {"id": "a", "rev": a["rev"]},
            {"id": "missing"},
            {"id": "a", "rev": "9-ff"},
            {"id": "gone"},
            {"id": "gone", "rev": dead["rev"]},
        ]
    )
    results = answer["results"]
    assert [r["id"] for r in results] == ["a", "a", "missing", "a", "gone", "gone"]
    assert results[0]["docs"][0]["ok"]["_rev"] == a2["rev"]  # dropped by pouchdb-server
    assert results[0]["docs"][0]["ok"]["_revisions"]["start"] == 2
    assert results[1]["docs"][0]["ok"]["n"] == 1
    assert results[2]["docs"] == [
        {"error": {"id": "missing", "rev": None, "error": "not_found", "reason": "missing"}}
    ]
    assert results[3]["docs"] == [
        {"error": {"id": "a", "rev": "9-ff", "error": "not_found", "reason": "missing"}}
    ]
    assert results[4]["docs"][0]["error"]["error"] == "not_found"
    assert results[5]["docs"][0]["ok"]["_deleted"] is True
    plain = cdb.bulk_get([{"id": "a"}], revs=False)
    assert "_revisions" not in plain["results"][0]["docs"][0]["ok"]


def test_bulk_get_without_the_endpoint_is_unsupported(couch, cdb, monkeypatch):
    [a] = cdb.bulk_docs([{"_id": "a", "n": 1}])
    cdb.bulk_docs([{"_id": "a", "_rev": a["rev"], "n": 2}])

    def no_bulk_get(**kwargs):
        raise api_error(404, {"error": "not_found", "reason": "missing"})

    monkeypatch.setattr(couch.client, "post_bulk_get", no_bulk_get)
    with pytest.raises(Unsupported):
        cdb.bulk_get([{"id": "a"}])
    # Internal tree reads fall back to open_revs.
    assert cdb.revs_diff({"a": [a["rev"], "3-ab"]}) == {
        "a": {"missing": ["3-ab"], "possible_ancestors": [cdb.get("a")["_rev"]]}
    }


def test_get_deleted_open_revs_and_conflicts(cdb):
    [g] = cdb.bulk_docs([{"_id": "gone", "n": 1}])
    [dead] = cdb.bulk_docs([{"_id": "gone", "_rev": g["rev"], "_deleted": True}])
    with pytest.raises(NotFound):
        cdb.get("gone")
    assert cdb.get("gone", rev=dead["rev"]) == {
        "_id": "gone",
        "_rev": dead["rev"],
        "_deleted": True,
    }
    with pytest.raises(NotFound):
        cdb.get("nothing")
    with pytest.raises(NotFound):
        cdb.get("_design/x")
    assert cdb.get("nothing", open_revs="all") == []
    assert cdb.get("nothing", open_revs=["1-a"]) == [{"missing": "1-a"}]
    winner, loser = make_conflict(cdb)
    leaves = cdb.get("c", open_revs="all", revs=True)
    assert [e["ok"]["_rev"] for e in leaves] == [winner, loser]
    assert leaves[0]["ok"]["_revisions"] == {"start": 2, "ids": ["bb", "00"]}
    assert cdb.get("c", open_revs=["9-ab", loser]) == [
        {"missing": "9-ab"},
        {"ok": {"_id": "c", "_rev": loser, "v": 1}},
    ]
    with pytest.raises(BadRequest):
        cdb.get("c", open_revs="some")


def test_all_docs_rows(cdb):
    [a, _] = cdb.bulk_docs([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    [dead] = cdb.bulk_docs([{"_id": "a", "_rev": a["rev"], "_deleted": True}])
    assert cdb.all_docs() == {
        "total_rows": 1,
        "rows": [{"id": "b", "key": "b", "value": {"rev": cdb.get("b")["_rev"]}}],
    }
    rows = cdb.all_docs(keys=["a", "zz", "b"], include_docs=True)["rows"]
    assert rows[0] == {
        "id": "a",
        "key": "a",
        "value": {"rev": dead["rev"], "deleted": True},
        "doc": None,
    }
    assert rows[1] == {"key": "zz", "error": "not_found"}
    assert rows[2]["doc"]["n"] == 2


# --------------------------------------------------------------------------- _local


def test_local_documents_are_last_writer_wins(cdb):
    first = cdb.put_local("checkpoint", {"seq": 1})
    assert first["id"] == "_local/checkpoint" and first["ok"] is True
    second = cdb.put_local("checkpoint", {"seq": 2, "_rev": "0-999"})  # _rev is ignored
    assert second["rev"] != first["rev"]
    doc = cdb.get_local("checkpoint")
    assert doc["_id"] == "_local/checkpoint" and doc["seq"] == 2
    cdb.put_local("a/b", {"x": 1})
    assert cdb.get_local("a/b")["x"] == 1
    cdb.delete_local("checkpoint")
    with pytest.raises(NotFound):
        cdb.get_local("checkpoint")
    with pytest.raises(NotFound):
        cdb.delete_local("checkpoint")


def test_archive_namespace_is_reserved(cdb):
    [a] = cdb.bulk_docs([{"_id": "a"}])
    local_id = f"{ARCHIVE_PREFIX}a:{a['rev']}"
    with pytest.raises(NotFound):
        cdb.get_local(local_id)
    with pytest.raises(BadRequest):
        cdb.put_local(local_id, {"forged": True})
    with pytest.raises(BadRequest):
        cdb.delete_local(local_id)
    assert cdb.archived("a", a["rev"]) == {"_id": "a", "_rev": a["rev"]}
