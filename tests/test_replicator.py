"""The replicator (`sync.replicator`) and `sopu replicate`, against SQLite and pouchdb-server.

Every test compares what a CouchDB-protocol client would see on both sides: for each
document the winner, every leaf (body and `_revisions`) and the conflicts. Faults are
injected by wrapping a `Database` so that one call raises; the rerun must then end in
exactly the same state as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sync.replicator import DocError, endpoint_id, public_url, replicate, replication_id
from sync.revisions import parse_rev
from sync.store.errors import NotFound, Unsupported
from sync.store.sqlite import SQLiteStore
from tests.support.pouchdb_server import REPO_ROOT, free_port

# ------------------------------------------------------------------------ endpoints


class Endpoints:
    """Creates databases in an SQLite store or two and in pouchdb-server; cleans up."""

    def __init__(self, tmp_path: Path, request: pytest.FixtureRequest):
        self.tmp_path = tmp_path
        self.request = request
        self.stores: dict[str, object] = {}
        self.created: list[tuple[object, str]] = []

    def store(self, kind: str, **options):
        if kind not in self.stores:
            if kind.startswith("sqlite"):
                self.stores[kind] = SQLiteStore(self.tmp_path / kind, **options)
            else:
                from sync.store.couch import CouchStore

                url = self.request.getfixturevalue("pouchdb_server_url")
                self.stores[kind] = CouchStore(url, **options)
        return self.stores[kind]

    def db(self, kind: str, name: str | None = None, **options):
        store = self.store(kind, **options)
        name = name or f"t{uuid.uuid4().hex}"
        self.created.append((store, name))
        return store.ensure_database(name)

    def close(self) -> None:
        for store, name in self.created:
            with contextlib.suppress(NotFound):
                store.delete_database(name)
        for store in self.stores.values():
            store.close()


@pytest.fixture
def endpoints(tmp_path, request):
    made = Endpoints(tmp_path, request)
    yield made
    made.close()


DIRECTIONS = [("sqlite", "sqlite2"), ("sqlite", "pouch"), ("pouch", "sqlite")]
DIRECTION_IDS = ["sqlite-sqlite", "sqlite-pouch", "pouch-sqlite"]


@pytest.fixture(params=DIRECTIONS, ids=DIRECTION_IDS)
def pair(request, endpoints):
    """(source, target): a populated source and an empty target, one per direction."""
    source_kind, target_kind = request.param
    source = endpoints.db(source_kind)
    populate(source)
    return source, endpoints.db(target_kind)


# ------------------------------------------------------------------------ data


def h(label: str) -> str:
    return hashlib.md5(label.encode()).hexdigest()


def branch(db, doc_id: str, *labels: str, deleted: bool = False, **fields) -> str:
    """Write the path of revs named by `labels` (oldest first) with new_edits=false."""
    ids = [h(f"{doc_id}/{label}") for label in reversed(labels)]
    doc = {"_id": doc_id, "_rev": f"{len(ids)}-{ids[0]}", **fields}
    doc["_revisions"] = {"start": len(ids), "ids": ids}
    if deleted:
        doc["_deleted"] = True
    [result] = db.bulk_docs([doc], new_edits=False)
    assert result.get("ok"), result
    return doc["_rev"]


def edit(db, doc_id: str, rev: str | None = None, **fields) -> str:
    doc = {"_id": doc_id, **fields}
    if rev is not None:
        doc["_rev"] = rev
    [result] = db.bulk_docs([doc])
    assert result.get("ok"), result
    return result["rev"]


def note(i: int) -> dict:
    return {
        "doc_type": "note",
        "schema_version": 2,
        "case_id": h(f"case{i % 7}"),
        "key_version": 1,
        "ciphertext": "QUJD" * 40,
        "seq_no": i,
    }


def populate(db, plain: int = 40) -> None:
    """Plain docs, edited docs, conflicts, deletions and deleted conflicts."""
    db.bulk_docs([{"_id": f"plain{i:03d}", **note(i)} for i in range(plain)])
    for i in range(5):
        rev = None
        for version in range(3):
            rev = edit(db, f"edited{i}", rev, version=version, **note(i))
    branch(db, "conflict", "a", "b", "c", v="c")
    branch(db, "conflict", "a", "d", v="d")
    branch(db, "conflict", "a", "e", "f", deleted=True)
    rev = edit(db, "gone", v=1)
    edit(db, "gone", rev, _deleted=True)
    branch(db, "all-dead", "a", "b", deleted=True)
    branch(db, "all-dead", "a", "x", "y", deleted=True)
    branch(db, "dead-wins-not", "a", "b", "c", "d", deleted=True)
    branch(db, "dead-wins-not", "a", "z", v="alive")


def snapshot(db) -> dict:
    """Per doc: winner, deleted flag, every leaf with its body and path, `_conflicts`."""
    out = {}
    for row in db.changes(style="all_docs")["results"]:
        doc_id = row["id"]
        leaves = [e["ok"] for e in db.get(doc_id, open_revs="all", revs=True)]
        try:
            current = db.get(doc_id, conflicts=True)
        except NotFound:
            current = None
        out[doc_id] = {
            "winner": row["changes"][0]["rev"],
            "leaf_revs": sorted(c["rev"] for c in row["changes"]),
            "deleted": row.get("deleted", False),
            "leaves": sorted(leaves, key=lambda d: d["_rev"]),
            "current": current,
        }
    return out


def assert_same(source, target) -> None:
    expected, actual = snapshot(source), snapshot(target)
    assert actual.keys() == expected.keys()
    for doc_id, entry in expected.items():
        assert actual[doc_id] == entry, doc_id


# ------------------------------------------------------------------------ faults


class Boom(RuntimeError):
    """The injected failure."""


class Faulty:
    """A Database whose `method` raises on its `nth` call (optionally after half a write).

    With `dies`, every call after that one raises too, as if the process or the
    connection had gone: nothing more reaches this side, not even a last checkpoint.
    """

    def __init__(self, db, method: str, nth, half=False, error=Boom, dies=False):
        self._db, self._method, self._nth, self._half = db, method, nth, half
        self._error, self._dies = error, dies
        self.calls = 0
        self.dead = False

    def __getattr__(self, name):
        attr = getattr(self._db, name)
        if not callable(attr):
            return attr

        def wrapped(*args, **kwargs):
            if self.dead:
                raise self._error(f"{name} after the failure")
            if name == self._method:
                self.calls += 1
                if self._nth is None or self.calls == self._nth:
                    if self._half:  # a non-atomic server accepted part of the request
                        attr(args[0][: len(args[0]) // 2], *args[1:], **kwargs)
                    self.dead = self._dies
                    raise self._error(f"injected failure in {name} call {self.calls}")
            return attr(*args, **kwargs)

        return wrapped


FAULTS = [
    ("target", "bulk_docs", 1, False),
    ("target", "bulk_docs", 2, False),
    ("target", "bulk_docs", 3, True),
    ("source", "bulk_get", 2, False),
    ("source", "changes", 3, False),
    ("target", "revs_diff", 2, False),
    ("source", "put_local", 2, False),
    ("target", "put_local", 2, False),
    ("source", "archived", 7, False),
]


READER_METHODS = {"changes", "revs_diff", "bulk_get", "archived"}
# (checkpoint_interval, the failing side dies): a checkpoint after every write and a
# crash that leaves no chance for more, or checkpoints far apart and a failure after
# which the replicator records what it wrote on the way out.
MODES = {
    "checkpoint-every-write-then-crash": (0, True),
    "last-checkpoint-on-the-way-out": (60, False),
}
FAULT_CASES = [
    pytest.param(*fault, mode, id=f"{'-'.join(map(str, fault))}-{name}")
    for fault in FAULTS
    for name, mode in MODES.items()
    if not (fault[1] == "put_local" and mode[0])  # no put_local before the end to fail
]


@pytest.mark.parametrize(("side", "method", "nth", "half", "mode"), FAULT_CASES)
def test_interrupted_run_resumes_and_ends_identical(pair, side, method, nth, half, mode):
    interval, dies = mode
    source, target = pair
    victim = target if side == "target" else source
    faulty = {side: Faulty(victim, method, nth, half, dies=dies)}
    with pytest.raises(Boom):
        replicate(
            faulty.get("source", source),
            faulty.get("target", target),
            batch_size=8,
            history=True,
            checkpoint_interval=interval,
            prefetch=1,  # at most 2 batches per write: at least 4 writes of 7 batches
            fetchers=1,  # the nth call of a reading method is made for the nth batch
        )
    again = replicate(source, target, batch_size=8, history=True)
    assert_same(source, target)
    assert archived_revs(target) == archived_revs(source)
    total = source.info()["doc_count"] + source.info()["doc_del_count"]
    # Batch 1 and its checkpoint were written before the failure - unless the failing
    # side died in the reader thread before the writer got to checkpoint batch 1.
    if nth >= 2 and not (dies and method in READER_METHODS):
        assert again.start_seq not in (0, None)
        assert again.docs_read < total
    assert replicate(source, target, batch_size=8, history=True).revisions_copied == 0


def test_reader_failure_stops_the_writer_and_nothing_hangs(endpoints):
    source, target = endpoints.db("sqlite"), endpoints.db("sqlite2")
    populate(source, plain=200)
    with pytest.raises(Boom):
        replicate(Faulty(source, "changes", 4), target, batch_size=5, prefetch=1)
    with pytest.raises(Boom):
        replicate(source, Faulty(target, "bulk_docs", 1, dies=True), batch_size=5, prefetch=1)


class SlowFetches:
    """A source whose `_bulk_get`s answer late when they ask for one of `slow` ids and
    raise when they ask for one of `fail`; records how many ran at once."""

    def __init__(self, db, slow=(), fail=(), delay: float = 0.3):
        self._db, self._slow, self._fail, self._delay = db, set(slow), set(fail), delay
        self._lock = threading.Lock()
        self.running = self.most_at_once = 0

    def __getattr__(self, name):
        return getattr(self._db, name)

    def bulk_get(self, requests, *args, **kwargs):
        ids = {request["id"] for request in requests}
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if ids & self._slow:
                time.sleep(self._delay)
            if ids & self._fail:
                raise Boom("injected failure in a fetch")
            return self._db.bulk_get(requests, *args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


class WriteLog:
    """A target that records the ids of each `bulk_docs` call, in call order."""

    def __init__(self, db):
        self._db = db
        self.writes: list[list[str]] = []

    def __getattr__(self, name):
        return getattr(self._db, name)

    def bulk_docs(self, docs, new_edits=True):
        self.writes.append([doc["_id"] for doc in docs])
        return self._db.bulk_docs(docs, new_edits=new_edits)


@pytest.mark.parametrize("fetchers", [1, 2, 3])
def test_overlapping_fetches_still_write_in_the_source_order(endpoints, fetchers):
    """Later batches may be fetched first; written first, a checkpoint could skip
    the slow one, and a resumed run would never copy it."""
    source, target = endpoints.db("sqlite"), endpoints.db("sqlite2")
    populate(source, plain=60)
    order = [row["id"] for row in source.changes()["results"]]
    slow, log = SlowFetches(source, slow=order[:20]), WriteLog(target)  # batches 1, 2
    replicate(slow, log, batch_size=10, fetchers=fetchers, checkpoint_interval=0)
    written = list(dict.fromkeys(doc_id for ids in log.writes for doc_id in ids))
    assert written == order
    assert slow.most_at_once == fetchers  # they overlap, and no more than asked
    assert_same(source, target)


def test_a_later_fetch_failing_first_keeps_the_slower_earlier_batches(endpoints):
    """Batch 3's fetch fails while batches 1 and 2 are still being fetched: those two
    are written and checkpointed before the error reaches the caller."""
    source, target = endpoints.db("sqlite"), endpoints.db("sqlite2")
    populate(source, plain=60)
    first_two = [row["id"] for row in source.changes(limit=20)["results"]]
    third = source.changes(limit=30)["results"][20]["id"]
    slow = SlowFetches(source, slow=first_two, fail=[third])
    with pytest.raises(Boom):
        replicate(slow, target, batch_size=10, fetchers=3, checkpoint_interval=60)
    assert [row["id"] for row in target.changes()["results"]] == first_two
    again = replicate(source, target, batch_size=10)
    assert again.start_seq == source.changes(limit=20)["last_seq"]
    assert_same(source, target)


# ------------------------------------------------------------------------ replication


def test_replicates_everything_with_conflicts_and_deletions(pair):
    source, target = pair
    result = replicate(source, target, batch_size=10)
    assert_same(source, target)
    expected = snapshot(source)
    assert len(expected["conflict"]["leaf_revs"]) == 3
    assert expected["conflict"]["current"]["_conflicts"]
    assert expected["gone"]["deleted"] and expected["all-dead"]["deleted"]
    assert not expected["dead-wins-not"]["deleted"]
    assert result.errors == []
    assert result.docs_read == len(expected)
    assert result.docs_written == len(expected)
    assert result.batches == -(-len(expected) // 10)
    assert result.last_seq == source.changes()["last_seq"]


def test_second_run_copies_nothing_and_later_changes_follow(pair):
    source, target = pair
    replicate(source, target, batch_size=10)
    again = replicate(source, target, batch_size=10)
    assert (again.docs_read, again.revisions_copied, again.batches) == (0, 0, 0)
    rev = source.get("plain001")["_rev"]
    edit(source, "plain001", rev, v="changed")
    edit(source, "fresh", v="new")
    later = replicate(source, target, batch_size=10)
    assert (later.docs_read, later.docs_written) == (2, 2)
    assert_same(source, target)


def test_replicating_back_and_forth_merges_concurrent_edits(pair):
    source, target = pair
    replicate(source, target)
    rev = source.get("plain002")["_rev"]
    edit(source, "plain002", rev, side="source")
    edit(target, "plain002", rev, side="target")
    edit(target, "only-target", v=1)
    replicate(source, target)
    replicate(target, source)
    assert_same(source, target)
    assert len(snapshot(source)["plain002"]["leaf_revs"]) == 2


def test_checkpoint_is_written_on_both_sides_and_disagreement_restarts(endpoints):
    source, target = endpoints.db("sqlite"), endpoints.db("sqlite2")
    populate(source)
    first = replicate(source, target, batch_size=10)
    rep_id = replication_id(endpoint_id(source), endpoint_id(target), False)
    src_doc, tgt_doc = source.get_local(rep_id), target.get_local(rep_id)
    assert src_doc["session_id"] == tgt_doc["session_id"]
    assert src_doc["source_last_seq"] == tgt_doc["source_last_seq"] == first.last_seq
    target.put_local(rep_id, {"session_id": "someone else", "history": []})
    again = replicate(source, target, batch_size=10)
    assert again.start_seq == 0
    assert (again.docs_read, again.revisions_copied) == (first.docs_read, 0)


@pytest.mark.parametrize(("interval", "fewest", "most"), [(60, 1, 1), (0, 4, 7)])
def test_checkpoint_interval_spaces_out_checkpoints(endpoints, interval, fewest, most):
    source, target = endpoints.db("sqlite"), endpoints.db("sqlite2")
    populate(source)  # 49 documents: 7 batches of 7, written in 4 to 7 writes
    counted = Faulty(target, "put_local", nth=0)  # counts, never fails
    result = replicate(source, counted, batch_size=7, prefetch=1, checkpoint_interval=interval)
    assert result.batches == 7
    assert fewest <= counted.calls <= most


def test_many_databases_in_one_process_leak_no_file_descriptors(endpoints):
    """`sopu replicate --all` runs one replication per case database of a site."""
    sources = [endpoints.db("sqlite", f"case{i:03d}") for i in range(80)]
    for db in sources:
        edit(db, "x", v=1)

    def open_fds_after(dbs) -> int:
        for db in dbs:
            replicate(db, endpoints.db("sqlite2", db.name))
        return len(list(Path("/proc/self/fd").iterdir()))

    # The first runs start the pooled threads, each with its connections; after that,
    # 60 more databases may add at most the connections of the few pool threads not
    # started yet (far fewer than one descriptor per database).
    warmed_up = open_fds_after(sources[:20])
    assert open_fds_after(sources[20:]) <= warmed_up + 8


def test_bulk_get_unsupported_falls_back_to_open_revs(pair):
    source, target = pair
    faulty = Faulty(source, "bulk_get", None, error=Unsupported)
    result = replicate(faulty, target, batch_size=10, history=True)
    assert faulty.calls == 1  # asked once, then the fallback for the rest of the run
    assert result.errors == []
    assert_same(source, target)


def test_refused_documents_are_reported_and_the_rest_goes_on(endpoints):
    source = endpoints.db("sqlite")
    target = endpoints.db("sqlite-small", max_document_size=2000)
    populate(source)
    edit(source, "huge", text="x" * 5000)
    result = replicate(source, target, batch_size=10)
    [error] = result.errors
    assert error == DocError("huge", source.get("huge")["_rev"], "document_too_large", error.reason)
    assert error.reason
    expected = snapshot(source)
    del expected["huge"]
    assert snapshot(target) == expected
    assert result.docs_written == len(expected)


def test_progress_reports_rows_done_against_the_estimate(endpoints):
    source, target = endpoints.db("sqlite"), endpoints.db("sqlite2")
    populate(source)
    seen: list[tuple[int, int]] = []
    replicate(source, target, batch_size=7, progress=lambda done, total: seen.append((done, total)))
    total = len(snapshot(source))
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)


# ------------------------------------------------------------------------ history


def archived_revs(db) -> dict[tuple[str, str], dict]:
    """Every archived body on the paths of every leaf, by (id, rev)."""
    out = {}
    for doc_id in snapshot(db):
        for entry in db.get(doc_id, open_revs="all", revs=True):
            path = entry["ok"]["_revisions"]
            for offset, digest in enumerate(path["ids"]):
                rev = f"{path['start'] - offset}-{digest}"
                body = db.archived(doc_id, rev)
                if body is not None:
                    out[(doc_id, rev)] = body
    return out


@pytest.mark.parametrize("target_kind", ["sqlite2", "pouch"])
def test_history_copies_every_archived_revision_without_changing_the_tree(endpoints, target_kind):
    source = endpoints.db("sqlite")
    populate(source)
    rev = source.get("edited0")["_rev"]
    rev = edit(source, "edited0", rev, _deleted=True)
    edit(source, "edited0", rev, back="again")  # recreated: history spans a tombstone
    with_history, without = endpoints.db(target_kind), endpoints.db(target_kind)
    result = replicate(source, with_history, history=True, batch_size=10)
    replicate(source, without, history=False, batch_size=10)
    assert_same(source, with_history)
    assert snapshot(with_history) == snapshot(without)  # the tree did not change
    expected = archived_revs(source)
    assert len(expected) > len(snapshot(source)) + 10  # there really is history
    for (doc_id, rev), body in expected.items():
        assert with_history.archived(doc_id, rev) == body, (doc_id, rev)
    leaf_count = sum(len(e["leaf_revs"]) for e in snapshot(source).values())
    ancestors = [key for key in expected if without.archived(*key) is None]
    assert ancestors  # without history only the leaves travel
    assert result.revisions_copied == leaf_count + len(ancestors)
    backfill = replicate(source, without, history=True, batch_size=10)
    assert (backfill.docs_written, backfill.revisions_copied) == (0, len(ancestors))
    assert archived_revs(without) == expected
    assert snapshot(without) == snapshot(with_history)


@pytest.mark.parametrize("kind", ["sqlite", "pouch"])
def test_sending_an_ancestor_archives_it_without_touching_the_tree(endpoints, kind):
    """What history mode relies on, in each store: an ancestor sent after its leaf
    (new_edits=false, with its own `_revisions`) only adds its body to the archive."""
    db = endpoints.db(kind)
    leaf = branch(db, "doc", "a", "b", "c", v="c")
    branch(db, "doc", "a", "x", v="x")
    before, seq = snapshot(db), db.changes()["last_seq"]
    ancestor = f"2-{h('doc/b')}"
    assert db.archived("doc", ancestor) is None
    body = {"_id": "doc", "_rev": ancestor, "v": "b"}
    path = {"start": 2, "ids": [h("doc/b"), h("doc/a")]}
    [result] = db.bulk_docs([{**body, "_revisions": path}], new_edits=False)
    assert result.get("ok"), result
    assert db.archived("doc", ancestor) == body
    assert snapshot(db) == before
    assert db.changes(since=seq)["results"] == []
    assert db.get("doc")["_rev"] == leaf


def test_history_from_pouchdb_copies_what_its_archive_holds(endpoints):
    source, target = endpoints.db("pouch"), endpoints.db("sqlite")
    populate(source)
    replicate(source, target, history=True)
    for (doc_id, rev), body in archived_revs(source).items():
        assert target.archived(doc_id, rev) == body


# ------------------------------------------------------------------------ identities


def test_public_url_drops_only_the_password():
    assert public_url("https://admin:s3cr%40t@couch.example:6984/") == (
        "https://admin@couch.example:6984/"
    )
    assert public_url("http://127.0.0.1:5984") == "http://127.0.0.1:5984"
    assert public_url("sqlite:////srv/sopu") == "sqlite:////srv/sopu"


def test_replication_id_depends_on_endpoints_and_mode_not_password():
    a = replication_id(public_url("http://u:one@h:1") + "/db", "sqlite:///x/db", True)
    b = replication_id(public_url("http://u:two@h:1") + "/db", "sqlite:///x/db", True)
    assert a == b
    assert a != replication_id("http://u@h:1/db", "sqlite:///x/db", False)
    assert a != replication_id("sqlite:///x/db", "http://u@h:1/db", True)


# ------------------------------------------------------------------------ convergence

# (operation, replica, document or batch size, value or history flag); three documents
# only, so that edits on both replicas between replications often meet (conflicts).
REPLICA_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.integers(0, 1), st.integers(0, 2), st.integers(0, 9)),
        st.tuples(st.just("delete"), st.integers(0, 1), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("edit_leaf"), st.integers(0, 1), st.integers(0, 2), st.integers(0, 9)),
        st.tuples(st.just("replicate"), st.integers(0, 1), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("both"), st.just(0), st.integers(0, 2), st.integers(0, 9)),
    ),
    min_size=4,
    max_size=30,
)


def apply_op(dbs, op) -> None:
    kind, replica, doc, value = op
    db, doc_id = dbs[replica], f"doc{doc}"
    if kind == "replicate":
        replicate(dbs[replica], dbs[1 - replica], batch_size=doc, history=value)
        return
    if kind == "both":  # the same document edited on both replicas: a conflict to come
        apply_op(dbs, ("edit", 0, doc, value))
        apply_op(dbs, ("edit", 1, doc, value + 10))
        return
    leaves = [e["ok"] for e in db.get(doc_id, open_revs="all") if "ok" in e]
    try:
        current = db.get(doc_id)
    except NotFound:
        current = None
    if kind == "edit":
        db.bulk_docs(
            [{"_id": doc_id, "v": value, **({"_rev": current["_rev"]} if current else {})}]
        )
    elif kind == "delete" and current is not None:
        db.bulk_docs([{"_id": doc_id, "_rev": current["_rev"], "_deleted": True}])
    elif kind == "edit_leaf" and leaves:
        leaf = leaves[value % len(leaves)]
        db.bulk_docs([{"_id": doc_id, "_rev": leaf["_rev"], "w": value}])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=REPLICA_OPS)
def test_random_histories_converge_whatever_the_replication_order(ops):
    with tempfile.TemporaryDirectory() as tmp:
        stores = [SQLiteStore(Path(tmp) / "a"), SQLiteStore(Path(tmp) / "b")]
        try:
            dbs = [store.ensure_database("case") for store in stores]
            for op in ops:
                apply_op(dbs, op)
            replicate(dbs[0], dbs[1], batch_size=3, history=True)
            replicate(dbs[1], dbs[0], batch_size=3, history=True)
            assert snapshot(dbs[0]) == snapshot(dbs[1])
            assert archived_revs(dbs[0]) == archived_revs(dbs[1])
            conflicted = any(len(e["leaf_revs"]) > 1 for e in snapshot(dbs[0]).values())
            event("conflicts" if conflicted else "no conflicts")
            for db in dbs:
                for entry in snapshot(db).values():
                    parse_rev(entry["winner"])
        finally:
            for store in stores:
                store.close()


# ------------------------------------------------------------------------ CLI


def sopu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"  # path is absolute, so this is sqlite:////...


@pytest.fixture
def site(tmp_path) -> Path:
    """An SQLite site with two case databases."""
    store = SQLiteStore(tmp_path / "site")
    for name in ("case_a", "case_b"):
        populate(store.create_database(name), plain=12)
    store.close()
    return tmp_path / "site"


def test_cli_db_replicates_one_database_and_creates_it(site, tmp_path):
    run = sopu("replicate", sqlite_url(site), sqlite_url(tmp_path / "copy"), "--db", "case_a")
    assert run.returncode == 0, run.stderr
    assert "replicated 1 database(s)" in run.stdout
    source, copy = SQLiteStore(site), SQLiteStore(tmp_path / "copy")
    assert copy.list_databases() == ["case_a"]
    assert_same(source.database("case_a"), copy.database("case_a"))
    assert archived_revs(copy.database("case_a")) == archived_revs(source.database("case_a"))
    again = sopu("replicate", sqlite_url(site), sqlite_url(tmp_path / "copy"), "--db", "case_a")
    assert "0 changes read" in again.stdout


def test_cli_all_replicates_every_database_to_pouchdb(site, endpoints, pouchdb_server_url):
    target = endpoints.store("pouch")
    for name in ("case_a", "case_b"):
        endpoints.created.append((target, name))
        with contextlib.suppress(NotFound):
            target.delete_database(name)
    run = sopu("replicate", sqlite_url(site), pouchdb_server_url, "--all", "--batch-size", "5")
    assert run.returncode == 0, run.stderr
    assert "replicated 2 database(s)" in run.stdout
    source = SQLiteStore(site)
    for name in ("case_a", "case_b"):
        assert_same(source.database(name), target.database(name))


def test_cli_no_history_copies_only_leaves(site, tmp_path):
    run = sopu(
        "replicate", sqlite_url(site), sqlite_url(tmp_path / "c"), "--db", "case_b", "--no-history"
    )
    assert run.returncode == 0, run.stderr
    source, copy = SQLiteStore(site), SQLiteStore(tmp_path / "c")
    assert_same(source.database("case_b"), copy.database("case_b"))
    assert archived_revs(copy.database("case_b")) != archived_revs(source.database("case_b"))


def test_cli_unknown_scheme_is_a_clear_error_without_password(tmp_path):
    run = sopu("replicate", "ftp://admin:hunter2@example", sqlite_url(tmp_path / "t"), "--all")
    assert run.returncode != 0
    assert "Unknown store URL" in run.stderr
    assert "hunter2" not in run.stdout + run.stderr


def test_cli_unreachable_server_is_a_clear_error_without_password(tmp_path):
    url = f"http://admin:hunter2@127.0.0.1:{free_port()}"
    run = sopu("replicate", url, sqlite_url(tmp_path / "t"), "--db", "x")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("Error:")
    assert "hunter2" not in run.stdout + run.stderr


def test_cli_missing_source_database(site, tmp_path):
    run = sopu("replicate", sqlite_url(site), sqlite_url(tmp_path / "t"), "--db", "nope")
    assert run.returncode == 1
    assert "source database 'nope' does not exist" in run.stderr


def test_cli_needs_exactly_one_of_db_and_all(site, tmp_path):
    for extra in ([], ["--db", "case_a", "--all"]):
        run = sopu("replicate", sqlite_url(site), sqlite_url(tmp_path / "t"), *extra)
        assert run.returncode == 2
        assert "exactly one of --db NAME or --all" in run.stderr


def test_cli_lists_refused_documents_and_fails(endpoints, pouchdb_server_url, tmp_path):
    source = endpoints.db("pouch")
    populate(source, plain=3)
    huge_rev = f"1-{h('huge')}"
    body = {"_id": "huge", "_rev": huge_rev, "text": "x" * (1024 * 1024 + 10)}
    http = requests.Session()
    http.trust_env = False
    reply = http.post(
        f"{pouchdb_server_url}/{source.name}/_bulk_docs",
        data=json.dumps({"docs": [body], "new_edits": False}),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    run = sopu("replicate", pouchdb_server_url, sqlite_url(tmp_path / "t"), "--db", source.name)
    assert run.returncode == 1
    assert f"refused {source.name}/huge {huge_rev}: document_too_large" in run.stderr
    assert "xxxxxxxx" not in run.stdout + run.stderr  # never the document's contents
    assert "1 refused" in run.stdout
