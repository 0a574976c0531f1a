"""`/sync/<db>`: the CouchDB endpoints PouchDB and the CouchDB replicator use.

`<db>` is the worker's id; a device may open only its own worker's database (any other
name is 404, as CouchDB answers for a database that does not exist). Shapes and status
codes follow CouchDB; the work is in `server.gateway`. The device is authenticated
first; then every query parameter and body goes through `sync_input`, so the gateway
sees only well-typed, bounded values.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from sync.store import NotFound

from .. import metrics
from ..errors import DeviceRevoked, InvalidInput, RequestTooLarge
from ..gateway.gateway import Gateway
from ..gateway.live_feeds import STREAM_TYPES, wipe_line
from . import sync_input
from .context import device, site
from .hygiene import read_body
from .json_body import parse_json
from .sync_input import ChangesOptions

bp = Blueprint("sync", __name__, url_prefix="/sync")


def gateway() -> Gateway:
    return current_app.extensions["sopu.gateway"]


def _own(db: str) -> dict:
    current = device()
    if db != current["worker_id"]:
        raise NotFound("Database does not exist.")
    site().devices.mark_synced(current)
    return current


def _body() -> object:
    """The JSON body, strictly parsed (`json_body`); 413 past `max_request_size`."""
    return parse_json(read_body())


@bp.route("/<db>", methods=["GET", "HEAD"], strict_slashes=False)
def info(db: str):
    return jsonify(gateway().info(_own(db), db))


@bp.put("/<db>", strict_slashes=False)
def create(db: str):
    _own(db)
    return jsonify({"error": "file_exists", "reason": "The database already exists."}), 412


@bp.route("/<db>/_changes", methods=["GET", "POST"])
def changes(db: str):
    current = _own(db)
    options = sync_input.changes_options(request.args)
    if options.feed in ("longpoll", "continuous", "eventsource"):
        return _longpoll(current, options)
    return jsonify(_counted(gateway().changes(current, **options.gateway_options())))


def _counted(changes: dict) -> dict:
    """Count the documents a `_changes` answer carries (`include_docs`)."""
    metrics.DELIVERED.inc(sum(1 for row in changes["results"] if "doc" in row))
    return changes


def _longpoll(current: dict, changes: ChangesOptions) -> Response:
    """Wait for a change (or `timeout` ms, at most 60 s), sending `heartbeat` newlines;
    a waiting feed holds a place among this process's live feeds (`live_feeds`: 503
    `too_many_live_feeds` when they are taken) until it answers or the device goes."""
    options = changes.gateway_options()
    before = gateway().heads.current()
    first = gateway().changes(current, **options)
    if first["results"] and changes.feed == "longpoll":
        return jsonify(_counted(first))
    current_app.extensions["sopu.feed_watcher"].ensure_running()
    feeds = current_app.extensions["sopu.live_feeds"]
    holding = feeds.hold(current["id"], gateway().assigned(current))
    waiting = holding.__enter__()
    if gateway().heads.current() != before:  # a write landed before the watcher knew us
        waiting.woken.set()
    wait = _Wait(current_app._get_current_object(), current, options, waiting, first, changes)
    mimetype = STREAM_TYPES.get(changes.feed, "application/json")
    response = Response(stream_with_context(wait.stream()), mimetype=mimetype)
    response.call_on_close(lambda: holding.__exit__(None, None, None))
    return response


class _Wait:
    """One waiting feed: sleeps until the process's feed watcher wakes it (a write
    to one of its cases, its keyring, its revocation, an assignment change) or a
    heartbeat is due, and runs the feed again only when woken. A revoked device's feed
    ends at once with the wipe answer; a newer feed of the same device ends this one
    with what it has.

    `longpoll` answers once, with the first changes (CouchDB's shape). `continuous`
    and `eventsource` send every change row as it comes (one JSON object per line, or
    `data:`/`id:` events) until the timeout, then `{"last_seq": …}`, as CouchDB does."""

    def __init__(self, app, current: dict, options: dict, waiting, first: dict, changes):
        self.app, self.current, self.options = app, current, dict(options)
        self.waiting, self.result, self.feed = waiting, first, changes.feed
        self.deadline = time.monotonic() + changes.timeout_ms / 1000
        self.heartbeat = changes.heartbeat_ms / 1000 if changes.heartbeat_ms else None

    def stream(self):
        beat = time.monotonic()
        if self.feed != "longpoll":
            yield from self._rows()
        while (left := self.deadline - time.monotonic()) > 0:
            if self.heartbeat:
                left = min(left, max(self.heartbeat - (time.monotonic() - beat), 0))
            if self.waiting.woken.wait(left):
                self.waiting.woken.clear()
                if self.waiting.superseded:
                    break
                with self.app.app_context():
                    if site().devices.get(self.current["id"])["revoked_at"]:
                        yield wipe_line()
                        return
                    self.result = gateway().changes(self.current, **self.options)
                if self.feed != "longpoll":
                    yield from self._rows()
                elif self.result["results"]:
                    break
            if self.heartbeat and time.monotonic() - beat >= self.heartbeat:
                beat = time.monotonic()
                yield "\n"
        if self.feed == "longpoll":
            yield json.dumps(_counted(self.result), allow_nan=False) + "\n"
        else:
            yield json.dumps({"last_seq": self.options["since"]}, allow_nan=False) + "\n"

    def _rows(self):
        """The rows of the last run of the feed, one line (or event) each; the next
        run starts after them."""
        for row in _counted(self.result)["results"]:
            line = json.dumps(row, allow_nan=False)
            yield (
                f"data: {line}\nid: {row['seq']}\n\n" if self.feed == "eventsource" else line + "\n"
            )
        self.options["since"] = self.result["last_seq"]
        self.result = {"results": [], "last_seq": self.result["last_seq"]}


@bp.post("/<db>/_revs_diff")
def revs_diff(db: str):
    current = _own(db)
    return jsonify(gateway().revs_diff(current, sync_input.revs_diff_body(_body())))


@bp.post("/<db>/_bulk_get")
def bulk_get(db: str):
    current = _own(db)
    asks = sync_input.bulk_get_body(_body())
    answer = gateway().bulk_get(current, asks, sync_input.flag(request.args, "revs"))
    metrics.DELIVERED.inc(sum("ok" in entry for r in answer["results"] for entry in r["docs"]))
    return jsonify(answer)


@bp.post("/<db>/_bulk_docs")
def bulk_docs(db: str):
    try:
        current = _own(db)
    except DeviceRevoked as exc:
        _quarantine(exc)
        raise
    docs, new_edits = sync_input.bulk_docs_body(_body())
    results = gateway().bulk_docs(current, docs, new_edits)
    _count_pushed(len(docs), results)
    return jsonify(results), 201


def _count_pushed(sent: int, results: list[dict]) -> None:
    """Refusals are in the results; with `new_edits=false` accepted ones are not."""
    refused = sum(1 for result in results if "error" in result)
    metrics.PUSHED.labels("accepted").inc(sent - refused)
    metrics.PUSHED.labels("refused").inc(refused)


def _quarantine(exc: DeviceRevoked) -> None:
    """A revoked device's push is kept for a supervisor, never dropped. A body that
    cannot be read keeps nothing, and the device still hears that it must wipe."""
    try:
        docs, _ = sync_input.bulk_docs_body(_body())
    except (InvalidInput, RequestTooLarge):
        return
    device_id = exc.details.get("device_id")
    owner = site().devices.get(device_id)["worker_id"] if device_id else None
    for doc in docs:
        if isinstance(doc, dict):
            site().quarantine.hold(device_id, owner, doc, "device_revoked")
    site().audit.record(
        device_id or "unknown", "push.quarantined", device_id or "unknown", {"documents": len(docs)}
    )


@bp.post("/<db>/_ensure_full_commit")
def ensure_full_commit(db: str):
    _own(db)
    return jsonify({"ok": True, "instance_start_time": "0"}), 201


@bp.get("/<db>/_local/<path:local_id>")
def get_local(db: str, local_id: str):
    return jsonify(gateway().get_local(_own(db), local_id))


@bp.put("/<db>/_local/<path:local_id>")
def put_local(db: str, local_id: str):
    current = _own(db)
    body = sync_input.local_body(_body())
    return jsonify(gateway().put_local(current, local_id, body)), 201


@bp.delete("/<db>/_local/<path:local_id>")
def delete_local(db: str, local_id: str):
    return jsonify(gateway().delete_local(_own(db), local_id))


@bp.get("/<db>/<doc_id>")
def get_doc(db: str, doc_id: str):
    current = _own(db)
    sync_input.flag(request.args, "latest")  # PouchDB sends it; leaves are the latest
    doc = gateway().get(
        current,
        doc_id,
        rev=sync_input.rev(request.args, doc_id),
        revs=sync_input.flag(request.args, "revs"),
        open_revs=sync_input.open_revs(request.args, doc_id),
    )
    return jsonify(doc)


@bp.delete("/<db>/<doc_id>")
def delete_doc(db: str, doc_id: str):
    """DELETE /db/doc?rev=: a deletion, answered as CouchDB does (200 with the new rev)."""
    current = _own(db)
    rev = sync_input.rev(request.args, doc_id)
    if rev is None:
        raise InvalidInput("DELETE needs ?rev= naming the revision to delete")
    body = {"_id": doc_id, "_rev": rev, "_deleted": True}
    [result] = gateway().bulk_docs(current, [body], new_edits=True)
    _count_pushed(1, [result])
    return _written(result, 200)


@bp.put("/<db>/<doc_id>")
def put_doc(db: str, doc_id: str):
    current = _own(db)
    body = sync_input.object_body(_body(), "a document")
    body["_id"] = doc_id
    rev = sync_input.rev(request.args, doc_id)
    if rev is not None:
        body["_rev"] = rev
    [result] = gateway().bulk_docs(current, [body], new_edits=True)
    _count_pushed(1, [result])
    return _written(result, 201)


def _written(result: dict, status: int):
    """One document's write result, with CouchDB's status for a refusal."""
    if "error" in result:
        status = {"conflict": 409, "document_too_large": 413}.get(
            result["error"] if result["error"] == "conflict" else result.get("code"), 403
        )
    return jsonify(result), status
