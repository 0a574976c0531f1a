"""Resolving a reconciliation item on the server, as a worker would on a device.

A worker who reconciles on the web (`/reconciliation`) chooses, per open item: keep the
earlier version, keep the later version, write the field's text themselves, or
acknowledge the item. Every choice but the last sets the field the item names
(`mobile_schema.paths`), removes the item and stamps the document with the worker and
now; an acknowledgement adds `{id, by, at}` to the item and changes nothing else
(docs/PROTOCOL.md), which is why it is the only choice on a final note and on items
about the whole document. The result is a new revision on top of the current winning
one, written through `Records.write` (validated, sealed with the case key, noted in the
sync heads), so both devices receive it at their next sync, and a device that edited
the old revision meanwhile meets it as an ordinary conflict the gateway merges.

Keeping one side of a `text` item: the merge left both passages in the field, the
earlier one first (`sync.merge.text`), and the item holds each passage. Keeping a side
replaces that pair, found once in the current text, by the kept passage; every other
sentence stays as it is. If the pair is no longer there (someone edited the text after
the merge), nothing is guessed: the worker edits the text instead.

Pure functions (`resolved`, `keepable`) and one writer (`Resolutions`); nothing here
logs document contents.
"""

from __future__ import annotations

import json
import re
import secrets

from mobile_schema import CURRENT_VERSION, DocumentInvalid, merge_rules
from mobile_schema import paths as p
from mobile_schema.base import ITEMS, TEXT, WHOLE_DOCUMENT_KINDS, is_open

from ..audit import AuditLog
from ..directory.base import utcnow
from ..errors import DomainError
from .reconciliation import Reconciliation
from .records import Records

EARLIER, LATER, EDIT, ACKNOWLEDGE = "earlier", "later", "text", "acknowledge"
CHOICES = (EARLIER, LATER, EDIT, ACKNOWLEDGE)
SIDE = {EARLIER: "ours", LATER: "theirs"}
RECONCILIATION = "reconciliation"


class ResolutionRefused(DomainError):
    """A resolution that cannot be written; `reason` is a stable code the web turns
    into a sentence: item_closed, changed, conflict, acknowledge_only, path_gone,
    passages_moved, not_text, invalid, unknown_choice."""

    code = "resolution_refused"

    def __init__(self, reason: str, message: str, **details):
        super().__init__(message, **details)
        self.reason = reason


# ---------------------------------------------------------------- pure


def is_final(doc: dict) -> bool:
    return doc.get("type") == "note" and doc.get("state") == "final"


def acknowledge_only(doc: dict, item: dict) -> bool:
    """A final note never changes, and an item about the whole document names no
    field to set: these are cleared by acknowledging them."""
    return is_final(doc) or item.get("kind") in WHOLE_DOCUMENT_KINDS or not item.get("path")


def open_item(doc: dict, item_id: str) -> dict:
    """The open item `item_id` of `doc` (ResolutionRefused if gone or acknowledged)."""
    for item in doc.get(RECONCILIATION) or []:
        if isinstance(item, dict) and item.get("id") == item_id:
            if is_open(item):
                return item
            break
    raise ResolutionRefused("item_closed", f"item {item_id} of {doc.get('_id')} is not open")


def resolved(
    doc: dict, item_id: str, choice: str, worker_id: str, at: str, text: str | None = None
) -> dict:
    """`doc` as the next revision after `worker_id` chose `choice` for the item."""
    item = open_item(doc, item_id)
    if choice == ACKNOWLEDGE:
        return _acknowledged(doc, item_id, worker_id, at)
    if choice not in CHOICES:
        raise ResolutionRefused("unknown_choice", f"no choice {choice!r}", choice=choice)
    if acknowledge_only(doc, item):
        raise ResolutionRefused("acknowledge_only", f"item {item_id} can only be acknowledged")
    value = _edited(doc, item, text) if choice == EDIT else kept_value(doc, item, choice)
    changed = _put(doc, item["path"], value)
    rest = [i for i in changed.get(RECONCILIATION) or [] if i.get("id") != item_id]
    changed = {k: v for k, v in changed.items() if k != RECONCILIATION}
    stamps = {"schema_version": CURRENT_VERSION, "updated_at": at, "updated_by": worker_id}
    return changed | ({RECONCILIATION: rest} if rest else {}) | stamps


def kept_value(doc: dict, item: dict, choice: str) -> object:
    """The field's value when one side is kept (ResolutionRefused if it cannot be)."""
    side = decoded(item[SIDE[choice]])
    if item["kind"] != "text":
        return side
    current = _current(doc, item["path"])
    if not isinstance(current, str):
        raise ResolutionRefused("not_text", f"{item['path']} no longer holds text")
    kept = keep_passage(current, decoded(item["ours"]), decoded(item["theirs"]), side)
    if kept is None:
        raise ResolutionRefused("passages_moved", f"the passages of {item['id']} were edited")
    return kept


def keepable(doc: dict, item: dict) -> set[str]:
    """Which of earlier/later can be kept for this item as the document is now."""
    if acknowledge_only(doc, item):
        return set()
    out = set()
    for choice in (EARLIER, LATER):
        try:
            _put(doc, item["path"], kept_value(doc, item, choice))
        except (ResolutionRefused, p.PathError, ValueError):
            continue
        out.add(choice)
    return out


def current_text(doc: dict, item: dict) -> str | None:
    """The text an editor starts from: the field's merged text (None unless the item
    names a free-text field, such as a note's discussion or a goal's views)."""
    if acknowledge_only(doc, item) or not is_text_field(doc.get("type"), item["path"]):
        return None
    try:
        current = _current(doc, item["path"])
    except ResolutionRefused:
        return None
    return current if isinstance(current, str) else None


def is_text_field(doc_type: object, path: str) -> bool:
    """Does `path` name a field the contract merges as free text (`TEXT`)?"""
    try:
        rules, parts = merge_rules(str(doc_type)), p.segments(path)
    except (KeyError, TypeError, p.PathError):
        return False
    pattern = ""
    for part in parts:
        pattern += "/*" if rules.get(pattern) == ITEMS else f"/{part}"
    return rules.get(pattern) == TEXT


def keep_passage(text: str, ours: object, theirs: object, kept: object) -> str | None:
    """`text` with the two passages (earlier then later, white space between) replaced
    by `kept`; None unless the pair is in `text` exactly once."""
    parts = [s.strip() for s in (ours, theirs) if isinstance(s, str) and s.strip()]
    if not parts:
        return None
    matches = list(re.finditer(r"\s*".join(re.escape(s) for s in parts), text))
    if len(matches) != 1:
        return None
    before, after = text[: matches[0].start()], text[matches[0].end() :]
    kept = kept.strip() if isinstance(kept, str) else ""
    if kept:
        return before + kept + after
    if not after.strip():
        return before.rstrip()
    return before + after.lstrip() if before.strip() else after.lstrip()


def _acknowledged(doc: dict, item_id: str, worker_id: str, at: str) -> dict:
    """The same document, with the worker's acknowledgement on the item (no restamp:
    content and stamps stay as they are, as the protocol requires)."""
    ack = {"id": secrets.token_hex(16), "by": worker_id, "at": at}
    items = [
        i | {"acknowledged": [*(i.get("acknowledged") or []), ack]} if i.get("id") == item_id else i
        for i in doc.get(RECONCILIATION) or []
    ]
    return doc | {RECONCILIATION: items}


def _edited(doc: dict, item: dict, text: str | None) -> str:
    if text is None or current_text(doc, item) is None:
        raise ResolutionRefused("not_text", f"{item['path']} is not a text to edit")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _current(doc: dict, path: str) -> object:
    try:
        return p.get(doc, path)
    except p.PathError:
        raise ResolutionRefused("path_gone", f"{path} is no longer in the document") from None


def _put(doc: dict, path: str, value: object) -> dict:
    """`doc` with `value` at `path`; a side that removed the value removes it."""
    try:
        if value is not None:
            return p.set_value(doc, path, value)
        try:
            p.get(doc, path)
        except p.PathError:
            return dict(doc)  # already gone
        return p.remove(doc, path)
    except p.PathError:
        raise ResolutionRefused("path_gone", f"{path} is no longer in the document") from None


def decoded(value: str | None) -> object:
    """A side's value, stored as JSON text in the item."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


# ---------------------------------------------------------------- writing


class Resolutions:
    """Writes a worker's resolution as the document's next revision."""

    def __init__(self, records: Records, reconciliation: Reconciliation, audit: AuditLog):
        self.records = records
        self.reconciliation = reconciliation
        self.audit = audit

    def resolve(
        self,
        case_id: str,
        doc_id: str,
        item_id: str,
        choice: str,
        worker_id: str,
        seen_rev: str | None = None,
        text: str | None = None,
    ) -> dict:
        """Resolve one item on the current winning revision; returns the written document.

        An edited text was written against the revision the worker saw (`seen_rev`): if
        a device changed the document since, it is refused (`changed`) rather than
        overwriting that change. Keeping a side or acknowledging is computed on the
        current revision (an item never changes, so the choice still means the same).
        """
        current = self.records.read(case_id, doc_id)
        if choice == EDIT and seen_rev and current.get("_rev") != seen_rev:
            raise ResolutionRefused("changed", f"{doc_id} changed since {seen_rev}")
        doc = resolved(current, item_id, choice, worker_id, utcnow(), text)
        try:
            [result] = self.records.write(case_id, [doc])
        except DocumentInvalid as exc:
            problems = [(problem.path, problem.code) for problem in exc.problems]
            raise ResolutionRefused(
                "invalid", f"{doc_id} would be invalid", problems=problems
            ) from None
        if not result.get("ok"):  # a device's push won the race between read and write
            reason = "changed" if choice == EDIT else "conflict"
            raise ResolutionRefused(reason, f"{doc_id} was not written: {result.get('error')}")
        written = doc | {"_rev": result["rev"]}
        self.reconciliation.note(case_id, written)
        details = {"doc_id": doc_id, "item_id": item_id, "choice": choice}
        self.audit.record(worker_id, "reconciliation.resolved", case_id, details)
        return written
