"""The operations behind `/sync/<db>`: one virtual database per worker.

Every method takes the authenticated device (and so its worker) and answers in
CouchDB's shapes. Documents of cases not assigned to the worker today are invisible;
keyrings are the device's own. See the module docstrings of `feed`, `push` and
`tombstones` for the three hard parts.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date

from mobile_schema import DocumentInvalid
from sync.cases import database_name
from sync.crypto import CryptoError, open_envelope
from sync.merge import MergeError
from sync.store import NotFound, StoreError

from ..casework.merging import MergeNotStored, Resolver
from ..directory.base import utcnow
from ..directory.dialect import upsert
from ..errors import TooManyLocalDocuments
from ..site import Site
from . import faults, tombstones
from .device_views import DeviceViews
from .feed import Cursors, State, plan, token
from .push import Accepted, PushChecker, Rejected, rejection

log = logging.getLogger(__name__)

# Refusals of work someone did offline in good faith (the case was taken away before
# the device synced): kept for a supervisor rather than lost.
QUARANTINED = frozenset({"not_assigned"})
PURGE_KEY = ("device_id", "case_id")
LOCAL_KEY = ("device_id", "local_id")
# PouchDB keeps one checkpoint per replication (push and pull): far below this.
MAX_LOCAL_DOCUMENTS = 100


class Gateway:
    def __init__(self, site: Site):
        self.site = site
        self.heads = site.heads
        self.cursors = Cursors(site.directory)
        self.resolver = Resolver(site)
        self.views = DeviceViews(site, self._held_before)
        self._handles: dict[str, object] = {}

    def access(self, device: dict, case_id: str, doc_ids: list[str], action: str) -> None:
        """Every delivery to and push from a device goes into the access log."""
        self.site.access_log.record(device["worker_id"], case_id, doc_ids, action, device["id"])

    # ------------------------------------------------------------ helpers

    def assigned(self, device: dict, today: date | None = None) -> list[str]:
        return self.site.cases.of_worker(device["worker_id"], today)

    def _db(self, case_id: str):
        """A handle on a case database (checked once, then kept: handles are light)."""
        handle = self._handles.get(case_id)
        if handle is None:
            handle = self.site.store.database(database_name(case_id))
            self._handles[case_id] = handle
        return handle

    def _deliver(self, device: dict, docs_by_case: dict[str, list[str]]) -> None:
        """Log what went to the device: one transaction for all its cases (committed
        with other requests' small writes, durable before the answer leaves)."""
        pending = {case: ids for case, ids in docs_by_case.items() if ids}
        if not pending:
            return
        with self.site.directory.grouped() as con:
            self.site.access_log.record_deliveries(device["worker_id"], device["id"], pending, con)

    # ------------------------------------------------------------ info

    def info(self, device: dict, db_name: str) -> dict:
        cases = self.assigned(device)
        marks = ",".join("?" * len(cases))
        row = self.site.directory.one(
            f"SELECT COUNT(*) AS n FROM doc_index WHERE case_id IN ({marks})", tuple(cases)
        )
        count = row["n"] if cases else 0
        return {
            "db_name": db_name,
            "doc_count": count,
            "doc_del_count": 0,
            "update_seq": str(self.heads.current()),
            "instance_start_time": "0",
        }

    # ------------------------------------------------------------ _changes

    def changes(
        self,
        device: dict,
        since: object = 0,
        limit: int | None = None,
        style: str = "main_only",
        include_docs: bool = False,
    ) -> dict:
        """The worker's changes after `since` (see `feed`)."""
        assigned = self.assigned(device)
        self.site.keyrings.refresh(device["id"], assigned)
        g_now = self.heads.current()
        base = self.cursors.resolve(device["id"], since)
        todo = plan(base, assigned, self.heads)
        builder = _Response(limit)
        self._keyring_changes(device, base, builder, include_docs)
        for case_id in todo.purge:
            self._purge(device, case_id, builder)
        for case_id in todo.cases:
            self._case_changes(device, case_id, base, builder, style, include_docs)
        final = base.apply_all([s for steps in builder.steps for s in steps] + builder.tail)
        final.g, final.pending = g_now, sorted(builder.incomplete)
        unchanged = final.vector == base.vector and final.pending == base.pending
        if not builder.results and unchanged and not builder.tail:
            return {"results": [], "last_seq": since if since not in (None, "") else 0}
        cursor = self.cursors.save(device["id"], base, builder.steps, final)
        for n, result in enumerate(builder.results, 1):
            result["seq"] = token(cursor, n)
        self._deliver(device, builder.delivered)
        return {"results": builder.results, "last_seq": token(cursor, len(builder.results))}

    def _keyring_changes(self, device, base: State, out: _Response, include_docs) -> None:
        for row in self.site.keyrings.since(device["id"], base.kg):
            change = {"id": row["doc_id"], "changes": [{"rev": row["rev"]}]}
            if row["deleted"]:
                change["deleted"] = True
            if include_docs:
                change["doc"] = json.loads(row["doc"])
            out.add(change, [["k", row["gseq"]]])

    def _purge(self, device: dict, case_id: str, out: _Response) -> None:
        try:
            rows = tombstones.purge_changes(self._db(case_id))
        except NotFound:
            rows = []  # the case database is gone (shredded): nothing left to delete
        for row in rows:
            out.add(row, [])
        out.close_with(["p", case_id])
        with self.site.directory.transaction() as con:
            con.execute(
                upsert("device_purges", ("device_id", "case_id", "purged_at"), PURGE_KEY),
                (device["id"], case_id, utcnow()),
            )

    def _case_changes(
        self, device, case_id, base: State, out: _Response, style, include_docs
    ) -> None:
        if out.full():
            out.incomplete.add(case_id)
            return
        if case_id not in base.vector:
            self._restore_if_purged(device, case_id)
        room = out.room()
        feed = self._db(case_id).changes(
            since=base.vector.get(case_id, 0), limit=room, style=style, include_docs=include_docs
        )
        for row in feed["results"]:
            change = {k: v for k, v in row.items() if k != "seq"}
            out.add(change, [["c", case_id, row["seq"]]])
            if include_docs:
                out.delivered[case_id].append(row["id"])
        if not feed["results"] and feed["last_seq"] != base.vector.get(case_id):
            out.tail.append(["c", case_id, feed["last_seq"]])  # a new (empty) case
        if room is not None and len(feed["results"]) >= room:
            out.incomplete.add(case_id)

    def _restore_if_purged(self, device: dict, case_id: str) -> None:
        row = self.site.directory.one(
            "SELECT 1 FROM device_purges WHERE device_id = ? AND case_id = ?",
            (device["id"], case_id),
        )
        if row is None:
            return
        db = self._db(case_id)
        with self.heads.writing(case_id, []):  # its documents are indexed already
            tombstones.resurrect(db)
        with self.site.directory.transaction() as con:
            con.execute(
                "DELETE FROM device_purges WHERE device_id = ? AND case_id = ?",
                (device["id"], case_id),
            )

    # ------------------------------------------------------------ reads

    def _route(self, device: dict, doc_ids: list[str]) -> dict[str, str]:
        """doc id → case id, for documents in the worker's cases today."""
        assigned = set(self.assigned(device))
        return {d: c for d, c in self.heads.case_of(doc_ids).items() if c in assigned}

    def revs_diff(self, device: dict, revs: dict[str, list[str]]) -> dict:
        """Which revisions the server lacks.

        Documents of the worker's cases, and of cases this device held before, are
        compared with their case database even when the case is no longer the worker's:
        a device must not re-send what it only received (it would be refused and
        needlessly quarantined); only new work is 'missing', and then refused or
        accepted on push. Any other document is answered exactly as one that does not
        exist (every revision missing), whatever its case holds: the answer never tells
        a device what other cases contain.
        """
        known = self.heads.case_of(list(revs))
        assigned = set(self.assigned(device))
        held = self._held_before(device, set(known.values()) - assigned)
        rings = self.site.keyrings.by_doc_ids(device["id"], list(revs))
        events = self.views.known_revs(device, list(revs))  # access events it pushed
        by_case: dict[str, dict] = defaultdict(dict)
        out = {}
        for doc_id, wanted in revs.items():
            if doc_id in rings or doc_id in events:
                have = rings[doc_id]["rev"] if doc_id in rings else events[doc_id]
                missing = [r for r in wanted if r != have]
                if missing:
                    out[doc_id] = {"missing": missing}
            elif known.get(doc_id) in assigned or known.get(doc_id) in held:
                by_case[known[doc_id]][doc_id] = wanted
            else:
                out[doc_id] = {"missing": list(dict.fromkeys(wanted))}
        for case_id, part in by_case.items():
            try:
                out.update(self._db(case_id).revs_diff(part))
            except NotFound:
                out.update({d: {"missing": list(dict.fromkeys(w))} for d, w in part.items()})
        lost = {d: known[d] for d in out if known.get(d) in held}
        self._forget_purged_tombstones(out, lost)
        return out

    def _held_before(self, device: dict, case_ids: set[str]) -> set[str]:
        """Which of `case_ids` this device held: it was delivered or pushed documents of
        them (the access log names the device), or the gateway purged them from it."""
        ids, held = sorted(case_ids), set()
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            rows = self.site.directory.query(
                f"SELECT case_id FROM access_log WHERE device_id = ? AND case_id IN ({marks})"
                " UNION SELECT case_id FROM device_purges"
                f" WHERE device_id = ? AND case_id IN ({marks})",
                (device["id"], *chunk, device["id"], *chunk),
            )
            held.update(row["case_id"] for row in rows)
        return held

    def _forget_purged_tombstones(self, diff: dict, lost: dict[str, str]) -> None:
        """Deletions the gateway made up for a purged case are not 'missing' here.

        `lost` maps the documents of cases the worker no longer has to their case."""
        for doc_id, case_id in lost.items():
            try:
                db = self._db(case_id)
                made_up = {
                    tombstones.tombstone_rev(leaf["_rev"])
                    for leaf in tombstones.live_leaves(db, doc_id)
                }
            except NotFound:  # an outage is an error: never ask for made-up deletions
                continue
            missing = [r for r in diff[doc_id]["missing"] if r not in made_up]
            if missing:
                diff[doc_id]["missing"] = missing
            else:
                del diff[doc_id]

    def bulk_get(self, device: dict, requests: list[dict], revs: bool = True) -> dict:
        """One store `_bulk_get` per case, not per document: a pull of thousands of
        documents costs a few store calls per batch."""
        ids = [r.get("id") for r in requests if isinstance(r, dict)]
        routed = self._route(device, [i for i in ids if isinstance(i, str)])
        others = self.heads.case_of([i for i in ids if isinstance(i, str) and i not in routed])
        held = self._held_before(device, set(others.values()))  # only its own purged cases
        purged = {doc_id: case for doc_id, case in others.items() if case in held}
        rings = self.site.keyrings.by_doc_ids(device["id"], [i for i in ids if i not in routed])
        fetched = self._fetch_by_case(requests, routed, revs)
        results, delivered = [], defaultdict(list)
        for index, request in enumerate(requests):
            doc_id = request.get("id") if isinstance(request, dict) else None
            rev = request.get("rev") if isinstance(request, dict) else None
            if index in fetched:
                entry = fetched[index]
                if "ok" in entry:
                    delivered[routed[doc_id]].append(doc_id)
            else:
                entry = self._get_other(doc_id, rev, revs, rings, purged)
            results.append({"id": doc_id, "docs": [entry]})
        self._deliver(device, delivered)
        return {"results": results}

    def _fetch_by_case(self, requests: list, routed: dict, revs: bool) -> dict[int, dict]:
        """Entries of the requests that name documents of the worker's cases."""
        by_case: dict[str, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            if isinstance(request, dict) and request.get("id") in routed:
                by_case[routed[request["id"]]].append(index)
        out = {}
        for case_id, indexes in by_case.items():
            asks = [
                {
                    "id": requests[i]["id"],
                    **({"rev": requests[i]["rev"]} if requests[i].get("rev") else {}),
                }
                for i in indexes
            ]
            answer = self._db(case_id).bulk_get(asks, revs=revs)["results"]
            out.update((i, result["docs"][0]) for i, result in zip(indexes, answer, strict=True))
        return out

    def _get_other(self, doc_id, rev, revs, rings: dict, purged: dict) -> dict:
        """A keyring, a made-up deletion of a purged case's document, or not found."""
        if isinstance(doc_id, str) and doc_id in rings:
            entry = self._keyring_entry(rings[doc_id], rev, revs)
            if entry:
                return entry
        if isinstance(doc_id, str) and doc_id in purged and rev:
            found = tombstones.find(self._db(purged[doc_id]), doc_id, rev)
            if found:
                return {"ok": found}
        return {"error": {"id": doc_id, "rev": rev, "error": "not_found", "reason": "missing"}}

    @staticmethod
    def _keyring_entry(ring: dict, rev: str | None, revs: bool) -> dict | None:
        if rev not in (None, ring["rev"]):
            return None
        doc = json.loads(ring["doc"])
        if revs:
            ids = json.loads(ring["revisions"])
            doc["_revisions"] = {"start": int(ring["rev"].split("-")[0]), "ids": ids}
        return {"ok": doc}

    def get(self, device: dict, doc_id: str, rev=None, revs=False, open_revs=None) -> object:
        """GET /db/doc: one revision, or with `open_revs` several in one `_bulk_get`."""
        if open_revs is None:
            request = {"id": doc_id, **({"rev": rev} if rev else {})}
            entry = self.bulk_get(device, [request], revs)["results"][0]["docs"][0]
            if "error" in entry:
                raise NotFound(entry["error"]["reason"])
            return entry["ok"]
        leaves = self._leaves(device, doc_id) if open_revs == "all" else list(open_revs)
        found = self.bulk_get(device, [{"id": doc_id, "rev": leaf} for leaf in leaves], revs)
        return [
            {"ok": result["docs"][0]["ok"]} if "ok" in result["docs"][0] else {"missing": leaf}
            for leaf, result in zip(leaves, found["results"], strict=True)
        ]

    def _leaves(self, device: dict, doc_id: str) -> list[str]:
        ring = self.site.keyrings.by_doc_id(device["id"], doc_id)
        if ring is not None:
            return [ring["rev"]]
        routed = self._route(device, [doc_id])
        if doc_id not in routed:
            raise NotFound("missing")
        leaves = self._db(routed[doc_id]).get(doc_id, open_revs="all")
        return [leaf["ok"]["_rev"] for leaf in leaves if "ok" in leaf]

    # ------------------------------------------------------------ push

    def bulk_docs(self, device: dict, docs: list, new_edits: bool = True) -> list[dict]:
        assigned = set(self.assigned(device))
        ids = [d["_id"] for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)]
        checker = PushChecker(
            assigned,
            self.heads.case_of(ids),
            self.site.keys.lookup,
            self._parent_plaintext,
            device["worker_id"],
        )
        results: list[dict | None] = [None] * len(docs)
        accepted: dict[str, list[Accepted]] = defaultdict(list)
        recorded = self.views.recorded(ids)
        views: list[tuple[int, dict]] = []  # access events: after the documents they name
        for position, doc in enumerate(docs):
            if self.views.concerns(doc, recorded):
                views.append((position, doc))
                continue
            try:
                item = checker.check(position, doc, new_edits)
                accepted[item.case_id].append(item)
            except Rejected as exc:
                results[position] = rejection(
                    doc.get("_id") if isinstance(doc, dict) else None, exc
                )
                if exc.code in QUARANTINED:
                    self.site.quarantine.hold(device["id"], device["worker_id"], doc, exc.code)
        for case_id, items in accepted.items():
            self._write_case(device, case_id, items, new_edits, results)
        self.views.push(device, views, checker, new_edits, recorded, results)
        if new_edits:
            return results
        return [r for r in results if r and "error" in r]

    def _write_case(self, device, case_id, items: list[Accepted], new_edits, results) -> None:
        """Store one case's accepted documents, in the order that makes a kill at any
        point harmless (docs/adr/012-index-before-store.md): the documents are indexed
        (and replicated deletions' authors noted) before the store write, the case's
        head moves after it."""
        db = self._db(case_id)
        worker, device_id = device["worker_id"], device["id"]
        if not new_edits:  # the revisions are known before the write
            self.site.deletions.record(case_id, worker, device_id, _deletions(items))
        with self.heads.writing(case_id, [i.envelope["_id"] for i in items]) as write:
            faults.crash_point("index_write")
            written = db.bulk_docs([i.envelope for i in items], new_edits=new_edits)
            faults.crash_point("store_write")
            ok_ids, finals, deleted = self._outcome(case_id, items, written, results, write)
        if not ok_ids:
            return
        if new_edits:
            self.site.deletions.record(case_id, worker, device_id, deleted)
        self.access(device, case_id, ok_ids, "push")
        self._merge_after_push(device, case_id, ok_ids, finals)

    def _outcome(self, case_id, items, written, results, write) -> tuple[list, list, dict]:
        """Fill in the results of a case's write: ids stored, final notes edited, and
        deletions by rev; the reconciliation and note indexes follow what was stored."""
        ok_ids, finals, deleted, seen = [], [], {}, []
        for item, result in zip(items, written, strict=True):
            results[item.index] = _as_denial(result)
            if "error" in result:
                continue
            ok_ids.append(item.envelope["_id"])
            write.visits.update(item.visits)
            if item.plaintext is None:
                deleted[item.envelope["_id"]] = result.get("rev") or item.envelope["_rev"]
            else:
                self.site.reconciliation.note(case_id, item.plaintext)
                seen.append(item.plaintext)
            if item.final_parent is not None:
                finals.append((item, result.get("rev") or item.envelope["_rev"]))
        self.site.notes.forget(case_id, deleted)
        self.site.notes.note(case_id, seen)
        return ok_ids, finals, deleted

    def _merge_after_push(self, device, case_id: str, ok_ids: list[str], finals) -> None:
        """Resolve what this push made conflicting; amend final notes it edited.

        The push itself is stored whatever happens here: a merge that cannot be
        written — refused, or the store went away meanwhile — leaves the conflict as it
        was (nothing lost), the push is answered as stored, and the merge is retried by
        the next push of the document or by `sopu merge sweep`."""
        merged = []
        for item, rev in finals:
            doc_id = item.envelope["_id"]
            if self._merging(case_id, doc_id, self._restore, case_id, item, rev):
                merged.append(doc_id)
        try:
            conflicted = self.resolver.conflicted(case_id, ok_ids)
        except StoreError as exc:
            self._merge_failed(case_id, "*", exc)
            conflicted = []
        for doc_id in conflicted:
            if self._merging(case_id, doc_id, self.resolver.resolve, case_id, doc_id):
                merged.append(doc_id)
        if merged:
            self.access(device, case_id, merged, "merge")

    def _restore(self, case_id: str, item: Accepted, rev: str):
        doc_id = item.envelope["_id"]
        path = self._db(case_id).get(doc_id, rev=rev, revs=True)["_revisions"]
        return self.resolver.restore_final(
            case_id, doc_id, item.final_parent, item.plaintext, rev, path
        )

    def _merging(self, case_id: str, doc_id: str, step, *args) -> bool:
        try:
            return step(*args) is not None
        except (MergeError, MergeNotStored, DocumentInvalid, CryptoError, StoreError) as exc:
            self._merge_failed(case_id, doc_id, exc)
            return False

    def _merge_failed(self, case_id: str, doc_id: str, exc: Exception) -> None:
        log.error("could not merge %s in case %s: %s", doc_id, case_id, type(exc).__name__)
        self.site.audit.record(
            "gateway", "merge.failed", case_id, {"doc_id": doc_id, "error": type(exc).__name__}
        )

    def _parent_plaintext(self, case_id: str, doc_id: str, rev: str) -> dict | None:
        envelope = self._db(case_id).archived(doc_id, rev)
        if envelope is None or envelope.get("_deleted"):
            return None
        try:
            return open_envelope(envelope, self.site.keys.lookup)
        except CryptoError:
            return None

    # ------------------------------------------------------------ _local

    def get_local(self, device: dict, local_id: str) -> dict:
        row = self.site.directory.one(
            "SELECT rev, body FROM sync_local WHERE device_id = ? AND local_id = ?",
            (device["id"], local_id),
        )
        if row is None:
            raise NotFound("missing")
        return {"_id": f"_local/{local_id}", "_rev": f"0-{row['rev']}", **json.loads(row["body"])}

    def put_local(self, device: dict, local_id: str, doc: dict) -> dict:
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        # A checkpoint: one small write, not durable. A power cut may lose the last
        # ones; the replicator then finds its two checkpoints disagree and goes back to
        # the last one both hold (or to 0), and `_revs_diff` skips what is there.
        with self.site.directory.grouped(durable=False) as con:
            row = con.execute(
                "SELECT rev FROM sync_local WHERE device_id = ? AND local_id = ?",
                (device["id"], local_id),
            ).fetchone()
            if row is None:
                _room_for_local(con, device["id"])
            rev = (row[0] if row else 0) + 1
            con.execute(
                upsert("sync_local", ("device_id", "local_id", "rev", "body"), LOCAL_KEY),
                (device["id"], local_id, rev, json.dumps(body)),
            )
        return {"ok": True, "id": f"_local/{local_id}", "rev": f"0-{rev}"}

    def delete_local(self, device: dict, local_id: str) -> dict:
        with self.site.directory.transaction() as con:
            cursor = con.execute(
                "DELETE FROM sync_local WHERE device_id = ? AND local_id = ?",
                (device["id"], local_id),
            )
        if cursor.rowcount == 0:
            raise NotFound("missing")
        return {"ok": True, "id": f"_local/{local_id}", "rev": "0-0"}


def _room_for_local(con, device_id: str) -> None:
    """TooManyLocalDocuments when the device keeps `MAX_LOCAL_DOCUMENTS` already: the
    directory is no place for any number of a device's own documents."""
    (count,) = con.execute(
        "SELECT COUNT(*) FROM sync_local WHERE device_id = ?", (device_id,)
    ).fetchone()
    if count >= MAX_LOCAL_DOCUMENTS:
        raise TooManyLocalDocuments(
            f"this device keeps {MAX_LOCAL_DOCUMENTS} _local documents already;"
            " delete one before writing another",
            limit=MAX_LOCAL_DOCUMENTS,
        )


def _deletions(items: list[Accepted]) -> dict[str, str]:
    """`{doc id: rev}` of the replicated deletions among `items`."""
    return {
        i.envelope["_id"]: i.envelope["_rev"]
        for i in items
        if i.plaintext is None and isinstance(i.envelope.get("_rev"), str)
    }


def _as_denial(result: dict) -> dict:
    """A store's refusal as a denial PouchDB records and goes on from (conflicts stay)."""
    if "error" not in result or result["error"] == "conflict":
        return result
    return rejection(result.get("id"), Rejected(result["error"], result.get("reason", "")))


class _Response:
    """Collects results, the steps each result stands for, and what is left to do."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.results: list[dict] = []
        self.steps: list[list] = []
        self.tail: list[list] = []
        self.incomplete: set[str] = set()
        self.delivered: dict[str, list[str]] = defaultdict(list)

    def add(self, change: dict, steps: list[list]) -> None:
        self.results.append(change)
        self.steps.append(steps)

    def close_with(self, step: list) -> None:
        """Attach a step to the last result (or to the end if there is none)."""
        if self.steps:
            self.steps[-1].append(step)
        else:
            self.tail.append(step)

    def full(self) -> bool:
        return self.limit is not None and len(self.results) >= self.limit

    def room(self) -> int | None:
        return None if self.limit is None else max(self.limit - len(self.results), 0)
