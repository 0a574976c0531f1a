"""CouchDB's replication protocol between any two `Database`s (SQLite, CouchDB, PouchDB).

    result = replicate(source_db, target_db, history=True, progress=print)

One pass reads the source's `_changes` from the last checkpoint in batches and, per
batch, asks the target which leaf revisions it lacks (`revs_diff`), fetches exactly
those with their ancestry (`bulk_get ... revs=True`, or `get(open_revs=...)` where the
source has no `_bulk_get`) and writes them as they are (`bulk_docs new_edits=False`):
every leaf travels, so conflicts survive and both sides pick the same winner.

Why checkpoints on both sides: after an interruption anywhere, the next run starts
from the newest position both endpoints recorded. Everything before it is durable on
the target (a checkpoint is written only after `bulk_docs` returned); everything after
it is simply sent again, which is harmless because replicated writes are idempotent.

Why a reader thread and fetcher threads: fetching batch N+1 from the source overlaps
writing batch N to the target, so a pull runs at about the speed of the slower side, not
the sum of both. Within the reading side, the next page of `_changes` is read while the
documents of the previous page are fetched, by up to `fetchers` requests at a time (as
CouchDB's replicator does with its changes reader and workers): the source never waits
for this process to parse an answer before it gets the next request, and this process
never waits for the source while it has an answer to parse. The queue between reading
and writing holds at most `prefetch` batches, and at most `fetchers` more are being
fetched, so memory stays bounded whatever the size of the database. Batches are written
in the order of the source's changes whichever fetch ends first. When the target falls
behind, the batches waiting in the queue are written together: fewer, larger
transactions help it catch up.

Why checkpoints only every `checkpoint_interval` seconds (and at the end, and on the
way out of a failed run): each is a write on both sides - for SQLite a transaction
with its fsync - which per batch would cost as much as the documents themselves.
CouchDB's replicator does the same. `checkpoint_interval=0` checkpoints every write.

Why `history`: CouchDB keeps only leaf bodies; Sopu keeps every accepted revision body
in each store's archive (docs/adr/004-revision-archive.md). With `history=True` the
archived ancestors of every leaf of every changed document go along (after the leaves,
so the tree never shows an ancestor as a leaf): the target merges them as existing
revisions — no change to its tree — and archives their bodies, so moving a site keeps
its legal history of corrections.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .revisions import canonical_json, parse_rev
from .store.base import Database, Seq
from .store.errors import NotFound, Unavailable, Unsupported

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DocError",
    "ReplicationResult",
    "endpoint_id",
    "public_url",
    "replicate",
    "replication_id",
]

DEFAULT_BATCH_SIZE = 500
DEFAULT_PREFETCH = 4
DEFAULT_FETCHERS = 2  # concurrent fetches per run: enough to keep the source busy
MAX_FETCHERS = 4  # threads fetching, for all runs of this process together
DEFAULT_CHECKPOINT_INTERVAL = 1.0  # seconds; CouchDB's replicator waits even longer
CHECKPOINT_HISTORY = 50  # entries kept, so a half-written checkpoint still finds a match
REPLICATION_ID_VERSION = 1
_POLL = 0.1  # seconds between checks of the stop flag while the queue is full

# Reader and fetcher threads are pooled, not started per call: a store may keep a
# connection per thread (SQLite does, until the store is closed), so a new thread per
# database would leak file descriptors over a `--all` run across thousands of case
# databases. With pools, the connections are bounded by the pools' sizes.
_READERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="replicator-reader")
_FETCHERS = ThreadPoolExecutor(max_workers=MAX_FETCHERS, thread_name_prefix="replicator-fetcher")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DocError:
    """A revision the target refused; the replication went on without it."""

    id: str | None
    rev: str | None
    error: str
    reason: str


@dataclass
class ReplicationResult:
    """What one `replicate()` call did.

    `docs_read`: change rows read from the source; `docs_written`: documents that
    received at least one new leaf; `revisions_copied`: revision bodies the target
    accepted (the missing leaves plus, with history, the archived ancestors of every
    leaf of the changed documents, also those it had already); `errors`: refusals.
    """

    docs_read: int = 0
    docs_written: int = 0
    revisions_copied: int = 0
    errors: list[DocError] = field(default_factory=list)
    last_seq: Seq = 0
    batches: int = 0
    start_seq: Seq = 0


# ---------------------------------------------------------------- identities


def public_url(url: str) -> str:
    """`url` without its password, safe to print and to hash into a replication id."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc))


def endpoint_id(db: Database) -> str:
    """Who a database is: its store's URL (no password) and its name.

    The password is left out so that changing it does not restart replication from 0.
    A database without a `store` falls back to its class name, which is still unique
    enough: a wrong match only costs a full (idempotent) pass, never data.
    """
    store = getattr(db, "store", None)
    base = getattr(store, "url", None) or type(db).__name__
    return f"{public_url(base).rstrip('/')}/{db.name}"


def replication_id(source: str, target: str, history: bool) -> str:
    """The `_local` id of the checkpoint for this pair and mode (CouchDB style hash)."""
    key = canonical_json([REPLICATION_ID_VERSION, source, target, {"history": history}])
    return "sopu-replication-" + hashlib.sha256(key).hexdigest()[:32]


# ---------------------------------------------------------------- the pass


def replicate(
    source: Database,
    target: Database,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    history: bool = False,
    progress: Progress | None = None,
    prefetch: int = DEFAULT_PREFETCH,
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL,
    source_id: str | None = None,
    target_id: str | None = None,
    fetchers: int = DEFAULT_FETCHERS,
) -> ReplicationResult:
    """Bring `target` up to date with `source`; returns what was done.

    Resumes from the checkpoint both sides agree on. Per-document refusals by the
    target are collected in `result.errors`, not raised; any other exception
    propagates after a last checkpoint of what was written, and the next call
    continues from there. `progress` is called after each write with (change rows
    done, estimated total for this run). `checkpoint_interval` (seconds) spaces out
    checkpoints while all goes well; 0 checkpoints after every write.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rep_id = replication_id(
        source_id or endpoint_id(source), target_id or endpoint_id(target), history
    )
    checkpoints = _Checkpoints(source, target, rep_id, checkpoint_interval)
    since = checkpoints.resume()
    run = _Run(source, target, batch_size, history, progress, min(max(1, fetchers), MAX_FETCHERS))
    return run.execute(since, checkpoints, max(1, prefetch))


@dataclass
class _Batch:
    """Changes read from the source, ready to be written to the target."""

    last_seq: Seq
    rows: int
    leaves: list[dict]  # the leaf revisions the target lacks
    ancestors: list[dict]  # with history: their archived ancestors, written after them
    batches: int = 1  # source batches merged into this one

    def merged(self, later: _Batch) -> _Batch:
        return _Batch(
            later.last_seq,
            self.rows + later.rows,
            self.leaves + later.leaves,
            self.ancestors + later.ancestors,
            self.batches + later.batches,
        )


@dataclass
class _Failed:
    """The reader's exception, handed to the writer so it is raised in the caller."""

    error: BaseException


_DONE = object()


class _Run:
    """One replication pass: a pooled changes reader and pooled fetchers feeding the
    writing caller."""

    def __init__(
        self,
        source: Database,
        target: Database,
        batch_size: int,
        history: bool,
        progress: Progress | None,
        fetchers: int,
    ):
        self.source = source
        self.target = target
        self.batch_size = batch_size
        self.history = history
        self.progress = progress
        self.bulk_get_supported = True
        self.stop = threading.Event()
        self.slots = threading.BoundedSemaphore(fetchers)
        self.fetching: set[Future] = set()

    def execute(self, since: Seq, checkpoints: _Checkpoints, prefetch: int) -> ReplicationResult:
        result = ReplicationResult(last_seq=since, start_seq=since)
        # Only for progress: some servers (pouchdb-server) make info() scan all changes.
        total = _estimate(self.source.info(), since) if self.progress else 0
        feed: queue.Queue = queue.Queue(maxsize=prefetch)
        reader = _READERS.submit(self._read_all, since, feed)
        self._report(result, total)
        try:
            for batch in _ready_batches(feed):
                self._write(batch, result)
                checkpoints.save(result.last_seq)
                self._report(result, total)
            checkpoints.save(result.last_seq, final=True)
        except Unavailable:
            raise  # an endpoint is gone: a last checkpoint would only wait for it again
        except BaseException:
            checkpoints.save_quietly(result.last_seq)  # what was written need not be redone
            raise
        finally:
            self._shut_down(reader, feed)
        return result

    def _report(self, result: ReplicationResult, total: int) -> None:
        if self.progress is not None:
            self.progress(result.docs_read, max(total, result.docs_read))

    def _shut_down(self, reader: Future, feed: queue.Queue) -> None:
        """Stop the reader (it may be blocked on a full queue) and wait for it and for
        the fetches it started, so nothing touches either side after we return."""
        self.stop.set()
        while not reader.done():
            with contextlib.suppress(queue.Empty):
                feed.get(timeout=_POLL)
        wait(list(self.fetching))

    # ------------------------------------------------------------ reading side

    def _read_all(self, since: Seq, feed: queue.Queue) -> None:
        """Read the changes page by page; hand over each page's fetch, in order."""
        try:
            while not self.stop.is_set():
                changes = self.source.changes(since, limit=self.batch_size, style="all_docs")
                if not changes["results"]:
                    break
                self._hand_over(feed, self._fetch_later(changes))
                since = changes["last_seq"]
            self._hand_over(feed, _DONE)
        except BaseException as exc:  # re-raised in the caller's thread
            self._hand_over(feed, _Failed(exc))

    def _fetch_later(self, changes: dict) -> Future:
        """Start fetching one page's documents once fewer than `fetchers` are running."""
        self.slots.acquire()
        future = _FETCHERS.submit(self._read_batch, changes)
        self.fetching.add(future)
        future.add_done_callback(self._fetched)
        return future

    def _fetched(self, future: Future) -> None:
        self.fetching.discard(future)
        self.slots.release()

    def _hand_over(self, feed: queue.Queue, item: Any) -> None:
        while not self.stop.is_set():
            try:
                feed.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _read_batch(self, changes: dict) -> _Batch:
        """The documents of one page of changes that the target lacks.

        With history, every leaf of every changed document is fetched, not only the
        missing ones, so that the ancestors of a leaf the target already holds are
        sent too: that repairs a target which got the leaf without its history (an
        earlier run without history, or a write cut short between the two).
        """
        rows = changes["results"]
        leaves = {row["id"]: [c["rev"] for c in row["changes"]] for row in rows}
        missing = {i: e["missing"] for i, e in self.target.revs_diff(leaves).items()}
        if not self.history:
            return _Batch(changes["last_seq"], len(rows), self._fetch(missing), [])
        docs = self._fetch(leaves)
        new = [d for d in docs if d["_rev"] in missing.get(d["_id"], ())]
        return _Batch(changes["last_seq"], len(rows), new, self._ancestors(docs))

    def _fetch(self, revs: dict[str, list[str]]) -> list[dict]:
        """These revisions with `_revisions`, via `_bulk_get` if the source has it."""
        wanted = [{"id": doc_id, "rev": rev} for doc_id, some in revs.items() for rev in some]
        if not wanted:
            return []
        if self.bulk_get_supported:
            try:
                reply = self.source.bulk_get(wanted, revs=True)
                return _unique(d["ok"] for r in reply["results"] for d in r["docs"] if "ok" in d)
            except Unsupported:
                self.bulk_get_supported = False
        return self._fetch_each(revs)

    def _fetch_each(self, revs: dict[str, list[str]]) -> list[dict]:
        """One `open_revs` read per document: the slow path for sources without _bulk_get."""
        docs = []
        for doc_id, wanted in revs.items():
            try:
                found = self.source.get(doc_id, open_revs=list(wanted), revs=True)
            except NotFound:
                continue  # gone since _changes listed it; a later change will say so
            docs.extend(item["ok"] for item in found if "ok" in item)
        return _unique(docs)

    def _ancestors(self, leaves: list[dict]) -> list[dict]:
        """Archived bodies of every ancestor of these leaves, each with its own path."""
        out: list[dict] = []
        seen = {(doc["_id"], doc["_rev"]) for doc in leaves}
        for leaf in leaves:
            for rev, path in _ancestor_paths(leaf.get("_revisions")):
                if (leaf["_id"], rev) in seen:
                    continue
                seen.add((leaf["_id"], rev))
                body = self.source.archived(leaf["_id"], rev)
                if body is not None:
                    out.append({**body, "_revisions": path})
        return out

    # ------------------------------------------------------------ writing side

    def _write(self, batch: _Batch, result: ReplicationResult) -> None:
        docs = batch.leaves + batch.ancestors
        replies = self.target.bulk_docs(docs, new_edits=False) if docs else []
        errors = _refusals(docs, replies)
        refused = {(e.id, e.rev) for e in errors}
        accepted = [(d.get("_id"), d.get("_rev")) not in refused for d in docs]
        result.errors.extend(errors)
        result.docs_read += batch.rows
        leaves = zip(batch.leaves, accepted, strict=False)
        result.docs_written += len({doc["_id"] for doc, ok in leaves if ok})
        result.revisions_copied += sum(accepted)
        result.last_seq = batch.last_seq
        result.batches += batch.batches


# ---------------------------------------------------------------- checkpoints


class _Checkpoints:
    """The `_local` checkpoint documents of one replication, on source and target."""

    def __init__(self, source: Database, target: Database, rep_id: str, interval: float):
        self.source = source
        self.target = target
        self.rep_id = rep_id
        self.interval = interval
        self.session = uuid.uuid4().hex
        self.entries: list[dict] = []
        self.saved_at = time.monotonic()

    def _load(self, db: Database) -> dict | None:
        try:
            return db.get_local(self.rep_id)
        except NotFound:
            return None

    def resume(self) -> Seq:
        """The newest seq recorded by both sides (0 if they share none)."""
        src, tgt = self._load(self.source), self._load(self.target)
        if src is None or tgt is None:
            return 0
        ours = list(src.get("history") or [])[:CHECKPOINT_HISTORY]
        theirs = {_entry_key(e) for e in tgt.get("history") or []}
        for index, entry in enumerate(ours):
            if _entry_key(entry) in theirs:
                self.entries = ours[index:]
                return entry.get("recorded_seq", 0)
        return 0

    def save(self, seq: Seq, final: bool = False) -> None:
        """Record `seq` on the source, then on the target (either order is safe).

        Only every `interval` seconds unless `final`: each checkpoint is two writes,
        which in a fast pull cost as much as the documents themselves.
        """
        if seq == (self.entries[0]["recorded_seq"] if self.entries else 0):
            return  # nothing new since the last checkpoint (or since the very start)
        if not final and time.monotonic() - self.saved_at < self.interval:
            return
        self.entries.insert(0, {"session_id": self.session, "recorded_seq": seq})
        del self.entries[CHECKPOINT_HISTORY:]
        doc = {
            "replication_id_version": REPLICATION_ID_VERSION,
            "session_id": self.session,
            "source_last_seq": seq,
            "history": self.entries,
        }
        self.source.put_local(self.rep_id, doc)
        self.target.put_local(self.rep_id, doc)
        self.saved_at = time.monotonic()

    def save_quietly(self, seq: Seq) -> None:
        """A last checkpoint on the way out of a failed run; its own failure is moot."""
        with contextlib.suppress(Exception):
            self.save(seq, final=True)


def _entry_key(entry: dict) -> bytes:
    return canonical_json([entry.get("session_id"), entry.get("recorded_seq")])


# ---------------------------------------------------------------- helpers


def _ready_batches(feed: queue.Queue) -> Iterator[_Batch]:
    """Batches from the reader, in order; those already fetched are merged into one write.

    When the target is the slower side, merging means fewer, larger transactions
    (one fsync each in SQLite) instead of falling further behind. Memory stays
    bounded by the queue's size. A reader or fetch failure is raised here, in the
    caller - after the batches before it are written, so they need not be read again.
    """
    pending: Any = None
    while True:
        item, pending = (pending, None) if pending is not None else (feed.get(), None)
        if item is _DONE:
            return
        if isinstance(item, _Failed):
            raise item.error
        batch = item.result()
        for _ in range(feed.maxsize):  # only what is waiting now: a merge stays bounded
            try:
                later = feed.get_nowait()
            except queue.Empty:
                break
            if not _fetched_fine(later):
                pending = later
                break
            batch = batch.merged(later.result())
        yield batch


def _fetched_fine(item: Any) -> bool:
    """A fetch that has ended without an error (its batch can join the current write)."""
    return isinstance(item, Future) and item.done() and item.exception() is None


def _estimate(info: dict, since: Seq) -> int:
    """Change rows left to read: exact from 0, a bound for integer seqs, else a guess."""
    total = int(info.get("doc_count") or 0) + int(info.get("doc_del_count") or 0)
    update_seq = info.get("update_seq")
    if since and isinstance(since, int) and isinstance(update_seq, int):
        return max(0, min(total, update_seq - since))
    return total


def _unique(docs) -> list[dict]:
    """Docs without repeats of the same (id, rev); servers may answer a rev twice."""
    out: dict[tuple, dict] = {}
    for doc in docs:
        out.setdefault((doc.get("_id"), doc.get("_rev")), doc)
    return list(out.values())


def _ancestor_paths(revisions: Any):
    """(rev, `_revisions` path) for each ancestor in a leaf's `_revisions`, newest first."""
    if not isinstance(revisions, dict):
        return
    start, ids = revisions.get("start"), revisions.get("ids") or []
    for offset in range(1, len(ids)):
        rev = f"{start - offset}-{ids[offset]}"
        parse_rev(rev)
        yield rev, {"start": start - offset, "ids": ids[offset:]}


def _refusals(docs: list[dict], replies: list[dict]) -> list[DocError]:
    """Per-document errors from `bulk_docs`, matched to the docs they concern.

    The contract answers one reply per doc in order; a server that lists only the
    failures (CouchDB does with new_edits=false) is matched by id instead.
    """
    errors = []
    aligned = len(replies) == len(docs)
    for index, reply in enumerate(replies):
        if "error" not in reply:
            continue
        doc = docs[index] if aligned else _by_id(docs, reply.get("id"))
        errors.append(
            DocError(
                id=reply.get("id") or (doc or {}).get("_id"),
                rev=(doc or {}).get("_rev") or reply.get("rev"),
                error=str(reply.get("error")),
                reason=str(reply.get("reason", "")),
            )
        )
    return errors


def _by_id(docs: list[dict], doc_id: Any) -> dict | None:
    return next((doc for doc in docs if doc.get("_id") == doc_id), None)
