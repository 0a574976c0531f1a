"""Paths into a document, in the form the merge names fields in reconciliation items.

`/goals/<goal id>/ratings/<rating id>/value`: JSON-Pointer-like, but a segment that
meets a list picks the item by its `id`, because items can be added and removed on
two devices and only the id stays put. An editor that speaks this form lets a worker
fix exactly the field an item names. A segment meeting a list selects the item whose
`id` equals it, else the one item whose `id` starts with it (at least
`ID_PREFIX_MIN` characters, so ids can be typed short), else a short decimal index. The
leading `/` is optional; `~1` and `~0` stand for `/` and `~` as in RFC 6901.

Every change works on a deep copy and returns the new document, so a failed edit
leaves nothing half done. Pure: no schema knowledge; the contract checks the result.
"""

from __future__ import annotations

import copy
import re
import secrets

ID_PREFIX_MIN = 4
WHOLE = "(document)"  # how the empty path reads in messages
_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")  # canonical and short: an id is never an index


class PathError(ValueError):
    """A path that does not lead anywhere in this document; `reason` says why."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def segments(path: str) -> list[str]:
    """The segments of `path` (`/a/b`, or `a/b`); the empty path is the document."""
    if not isinstance(path, str):
        raise PathError(str(path), "a path is text, such as /client_review/status")
    body = path[1:] if path.startswith("/") else path
    if not body:
        return []
    parts = body.split("/")
    if "" in parts:
        raise PathError(pointer_of(path), "empty segment (a doubled or trailing /)")
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def pointer(parts: list[str]) -> str:
    """The canonical form of a path (leading `/`), as messages and items print it."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def pointer_of(path: str) -> str:
    """`path` as written, with its leading `/` (for messages about a malformed path)."""
    return path if path.startswith("/") else f"/{path}"


def get(doc: object, path: str) -> object:
    """The value at `path` (a copy: changing it does not change `doc`)."""
    parts = segments(path)
    node = doc
    for depth in range(len(parts)):
        node = _child(node, parts, depth)
    return copy.deepcopy(node)


def set_value(doc: dict, path: str, value: object) -> dict:
    """A copy of `doc` with `value` at `path`. Missing or null objects on the way are
    created; list items never are (an item is added with `append`)."""
    new = copy.deepcopy(doc)
    parts = _field_path(path)
    parent = _walk(new, parts, create=True)
    parent[_slot(parent, parts, len(parts) - 1)] = copy.deepcopy(value)
    return new


def remove(doc: dict, path: str) -> dict:
    """A copy of `doc` without the field or list item at `path`."""
    new = copy.deepcopy(doc)
    parts = _field_path(path)
    parent = _walk(new, parts, create=False)
    slot = _slot(parent, parts, len(parts) - 1)
    if isinstance(parent, dict) and slot not in parent:
        raise PathError(pointer(parts), f"no field {parts[-1]} in {_where(parts, -1)}")
    del parent[slot]
    return new


def append(doc: dict, path: str, item: object) -> dict:
    """A copy of `doc` with `item` added at the end of the list at `path` (created if
    missing). An object item without an `id` gets a fresh random one, so the merge can
    match it whichever device edits it next."""
    new = copy.deepcopy(doc)
    parts = _field_path(path)
    parent = _walk(new, parts, create=True)
    slot = _slot(parent, parts, len(parts) - 1)
    if isinstance(parent, dict) and parent.get(slot) is None:
        parent[slot] = []
    target = parent[slot]
    if not isinstance(target, list):
        raise PathError(pointer(parts), f"{pointer(parts)} is {_kind(target)}, not a list")
    item = copy.deepcopy(item)
    if isinstance(item, dict) and item.get("id") is None:
        item = {"id": secrets.token_hex(16), **{k: v for k, v in item.items() if k != "id"}}
    target.append(item)
    return new


def _field_path(path: str) -> list[str]:
    """The segments of a path that must name a field or item, not the whole document."""
    parts = segments(path)
    if not parts:
        raise PathError(WHOLE, "names the whole document; name a field, e.g. /client_view")
    return parts


def _walk(doc: dict, parts: list[str], create: bool) -> object:
    """What holds the last segment of `parts` (an object or a list, else `_slot` says so)."""
    node = doc
    for depth in range(len(parts) - 1):
        if create and isinstance(node, dict) and node.get(parts[depth]) is None:
            node[parts[depth]] = {}
        node = _child(node, parts, depth)
    return node


def _child(node: object, parts: list[str], depth: int) -> object:
    """What segment `depth` of `parts` selects in `node`."""
    slot = _slot(node, parts, depth)
    if isinstance(node, dict) and slot not in node:
        raise PathError(pointer(parts), f"no field {parts[depth]} in {_where(parts, depth)}")
    return node[slot]


def _slot(node: object, parts: list[str], depth: int) -> str | int:
    """The key (object) or index (list) segment `depth` of `parts` names in `node`."""
    if isinstance(node, dict):
        return parts[depth]
    if isinstance(node, list):
        return _item_index(node, parts, depth)
    where = _where(parts, depth)
    raise PathError(pointer(parts), f"{where} is {_kind(node)}, not an object or a list")


def _item_index(items: list, parts: list[str], depth: int) -> int:
    """The item a segment names: by exact id, by unique id prefix, or by index."""
    wanted, where = parts[depth], _where(parts, depth)
    ids = [i.get("id") if isinstance(i, dict) else None for i in items]
    if wanted in ids:
        return ids.index(wanted)
    if len(wanted) >= ID_PREFIX_MIN:
        found = [n for n, i in enumerate(ids) if isinstance(i, str) and i.startswith(wanted)]
        if len(found) > 1:
            listed = ", ".join(str(ids[n]) for n in found[:5])
            raise PathError(pointer(parts), f"item {wanted} in {where} is ambiguous: {listed}")
        if found:
            return found[0]
    if _INDEX.fullmatch(wanted) and int(wanted) < len(items):
        return int(wanted)
    short = any(isinstance(i, str) and i.startswith(wanted) for i in ids)
    hint = f" (an id prefix needs at least {ID_PREFIX_MIN} characters)" if short else ""
    raise PathError(pointer(parts), f"no item {wanted} in {where}{hint}")


def _where(parts: list[str], depth: int) -> str:
    """The path of the container segment `depth` looks into, as a person reads it."""
    return pointer(parts[:depth]) or "the document"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    return "a list" if isinstance(value, list) else "an object"
