"""The field work a device does: write, edit, finalise, delete and acknowledge documents.

What a field app does to a worker's documents, on the reference device
(`sync.device.Device`): every revision is stamped with the worker and the time,
validated against the wire contract and sealed on the device; nothing leaves it until
it pushes. `sopu device`, `sopu demo` and `sopu simulate` all work through these, so
the simulator exercises the same code a trainer types by hand. Edits address fields
with `mobile_schema.paths`, the form reconciliation items name them in, so a worker can
fix exactly what an item names. Nothing here logs plaintext.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from mobile_schema import CURRENT_VERSION
from mobile_schema import paths as p
from mobile_schema.base import is_open, open_items
from sync.crypto import KeyUnavailable
from sync.device import ACCESS_EVENT, Device
from sync.store import NotFound

from .demo_data import new_id

IDENTITY = ("_id", "type", "case_id")  # where a document lives: never changes
ORIGIN = ("created_at", "created_by")  # who first wrote it: kept from the first revision
STAMPS = ("schema_version", "updated_at", "updated_by")  # every revision's, set here
WRITTEN_BY_DEVICE = frozenset({*IDENTITY, *ORIGIN, *STAMPS, "_rev"})
CASE_DOCUMENT_TYPES = ("plan", "assessment", "visit", "note", "consent")

Edit = tuple[str, str, object]  # ("set", path, value) | ("append", path, item) | ("remove", ...)


class FieldWorkError(Exception):
    """A device operation that makes no sense (e.g. editing a final note)."""


# ---------------------------------------------------------------- stamps and storing


def stamp(when: datetime | None = None) -> str:
    """An RFC 3339 UTC time with seconds, as the wire contract wants it."""
    when = when or datetime.now(UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def worker_of(device: Device) -> str:
    return device.state()["worker_id"]


def _stamped(device: Device, doc: dict, at: str | None, created: bool = False) -> dict:
    at = at or stamp()
    by = worker_of(device)
    doc.update(schema_version=CURRENT_VERSION, updated_at=at, updated_by=by)
    if created:
        doc.update(created_at=at, created_by=by)
    return doc


def _store(device: Device, doc: dict, case_id: str) -> dict:
    """Seal and store locally; the doc comes back with its new `_rev`."""
    result = device.write(doc, case_id)
    if not result.get("ok"):
        raise FieldWorkError(f"{doc['_id']}: {result.get('error')}: {result.get('reason')}")
    return doc | {"_rev": result["rev"]}


def case_of(device: Device, doc_id: str) -> str:
    """The case a local document belongs to (from its envelope's routing fields)."""
    return device.db.get(doc_id)["case_id"]


def _on_device(device: Device, doc_id: str) -> bool:
    try:
        device.db.get(doc_id)
    except NotFound:
        return False
    return True


def _is_final_note(doc: dict) -> bool:
    return doc.get("type") == "note" and doc.get("state") == "final"


def _editable(device: Device, doc_id: str) -> dict:
    """The device's current version of a document that may still change."""
    doc = device.read(doc_id)
    if _is_final_note(doc):
        raise FieldWorkError(f"note {doc_id} is final and cannot change (write an amendment)")
    return doc


# ---------------------------------------------------------------- writing


def new_note(
    device: Device,
    case_id: str,
    text: str,
    visit_id: str | None = None,
    at: str | None = None,
    doc_id: str | None = None,
    client_view: str | None = None,
) -> dict:
    """A draft note written with the client, stored on the device."""
    doc = {
        "_id": doc_id or new_id(),
        "type": "note",
        "case_id": case_id,
        "kind": "entry",
        "occurred_at": at or stamp(),
        "discussion": text,
        "written_with_client": True,
        "state": "draft",
    }
    if visit_id:
        doc["visit_id"] = visit_id
    if client_view:
        doc["client_view"] = client_view
    return _store(device, _stamped(device, doc, at, created=True), case_id)


def new_visit(
    device: Device,
    case_id: str,
    kind: str,
    starts_at: str,
    with_workers: tuple[str, ...] = (),
    at: str | None = None,
) -> dict:
    """A planned visit with the device's worker (and any pair workers) as participants."""
    workers = dict.fromkeys((worker_of(device), *with_workers))
    doc = {
        "_id": new_id(),
        "type": "visit",
        "case_id": case_id,
        "kind": kind,
        "status": "planned",
        "starts_at": starts_at,
        "participants": [{"id": new_id(), "kind": "worker", "worker_id": w} for w in workers],
    }
    return _store(device, _stamped(device, doc, at, created=True), case_id)


def new_document(
    device: Device, case_id: str, doc_type: str, body: dict, at: str | None = None
) -> dict:
    """Any document a worker writes in a case, from its fields (`body`, e.g. read from a
    file); the device adds id, type, case and stamps, so a body holds only content."""
    if doc_type not in CASE_DOCUMENT_TYPES:
        kinds = ", ".join(CASE_DOCUMENT_TYPES)
        raise FieldWorkError(f"a device writes {kinds} documents in a case, not {doc_type!r}")
    if not isinstance(body, dict):
        raise FieldWorkError(f"a new {doc_type} is a JSON object of its fields")
    _same_place(f"the new {doc_type}", body, {"type": doc_type, "case_id": case_id})
    doc_id = body.get("_id") or new_id()
    if _on_device(device, doc_id):
        raise FieldWorkError(f"{doc_id}: a document with this id is already on this device")
    content = {k: v for k, v in body.items() if k not in WRITTEN_BY_DEVICE}
    doc = {"_id": doc_id, "type": doc_type, "case_id": case_id, **content}
    return _store(device, _stamped(device, doc, at, created=True), case_id)


# ---------------------------------------------------------------- changing


def change(device: Device, doc_id: str, update: Callable[[dict], None], at=None) -> dict:
    """Apply `update` to the device's current version of a document and store it."""
    doc = _editable(device, doc_id)
    update(doc)
    return _store(device, _stamped(device, doc, at), case_of(device, doc_id))


def edit(device: Device, doc_id: str, edits: Iterable[Edit], at: str | None = None) -> dict:
    """Apply `edits` (set, append, remove by path) as one new revision: what a field
    app's form does when the worker saves, whichever fields they touched."""
    edits = list(edits)
    doc = _editable(device, doc_id)
    for _op, path, _value in edits:
        _check_editable(doc_id, path)
    doc = apply_edits(doc, edits, doc_id)
    return _store(device, _stamped(device, doc, at), case_of(device, doc_id))


def apply_edits(doc: dict, edits: Iterable[Edit], label: str) -> dict:
    """`doc` with `edits` applied in order (pure); a bad path names `label` (the doc)."""
    for op, path, value in edits:
        if op not in _OPERATIONS:
            raise FieldWorkError(f"{label}: unknown edit {op!r} (set, append or remove)")
        try:
            doc = _OPERATIONS[op](doc, path, value)
        except p.PathError as exc:
            raise FieldWorkError(f"{label}: {exc}") from None
    return doc


_OPERATIONS = {
    "set": p.set_value,
    "append": p.append,
    "remove": lambda doc, path, _value: p.remove(doc, path),
}


def _check_editable(doc_id: str, path: str) -> None:
    """Identity and stamps belong to the device, not to the worker's edit."""
    try:
        parts = p.segments(path)
    except p.PathError as exc:
        raise FieldWorkError(f"{doc_id}: {exc}") from None
    if not parts:
        raise FieldWorkError(f"{doc_id}: {p.WHOLE}: name a field (or replace the whole content)")
    if parts[0] in WRITTEN_BY_DEVICE:
        raise FieldWorkError(f"{doc_id}: /{parts[0]}: written by the device, never edited")


def replace(device: Device, doc_id: str, body: dict, at: str | None = None) -> dict:
    """The document's content replaced by `body` (e.g. `sopu device show` output, edited
    in a file). It stays the same document: id, type, case and first author are kept."""
    stored = _editable(device, doc_id)
    if not isinstance(body, dict):
        raise FieldWorkError(f"{doc_id}: the new content must be a JSON object")
    why = "; _id, type and case_id never change (write a new document instead)"
    _same_place(doc_id, body, {k: stored.get(k) for k in IDENTITY}, why)
    content = {k: v for k, v in body.items() if k not in WRITTEN_BY_DEVICE}
    kept = {k: stored[k] for k in (*IDENTITY, *ORIGIN, "_rev") if k in stored}
    return _store(device, _stamped(device, content | kept, at), case_of(device, doc_id))


def _same_place(label: str, body: dict, place: dict, why: str = "") -> None:
    """Refuse a body that names another id, type or case than where it is written."""
    for key, value in place.items():
        if key in body and body[key] != value:
            raise FieldWorkError(
                f"{label}: the content names {key} {body[key]!r}, not {value!r}{why}"
            )


def finalise(device: Device, note_id: str, at: str | None = None) -> dict:
    """Finalise a draft note: from now on it never changes."""
    at = at or stamp()
    by = worker_of(device)

    def final(doc: dict) -> None:
        if doc.get("type") != "note":
            raise FieldWorkError(f"{note_id} is a {doc.get('type')}, not a note")
        doc.update(state="final", finalised_by=by, finalised_at=at)

    return change(device, note_id, final, at)


def delete(device: Device, doc_id: str) -> dict:
    """Delete a document on the device (the deletion travels at the next push). A final
    note is part of the client's record: it is corrected by an amendment, never deleted."""
    if _is_final_note(device.read(doc_id)):
        raise FieldWorkError(f"note {doc_id}: a final note cannot be deleted; write an amendment")
    result = device.delete(doc_id)
    if not result.get("ok"):
        raise FieldWorkError(f"{doc_id}: {result.get('error')}: {result.get('reason')}")
    return result


# ---------------------------------------------------------------- reconciliation


def acknowledge(
    device: Device, doc_id: str, item_ids: Iterable[str] | None = None, at: str | None = None
) -> dict:
    """Acknowledge open reconciliation items (all, or those `item_ids` name, by id or
    unique prefix) in this worker's name. The document is not restamped: its content
    and stamps stay as they are, which is why this works on a final note too."""
    doc = device.read(doc_id)
    chosen = _chosen_items(doc, doc_id, item_ids)
    ack = {"by": worker_of(device), "at": at or stamp()}
    for item in chosen:
        item.setdefault("acknowledged", []).append({"id": new_id(), **ack})
    return _store(device, doc, case_of(device, doc_id))


def _chosen_items(doc: dict, doc_id: str, wanted: Iterable[str] | None) -> list[dict]:
    if not open_items(doc):
        raise FieldWorkError(f"nothing to acknowledge on {doc_id}")
    if wanted is None:
        return open_items(doc)
    chosen = [_item(doc, doc_id, w) for w in dict.fromkeys(wanted)]
    return list({id(i): i for i in chosen}.values())


def _item(doc: dict, doc_id: str, wanted: str) -> dict:
    """The reconciliation item `wanted` (an id or its first characters) names."""
    items = [i for i in doc.get("reconciliation") or [] if isinstance(i, dict)]
    found = [i for i in items if i.get("id") == wanted] or [
        i for i in items if wanted and str(i.get("id", "")).startswith(wanted)
    ]
    if not found:
        raise FieldWorkError(f"{doc_id}: no reconciliation item {wanted}")
    if len(found) > 1:
        listed = ", ".join(str(i.get("id"))[:8] for i in found[:5])
        raise FieldWorkError(f"{doc_id}: reconciliation item {wanted} is ambiguous: {listed}")
    if not is_open(found[0]):
        raise FieldWorkError(f"{doc_id}: reconciliation item {wanted} is already acknowledged")
    return found[0]


# ---------------------------------------------------------------- reading


def case_documents(device: Device) -> dict[str, list[dict]]:
    """Every client document on the device that it can open, by case (not the device's
    own access events, which record views of them)."""
    out: dict[str, list[dict]] = defaultdict(list)
    for row in device.db.all_docs(include_docs=True)["rows"]:
        envelope = row["doc"]
        if "ciphertext" not in envelope or envelope.get("doc_type") == ACCESS_EVENT:
            continue
        with contextlib.suppress(KeyUnavailable):
            out[envelope["case_id"]].append(device.read(row["id"]))
    return dict(out)


def local_conflicts(device: Device, doc_id: str) -> list[str]:
    """Other leaf revisions of a document on this device (not yet merged by the server)."""
    return device.db.get(doc_id, conflicts=True).get("_conflicts", [])
