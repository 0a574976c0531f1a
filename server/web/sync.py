"""`/sync/<db>`: the CouchDB endpoints PouchDB and the CouchDB replicator use.

`<db>` is the worker's id; a device may open only its own worker's database (any other
name is 404, as CouchDB answers for a database that does not exist). Shapes and status
codes follow CouchDB; the work is in `server.gateway`.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from sync.store import NotFound

from ..errors import DeviceRevoked, InvalidInput
from ..gateway.gateway import Gateway
from .context import device, site

bp = Blueprint("sync", __name__, url_prefix="/sync")
MAX_LONGPOLL = 60.0


def gateway() -> Gateway:
    return current_app.extensions["sopu.gateway"]


def _own(db: str) -> dict:
    current = device()
    if db != current["worker_id"]:
        raise NotFound("Database does not exist.")
    return current


def _flag(name: str) -> bool:
    return request.args.get(name, "false").lower() in ("true", "1")


def _json_arg(name: str):
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw == "all":
        return "all"
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidInput(f'{name} must be JSON or "all"') from None


def _body() -> object:
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise InvalidInput("invalid UTF-8 JSON request body")
    return data


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
    options = {
        "since": request.args.get("since", 0),
        "limit": int(request.args["limit"]) if "limit" in request.args else None,
        "style": request.args.get("style", "main_only"),
        "include_docs": _flag("include_docs"),
    }
    if options["style"] not in ("main_only", "all_docs"):
        raise InvalidInput("style must be main_only or all_docs")
    if request.args.get("feed") in ("longpoll", "continuous"):
        return _longpoll(current, options)
    return jsonify(gateway().changes(current, **options))


def _longpoll(current: dict, options: dict) -> Response:
    """Wait for a change (or `timeout` ms, at most 60 s), sending `heartbeat` newlines."""
    timeout = min(float(request.args.get("timeout", 60000)) / 1000, MAX_LONGPOLL)
    heartbeat = float(request.args.get("heartbeat", 0)) / 1000 or None
    first = gateway().changes(current, **options)
    if first["results"]:
        return jsonify(first)
    app = current_app._get_current_object()

    def stream():
        deadline, beat = time.monotonic() + timeout, time.monotonic()
        result = first
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with app.app_context():
                result = gateway().changes(current, **options)
            if result["results"]:
                break
            if heartbeat and time.monotonic() - beat >= heartbeat:
                beat = time.monotonic()
                yield "\n"
        yield json.dumps(result) + "\n"

    return Response(stream_with_context(stream()), mimetype="application/json")


@bp.post("/<db>/_revs_diff")
def revs_diff(db: str):
    body = _body()
    if not isinstance(body, dict):
        raise InvalidInput("_revs_diff takes {doc id: [revs]}")
    return jsonify(gateway().revs_diff(_own(db), body))


@bp.post("/<db>/_bulk_get")
def bulk_get(db: str):
    body = _body()
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise InvalidInput('_bulk_get takes {"docs": [{"id", "rev"?}]}')
    return jsonify(gateway().bulk_get(_own(db), body["docs"], _flag("revs")))


@bp.post("/<db>/_bulk_docs")
def bulk_docs(db: str):
    body = _body()
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise InvalidInput('_bulk_docs takes {"docs": [...]}')
    try:
        current = _own(db)
    except DeviceRevoked as exc:
        _quarantine(exc, body["docs"])
        raise
    new_edits = body.get("new_edits", True) is not False
    results = gateway().bulk_docs(current, body["docs"], new_edits)
    return jsonify(results), 201


def _quarantine(exc: DeviceRevoked, docs: list) -> None:
    """A revoked device's push is kept for a supervisor, never dropped."""
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
    body = _body()
    if not isinstance(body, dict):
        raise InvalidInput("a _local document is a JSON object")
    return jsonify(gateway().put_local(_own(db), local_id, body)), 201


@bp.delete("/<db>/_local/<path:local_id>")
def delete_local(db: str, local_id: str):
    return jsonify(gateway().delete_local(_own(db), local_id))


@bp.get("/<db>/<doc_id>")
def get_doc(db: str, doc_id: str):
    current = _own(db)
    doc = gateway().get(
        current,
        doc_id,
        rev=request.args.get("rev"),
        revs=_flag("revs"),
        open_revs=_json_arg("open_revs"),
    )
    return jsonify(doc)


@bp.delete("/<db>/<doc_id>")
def delete_doc(db: str, doc_id: str):
    """DELETE /db/doc?rev=: a deletion, answered as CouchDB does (200 with the new rev)."""
    if "rev" not in request.args:
        raise InvalidInput("DELETE needs ?rev= naming the revision to delete")
    body = {"_id": doc_id, "_rev": request.args["rev"], "_deleted": True}
    [result] = gateway().bulk_docs(_own(db), [body], new_edits=True)
    return _written(result, 200)


@bp.put("/<db>/<doc_id>")
def put_doc(db: str, doc_id: str):
    body = _body()
    if not isinstance(body, dict):
        raise InvalidInput("a document is a JSON object")
    body["_id"] = doc_id
    if "rev" in request.args:
        body["_rev"] = request.args["rev"]
    [result] = gateway().bulk_docs(_own(db), [body], new_edits=True)
    return _written(result, 201)


def _written(result: dict, status: int):
    """One document's write result, with CouchDB's status for a refusal."""
    if "error" in result:
        status = {"conflict": 409, "document_too_large": 413}.get(
            result["error"] if result["error"] == "conflict" else result.get("code"), 403
        )
    return jsonify(result), status
