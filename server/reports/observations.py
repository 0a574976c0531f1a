"""Observations for social reporting (SHL 7 §), kept in the directory.

An instructor or supervisor records what they see across families ("several families
tell of evenings made hard by shift work") for their own team. An observation is not
client data: it has no link to a case, a family or its author (who recorded it is in
the audit log, as every write is), so it is stored as plain directory data, never in a
case database. It is validated as the wire contract's `observation` document first.
"""

from __future__ import annotations

import json

from mobile_schema import validate_document

from ..audit import AuditLog
from ..casework.cases import new_id, stamped
from ..directory.base import Directory, utcnow
from ..errors import Forbidden, InvalidInput
from ..legal.social_reporting import Observation, is_month

RECORDERS = ("worker", "supervisor")


class Observations:
    def __init__(self, directory: Directory, audit: AuditLog):
        self.directory = directory
        self.audit = audit

    def record(self, account: dict, body: dict) -> dict:
        """Store one observation of `account`'s own team (`body`: observed_in,
        phenomenon_tags, text, optionally team_id, which must be the own team)."""
        team_id = account.get("team_id")
        if account["role"] not in RECORDERS or not team_id:
            raise Forbidden("observations are recorded by a team's instructors and supervisor")
        if body.get("team_id", team_id) != team_id:
            raise Forbidden("you record observations for your own team only")
        doc = stamped(
            {"_id": new_id(), "type": "observation", **body, "team_id": team_id},
            account["id"],
            created=True,
        )
        doc = validate_document(doc)
        _check_countable(doc)
        tags = sorted(set(doc["phenomenon_tags"]))
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO observations (id, team_id, observed_in, tags, text, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (doc["_id"], team_id, doc["observed_in"], json.dumps(tags), doc["text"], utcnow()),
            )
            details = {"team_id": team_id, "observed_in": doc["observed_in"]}
            self.audit.record(account["id"], "observation.recorded", doc["_id"], details, con)
        return {
            "id": doc["_id"],
            "team_id": team_id,
            "observed_in": doc["observed_in"],
            "phenomenon_tags": tags,
        }

    def of_team(self, team_id: str, first: str, last: str) -> list[Observation]:
        """The team's observations of the months `first`..`last` (YYYY-MM)."""
        rows = self.directory.query(
            "SELECT observed_in, tags, text FROM observations"
            " WHERE team_id = ? AND observed_in BETWEEN ? AND ?"
            " ORDER BY observed_in, recorded_at, id",
            (team_id, first, last),
        )
        return [
            Observation(row["observed_in"], tuple(json.loads(row["tags"])), row["text"])
            for row in rows
        ]


def _check_countable(doc: dict) -> None:
    """What the wire contract lets through but no report could count: a month that is
    not in the calendar (2026-13 sorts between December and the next January, so every
    span would count it somewhere wrong) and an observation without a tag."""
    if not is_month(doc["observed_in"]):
        raise InvalidInput("observed_in: a month YYYY-MM, the month 01 to 12", field="observed_in")
    if not doc["phenomenon_tags"]:
        raise InvalidInput(
            "phenomenon_tags: at least one tag, like housing-insecurity",
            field="phenomenon_tags",
        )
