"""Schema versions of the wire contract and upgrades from the previous version.

One version number covers the whole contract, so an app developer reads one changelog.
A document of the previous version is upgraded when it is loaded (old app builds keep
syncing while they update); a newer version than this server knows is rejected with
`unsupported_schema_version` rather than guessed at.

Changelog
- 1: first field release.
- 2: note `client_agreed`/`client_comment` became `client_review {status, comment}`;
     visit kind `network` became `network_meeting`; a family member's single
     `language` became the list `languages`.
- 3: reconciliation items can be acknowledged (`acknowledged`), name the whole
     document (empty `path`), and have the kinds `deleted_edited`, `finalised_twice`,
     `field` and `compacted` (which holds older items in `compacted`). Additions only:
     a version-2 document is a valid version-3 document.
     Later in 3, an addition: the `access_event` type (device-side views,
     docs/adr/013-device-side-views.md); no existing document changes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

CURRENT_VERSION = 3
OLDEST_SUPPORTED = 1

Upgrade = Callable[[dict], dict]


def _note_v1(doc: dict) -> dict:
    agreed = doc.pop("client_agreed", None)
    comment = doc.pop("client_comment", None)
    if agreed is not None or comment is not None:
        status = {True: "agrees", False: "disagrees"}.get(agreed, "read")
        doc["client_review"] = {"status": status, "comment": comment}
    return doc


def _visit_v1(doc: dict) -> dict:
    if doc.get("kind") == "network":
        doc["kind"] = "network_meeting"
    return doc


def _family_v1(doc: dict) -> dict:
    for member in doc.get("members") or []:
        if isinstance(member, dict) and "language" in member:
            language = member.pop("language")
            member["languages"] = [language] if language else []
    return doc


# UPGRADES[type][v] turns a version-v document of that type into version v+1.
# Types missing from a version's table only have their version number raised.
UPGRADES: dict[str, dict[int, Upgrade]] = {
    "note": {1: _note_v1},
    "visit": {1: _visit_v1},
    "family": {1: _family_v1},
}


def upgrade(doc: dict) -> dict:
    """Return a copy of `doc` upgraded to CURRENT_VERSION (the caller checked the range)."""
    doc = copy.deepcopy(doc)
    version = doc["schema_version"]
    steps = UPGRADES.get(doc.get("type"), {})
    while version < CURRENT_VERSION:
        doc = steps.get(version, lambda d: d)(doc)
        version += 1
        doc["schema_version"] = version
    return doc
