"""What the reconciliation page shows of a document and its open items, in words.

An item names its field by path (`/goals/<id>/ratings/<id>/value`) and holds both
sides as JSON text; a worker reads "Goal “Mornings go well”: Rating 6.12.2026: Value"
and two passages of prose. This module turns documents and items into what the
templates print: the field in words (with the raw path beside it), each side as text
or readable JSON with its author's name and time, what each kind of item means, and
which resolutions the item allows (`server.casework.resolutions`). Pure apart from the
author names it is given; it reads nothing and logs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from mobile_schema import paths as p
from mobile_schema.base import open_items

from ..casework import resolutions as r
from . import formats
from .i18n import N_, _

DOC_TYPES = {
    "note": N_("Note"),
    "plan": N_("Client plan"),
    "assessment": N_("Service need assessment"),
    "visit": N_("Visit"),
    "consent": N_("Consent"),
    "case": N_("Case"),
    "family": N_("Family"),
}
FIELDS = {
    "discussion": N_("Discussion"),
    "client_view": N_("Client's view"),
    "agreed_actions": N_("Agreed action"),
    "text": N_("Text"),
    "responsible": N_("Responsible"),
    "due_on": N_("Due date"),
    "written_with_client": N_("Written with the client"),
    "client_review": N_("Client's review"),
    "status": N_("Status"),
    "comment": N_("Comment"),
    "occurred_at": N_("Time"),
    "visit_id": N_("Visit"),
    "amendment_reason": N_("Reason for the amendment"),
    "drawn_up_on": N_("Drawn up on"),
    "review_on": N_("Review date"),
    "goals": N_("Goal"),
    "title": N_("Title"),
    "parent_view": N_("Parent's view"),
    "child_view": N_("Child's view"),
    "worker_view": N_("Worker's view"),
    "ratings": N_("Rating"),
    "value": N_("Value"),
    "rated_on": N_("Rated on"),
    "rated_by": N_("Rated by"),
    "achieved": N_("Achieved"),
    "started_on": N_("Started on"),
    "completed_on": N_("Completed on"),
    "child_views": N_("Child's view"),
    "view": N_("View"),
    "worker_conclusions": N_("Worker's conclusions"),
    "urgent_need": N_("Urgent need"),
    "child_protection_need": N_("Need for child protection"),
    "own_worker_needed": N_("Own worker needed"),
    "starts_at": N_("Starts at"),
    "ends_at": N_("Ends at"),
    "location": N_("Place"),
    "participants": N_("Participant"),
    "scope": N_("Scope"),
    "valid_from": N_("Valid from"),
    "valid_to": N_("Valid until"),
    "withdrawn_at": N_("Withdrawn at"),
    "members": N_("Family member"),
    "address": N_("Address"),
}
# kind → (what happened, what the document holds now), as docs/PROTOCOL.md says it
KINDS = {
    "text": (
        N_("Both edited the same passage"),
        N_("The text holds both passages, the earlier one first."),
    ),
    "value": (
        N_("Both changed the value differently"),
        N_("The document holds the later value."),
    ),
    "removed_edited": (
        N_("One removed what the other edited"),
        N_("The document holds the edited version."),
    ),
    "field": (
        N_("Several collisions in one field"),
        N_("The field holds the merge; the item holds both whole fields."),
    ),
    "deleted_edited": (
        N_("One deleted the document while the other edited it"),
        N_("The document is kept, with the edit."),
    ),
    "finalised_twice": (
        N_("Both finalised the note with different content"),
        N_("The first finalisation is this note; the other is kept as a final amendment."),
    ),
    "compacted": (
        N_("Older items gathered into one"),
        N_("The document reached its limit of items; the older items are kept here."),
    ),
}
DAY_FIELDS = ("occurred_at", "starts_at", "drawn_up_on", "started_on", "valid_from")
TEXT_FIELDS = ("discussion", "client_view")  # what a finalisation's side shows of its note
ITEM_NAMES = ("title", "text", "name", "rated_on")  # what names a list item in words
NAME_LIMIT = 40


@dataclass
class Side:
    label: str
    by: str
    at: str
    text: str | None = None  # a text value, shown as prose
    data: str | None = None  # any other value, as indented JSON
    note: str | None = None  # what the side did, for items about the whole document
    fields: list[tuple[str, str]] = field(default_factory=list)  # a finalisation's texts


@dataclass
class ItemView:
    id: str
    kind: str
    title: str
    holds: str
    path: str
    where: str
    sides: list[Side]
    keepable: set[str] = field(default_factory=set)
    edit_text: str | None = None
    acknowledge_only: bool = False
    held: list[ItemView] = field(default_factory=list)


def doc_title(doc: dict) -> str:
    """`Note 22.11.2026`: the type, and the day the document is about."""
    label = DOC_TYPES.get(doc.get("type"))
    title = _(label) if label else str(doc.get("type"))
    day = next((doc[k] for k in DAY_FIELDS if isinstance(doc.get(k), str)), None)
    return f"{title} {formats.as_date(day)}" if day else title


def field_words(doc: dict, path: str) -> str:
    """`/goals/<id>/ratings/<id>/value` as `Goal “Title”: Rating 6.12.2026: Value`."""
    try:
        parts = p.segments(path)
    except p.PathError:
        return path
    if not parts:
        return _("The whole document")
    words: list[str] = []
    node: object = doc
    for part in parts:
        if isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("id") == part), None)
            name = _item_name(node)
            if name and words:
                words[-1] = f"{words[-1]} {name}"
            continue
        label = FIELDS.get(part)
        words.append(_(label) if label else part.replace("_", " "))
        node = node.get(part) if isinstance(node, dict) else None
    return ": ".join(words)


def _item_name(item: object) -> str | None:
    """How a list item is named in words: “its title” (or text), or its rating's day."""
    if not isinstance(item, dict):
        return None
    for key in ITEM_NAMES:
        value = item.get(key)
        if isinstance(value, str) and value:
            if key == "rated_on":
                return formats.as_date(value)
            short = value if len(value) <= NAME_LIMIT else value[: NAME_LIMIT - 1] + "…"
            return f"“{short}”"
    return None


def item_views(doc: dict, names: Callable[[str], str], others: dict[str, dict]) -> list[ItemView]:
    """Every open item of `doc`; `others` holds the documents a finalisation names."""
    return [_item(doc, item, names, others, resolvable=True) for item in open_items(doc)]


def _item(doc, item: dict, names, others: dict[str, dict], resolvable: bool) -> ItemView:
    kind = item.get("kind", "")
    title, holds = KINDS.get(kind, (kind, ""))
    sides = []
    if kind != "compacted":  # a compacted item's own sides say nothing: what it holds does
        sides = [
            _side(doc, item, "ours", _("Earlier version"), names, others),
            _side(doc, item, "theirs", _("Later version"), names, others),
        ]
    view = ItemView(
        id=item["id"],
        kind=kind,
        title=_(title) if title else kind,
        holds=_(holds) if holds else "",
        path=item.get("path", ""),
        where=field_words(doc, item.get("path", "")),
        sides=sides,
    )
    if resolvable:
        view.keepable = r.keepable(doc, item)
        view.edit_text = r.current_text(doc, item)
        view.acknowledge_only = r.acknowledge_only(doc, item)
    view.held = [_item(doc, held, names, {}, False) for held in item.get("compacted") or []]
    return view


def _side(doc: dict, item: dict, side: str, label: str, names, others) -> Side:
    out = Side(
        label, names(item.get(f"{side}_by", "")), formats.as_datetime(item.get(f"{side}_at"))
    )
    value = r.decoded(item.get(side))
    if item.get("kind") == "deleted_edited":
        out.note = _("Deleted the document.") if value is None else _("Edited the document.")
    elif item.get("kind") == "finalised_twice":
        _finalisation(out, doc, value, others)
    elif isinstance(value, str) and value:
        out.text = value
    elif value in (None, "", [], {}):
        out.note = _("Removed or empty.")
    else:
        out.data = json.dumps(value, ensure_ascii=False, indent=2)
    return out


def _finalisation(out: Side, doc: dict, kept_as: object, others: dict[str, dict]) -> None:
    """A finalisation is kept as this note or as a final amendment: show its texts."""
    if kept_as == doc.get("_id"):
        out.note, shown = _("Kept as this note."), doc
    else:
        out.note, shown = _("Kept as a final amendment."), others.get(str(kept_as)) or {}
    out.fields = [(_(FIELDS[k]), shown[k]) for k in TEXT_FIELDS if shown.get(k)]


def named_documents(doc: dict) -> set[str]:
    """Ids of other documents this document's open items show (final amendments)."""
    return {
        str(r.decoded(item.get(side)))
        for item in open_items(doc)
        if item.get("kind") == "finalised_twice"
        for side in ("ours", "theirs")
        if r.decoded(item.get(side)) not in (None, doc.get("_id"))
    }
