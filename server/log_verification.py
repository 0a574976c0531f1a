"""Proving the hash-chained logs intact: the first broken link of each, and anchors.

Each log's table refuses UPDATE and DELETE, but an insider with the SQLite file can
drop the triggers. `first_break` walks a chain from its first row and names the first
row that does not fit, and how: its hash does not match its contents (edited), a seq is
missing (deleted), it links to a later row (reordered), or it links to no row before
it (something before it was removed or rewritten). An insider who rewrites a chain and
recomputes every hash leaves it consistent; only an anchor kept elsewhere shows that:
`anchor` records each chain's head (seq and hash), and `check_anchor` proves each
anchored head still stands at its seq with its hash, so nothing up to it changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from .audit import AuditLog
from .directory.base import Directory, utcnow
from .hashchain import GENESIS, HashChain
from .log_chains import CHAINS

# What `problem` codes mean (stable: scripts may switch on them).
PROBLEMS = {
    "hash_mismatch": "the row's hash does not match its contents: the row was changed",
    "row_missing": "rows are missing: seq jumps past this one",
    "reordered": "the row links to a later row: rows were reordered",
    "prev_link_broken": "the row does not link to the row before it: a row before it"
    " was removed or rewritten",
    "anchor_missing": "the anchored head is gone: rows up to the anchor were removed",
    "anchor_mismatch": "the anchored head has another hash: history up to the anchor was rewritten",
    "unknown_log": "the anchor names a log this site does not have",
}


@dataclass(frozen=True)
class Break:
    """The first link of `table` that does not hold: at `seq`, `problem` (PROBLEMS)."""

    table: str
    seq: int
    problem: str

    @property
    def explanation(self) -> str:
        return PROBLEMS[self.problem]


@dataclass(frozen=True)
class Head:
    table: str
    seq: int
    hash: str


def first_break(
    chain: HashChain, rows: Iterable[dict], seq_of_hash: Callable[[str], int | None]
) -> Break | None:
    """The first row of `rows` (decoded, in seq order) that breaks the chain, or None.

    `seq_of_hash` finds the row carrying a hash (asked once, at a broken link, to tell
    a reordering from a removal). Pure apart from that question.
    """
    prev_hash, expected_seq = GENESIS, 1
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return Break(chain.table, expected_seq, "row_missing")
        if not _consistent(chain, row):
            return Break(chain.table, seq, "hash_mismatch")
        if row["prev_hash"] != prev_hash:
            linked = seq_of_hash(row["prev_hash"])
            problem = "reordered" if linked is not None and linked > seq else "prev_link_broken"
            return Break(chain.table, seq, problem)
        prev_hash, expected_seq = row["hash"], seq + 1
    return None


def _consistent(chain: HashChain, row: dict) -> bool:
    try:
        return row["hash"] == chain.expected_hash(row["prev_hash"], row)
    except (KeyError, TypeError, ValueError):
        return False


class LogVerification:
    """Walks and anchors every chain of `CHAINS` in the site's directory."""

    def __init__(self, directory: Directory, audit: AuditLog, chains=CHAINS):
        self.directory = directory
        self.audit = audit
        self.chains = tuple(chains)

    def verify(self) -> dict[str, Break | None]:
        """Each log's first break (None: intact), walking every row once."""
        return {chain.table: self._walk(chain) for chain in self.chains}

    def _walk(self, chain: HashChain) -> Break | None:
        con = self.directory.connection()
        cursor = con.execute(f"SELECT * FROM {chain.table} ORDER BY seq")
        return first_break(chain, map(_decoded(chain), cursor), self._finder(chain))

    def _finder(self, chain: HashChain) -> Callable[[str], int | None]:
        def seq_of_hash(digest: str) -> int | None:
            row = self.directory.one(f"SELECT seq FROM {chain.table} WHERE hash = ?", (digest,))
            return row["seq"] if row else None

        return seq_of_hash

    def lengths(self) -> dict[str, int]:
        con = self.directory.connection()
        return {c.table: con.execute(f"SELECT COUNT(*) FROM {c.table}").fetchone()[0]
                for c in self.chains}  # fmt: skip

    def heads(self) -> list[Head]:
        con = self.directory.connection()
        return [Head(chain.table, *chain.head(con)) for chain in self.chains]

    def anchor(self, actor: str) -> dict:
        """Record every chain's head now (`log_anchors` and the audit log); the anchor
        as `sopu audit anchor` prints it, for keeping outside the site."""
        with self.directory.transaction() as con:
            heads = [asdict(Head(chain.table, *chain.head(con))) for chain in self.chains]
            anchor = {"anchored_at": utcnow(), "heads": heads}
            con.execute(
                "INSERT INTO log_anchors (at, actor, heads) VALUES (?, ?, ?)",
                (anchor["anchored_at"], actor, json.dumps(heads)),
            )
            details = {"heads": {h["table"]: [h["seq"], h["hash"]] for h in heads}}
            self.audit.record(actor, "logs.anchored", "logs", details, con)
        return anchor

    def recorded_anchors(self) -> list[dict]:
        """The anchors `anchor` recorded here, oldest first. An insider can remove these
        too; they catch a careless one, the copies kept elsewhere the rest."""
        rows = self.directory.query("SELECT at, heads FROM log_anchors ORDER BY id")
        return [{"anchored_at": row["at"], "heads": json.loads(row["heads"])} for row in rows]

    def check_anchor(self, anchor: dict) -> list[Break]:
        """Each anchored head that no longer stands at its seq with its hash."""
        known = {chain.table for chain in self.chains}
        found = []
        for head in parse_anchor(anchor):
            if head.table not in known:
                found.append(Break(head.table, head.seq, "unknown_log"))
                continue
            if head.seq == 0:
                continue  # the log was empty when anchored: nothing to prove
            row = self.directory.one(f"SELECT hash FROM {head.table} WHERE seq = ?", (head.seq,))
            if row is None:
                found.append(Break(head.table, head.seq, "anchor_missing"))
            elif row["hash"] != head.hash:
                found.append(Break(head.table, head.seq, "anchor_mismatch"))
        return found


MAX_SEQ = 2**63 - 1  # a SQLite INTEGER; a seq beyond it was never written


class AnchorInvalid(ValueError):
    """An anchor file that is not what `sopu audit anchor` writes."""


def parse_anchor(anchor: object) -> list[Head]:
    """The heads of an anchor (`{"heads": [{"table", "seq", "hash"}, ...]}`), checked."""
    heads = anchor.get("heads") if isinstance(anchor, dict) else None
    if not isinstance(heads, list) or not heads:
        raise AnchorInvalid('an anchor is a JSON object with a list of "heads"')
    out = []
    for head in heads:
        if not (
            isinstance(head, dict)
            and isinstance(head.get("table"), str)
            and isinstance(head.get("seq"), int)
            and not isinstance(head.get("seq"), bool)
            and 0 <= head["seq"] <= MAX_SEQ
            and isinstance(head.get("hash"), str)
        ):
            raise AnchorInvalid(f"an anchored head is {{table, seq, hash}}, not {head!r}")
        out.append(Head(head["table"], head["seq"], head["hash"]))
    return out


def _decoded(chain: HashChain) -> Callable:
    """Decode a stored row; a row whose JSON was mangled keeps its raw text (and then
    fails its hash check) instead of stopping the walk."""

    def decode(row) -> dict:
        try:
            return chain.decoded(row)
        except (TypeError, ValueError):
            return dict(row)

    return decode
