"""The worker's `_changes` feed over many case databases, with opaque `since` tokens.

A device's position in its worker's feed is a `State`: for each case it holds, the
case database's own sequence it has seen (`vector`), the change counter value up to
which every change is covered (`g`, see `directory.counter`), the same for keyrings
(`kg`), and cases whose delivery was cut short by `limit` (`pending`).

A response stores one cursor row: the state it started from and one step per result.
The token `"<cursor>-<n>-<nonce>"` is the state after the first n results, so every
result's `seq` is a valid `since` (PouchDB checkpoints mid-batch) and the last one is
the response's `last_seq`.

Cursor rows are bookkeeping: they are committed without waiting for the disk
(`Directory.grouped(durable=False)`), so a power cut may lose the newest, and the
database then hands their ids out again. The row's random nonce, in the token, is what
tells the lost cursor from the new one with its id: a token whose nonce does not match
starts over from the beginning (cheap: the device's revs_diff leaves out what it
holds), never from the new cursor's position. Tokens written before nonces existed
(`"<cursor>-<n>"`) still resolve to their rows, which have none.

A no-op sync reads a handful of indexed rows and writes nothing: its cost does not
grow with the caseload or with the rest of the system.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from ..directory.base import Directory, utcnow
from ..errors import InvalidInput
from .heads import Heads

KEEP_CURSORS = 200  # per device; an older token falls back to a full (cheap) resync
NONCE_BYTES = 8  # 16 hex digits in the token
#: What `token` writes: cursor id, n and (not in tokens from before nonces) the nonce.
TOKEN = re.compile(rf"([0-9]{{1,18}})-([0-9]{{1,9}})(?:-([0-9a-f]{{{2 * NONCE_BYTES}}}))?")


@dataclass(frozen=True)
class Cursor:
    """A stored cursor row's id and nonce: what its tokens name."""

    id: int
    nonce: str


@dataclass
class State:
    vector: dict[str, object] = field(default_factory=dict)
    g: int = 0
    kg: int = 0
    pending: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"vector": self.vector, "g": self.g, "kg": self.kg, "pending": self.pending}

    @classmethod
    def from_json(cls, data: dict) -> State:
        return cls(dict(data["vector"]), data["g"], data["kg"], list(data["pending"]))

    def apply_all(self, steps: list[list]) -> State:
        state = self
        for step in steps:
            state = state.apply(step)
        return state

    def apply(self, step: list) -> State:
        """The state after one step (`["c", case, seq]`, `["k", g]`, `["p", case]`)."""
        kind = step[0]
        if kind == "c":
            return replace(self, vector={**self.vector, step[1]: step[2]})
        if kind == "k":
            return replace(self, kg=max(self.kg, step[1]))
        if kind == "p":
            return replace(self, vector={k: v for k, v in self.vector.items() if k != step[1]})
        return self


@dataclass
class Plan:
    """What a response must look at, in delivery order."""

    purge: list[str]
    cases: list[str]
    keyrings_after: int


class Cursors:
    """Stored cursor rows and the tokens that point into them."""

    def __init__(self, directory: Directory):
        self.directory = directory

    def resolve(self, device_id: str, since: object) -> State:
        """The state a `since` token names (0/None/unknown-old → the beginning)."""
        if since in (None, 0, "0", ""):
            return State()
        cursor_id, n, nonce = _parse(since)
        row = self.directory.one(
            "SELECT base, steps, final, nonce FROM sync_cursors WHERE id = ? AND device_id = ?",
            (cursor_id, device_id),
        )
        if row is None or row["nonce"] != nonce:
            # pruned, foreign, or lost in a power cut (its id since reused): start over;
            # the device's revs_diff keeps that cheap
            return State()
        steps = json.loads(row["steps"])
        if n >= len(steps):
            return State.from_json(json.loads(row["final"]))
        state = State.from_json(json.loads(row["base"]))
        touched = set()
        for result_steps in steps[:n]:
            state = state.apply_all(result_steps)
            touched.update(s[1] for s in result_steps if s[0] == "c")
        # The last case touched may be cut short; the others changed after `g` anyway.
        return replace(state, pending=sorted(set(state.pending) | touched))

    def save(self, device_id: str, base: State, steps: list[list], final: State) -> Cursor:
        """Store a response: `steps[i]` are the steps of result i (committed with
        other requests' small writes, without waiting for the disk: see the module)."""
        nonce = secrets.token_hex(NONCE_BYTES)
        with self.directory.grouped(durable=False) as con:
            (cursor_id,) = con.execute(
                "INSERT INTO sync_cursors (device_id, created_at, base, steps, final, nonce)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    device_id,
                    utcnow(),
                    json.dumps(base.to_json()),
                    json.dumps(steps),
                    json.dumps(final.to_json()),
                    nonce,
                ),
            ).fetchone()
            con.execute(
                "DELETE FROM sync_cursors WHERE device_id = ? AND id <= ?",
                (device_id, cursor_id - KEEP_CURSORS),
            )
            return Cursor(cursor_id, nonce)


def token(cursor: Cursor, n: int) -> str:
    return f"{cursor.id}-{n}-{cursor.nonce}"


def _parse(since: object) -> tuple[int, int, str | None]:
    """(cursor id, n, nonce) of a token; the nonce is None in a token from before
    nonces (`"<cursor>-<n>"`)."""
    text = str(since)
    match = TOKEN.fullmatch(text)
    if match is None:
        raise InvalidInput(f"malformed since value {text!r}: use 0 or a last_seq from this feed")
    return int(match[1]), int(match[2]), match[3]


def plan(state: State, assigned: list[str], heads: Heads, today: date | None = None) -> Plan:
    """Which cases to purge and which to read, cases with visits today/tomorrow first."""
    held = set(state.vector)
    purge = sorted(held - set(assigned))
    new = [c for c in assigned if c not in held]
    known = [c for c in assigned if c in held]
    wanted = set(new) | heads.changed(known, state.g) | (set(state.pending) & set(assigned))
    day = today or date.today()
    soon = heads.with_visits_on(
        sorted(wanted), [day.isoformat(), (day + timedelta(days=1)).isoformat()]
    )
    ordered = sorted(wanted, key=lambda c: (c not in soon, c not in new, c))
    return Plan(purge=purge, cases=ordered, keyrings_after=state.kg)
