"""Naming of case databases. Ids are random (32 hex), so names carry no personal data."""

from __future__ import annotations

import re

PREFIX = "case-"
_NAME = re.compile(r"case-([0-9a-f]{32})")


def database_name(case_id: str) -> str:
    """The CouchDB database that holds one case (asiakkuus)."""
    return PREFIX + case_id


def case_id_of(name: str) -> str | None:
    """The case id of a case database name, or None if it is not one."""
    match = _NAME.fullmatch(name)
    return match.group(1) if match else None
