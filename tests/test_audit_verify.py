"""`sopu audit verify` and `sopu audit anchor` against an insider with the SQLite file:
rows edited, deleted and reordered in the raw database (the append-only triggers
dropped) are each found with their log and position, exit status 1; a chain rewritten
and re-hashed from the start is found only against an anchor kept elsewhere."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import disclosure_log
from server.hashchain import GENESIS, HashChain, link_hash
from server.log_chains import CHAINS
from server.log_verification import first_break
from tests.support.cli import run_sopu as sopu
from tests.support.cli import var_site as site_of

AUDIT = next(c for c in CHAINS if c.table == "audit_log")
CASE, WORKER, DOC = "c" * 32, "a" * 32, "d" * 32


@pytest.fixture
def var(tmp_path):
    """A site with a few entries in each log, closed: the insider has the file now."""
    assert sopu(tmp_path, "keys", "new-kek").returncode == 0
    site = site_of(tmp_path)
    for number in range(5):
        site.audit.record("admin", "account.created", f"{number:032x}", {"n": number})
        site.access_log.record(WORKER, CASE, [DOC], "read", purpose="supervision")
    with site.directory.transaction() as con:
        for _ in range(3):
            disclosure_log.CHAIN.append(con, {
                "at": "2026-12-01T10:00:00Z", "worker_id": WORKER, "case_id": CASE,
                "member_ids": ["b" * 32], "doc_ids": [DOC], "recipient": "Neuvola",
                "basis": "statute", "consent_id": None, "statute": "shl_41", "disclosed_on":
                "2026-12-01"})  # fmt: skip
    site.close()
    return tmp_path


def raw(tmp_path, *statements, params=()):
    """What an insider does: drop the append-only triggers and write to the file."""
    con = sqlite3.connect(tmp_path / "var" / "directory.sqlite3")
    for table in ("audit_log", "access_log", "disclosure_log"):
        for kind in ("update", "delete"):
            con.execute(f"DROP TRIGGER IF EXISTS {table}_no_{kind}")
    for statement in statements:
        con.execute(statement, params)
    con.commit()
    con.close()


def verify(tmp_path, *args):
    return sopu(tmp_path, "audit", "verify", *args)


def test_intact_logs_verify(var):
    run = verify(var)
    assert run.returncode == 0, run.stderr
    assert "audit_log: intact" in run.stdout and "access_log: intact (5 rows)" in run.stdout
    assert "disclosure_log: intact (3 rows)" in run.stdout


def test_an_edited_row_is_found_at_its_seq(var):
    raw(var, "UPDATE access_log SET worker_id = 'e' || substr(worker_id, 2) WHERE seq = 3")
    run = verify(var)
    assert run.returncode == 1
    assert "access_log: BROKEN at seq 3: hash_mismatch" in run.stdout
    assert "audit_log: intact" in run.stdout


def test_an_edited_row_with_its_hash_recomputed_breaks_the_next_link(var):
    site = site_of(var)
    [row] = [r for r in AUDIT.rows(site.directory) if r["seq"] == 4]
    site.close()
    row["actor"] = "someone-else"
    raw(var, "UPDATE audit_log SET actor = 'someone-else', hash = ? WHERE seq = 4",
        params=(AUDIT.expected_hash(row["prev_hash"], row),))  # fmt: skip
    run = verify(var)
    assert run.returncode == 1
    assert "audit_log: BROKEN at seq 5: prev_link_broken" in run.stdout


def test_a_deleted_row_is_found_as_missing(var):
    raw(var, "DELETE FROM disclosure_log WHERE seq = 2")
    run = verify(var)
    assert run.returncode == 1
    assert "disclosure_log: BROKEN at seq 2: row_missing" in run.stdout


def test_reordered_rows_are_found(var):
    raw(
        var,
        "UPDATE access_log SET seq = -1 WHERE seq = 2",
        "UPDATE access_log SET seq = 2 WHERE seq = 3",
        "UPDATE access_log SET seq = 3 WHERE seq = -1",
    )
    run = verify(var)
    assert run.returncode == 1
    assert "access_log: BROKEN at seq 2: reordered" in run.stdout


def rehash_everything(tmp_path, chain: HashChain, change: str) -> None:
    """Edit a row, then recompute every hash after it: a chain consistent again."""
    raw(tmp_path, change)
    site = site_of(tmp_path)
    rows = chain.rows(site.directory)
    site.close()
    prev, updates = GENESIS, []
    for row in rows:
        digest = chain.expected_hash(prev, row)
        updates.append((prev, digest, row["seq"]))
        prev = digest
    con = sqlite3.connect(tmp_path / "var" / "directory.sqlite3")
    con.executemany(f"UPDATE {chain.table} SET prev_hash = ?, hash = ? WHERE seq = ?", updates)
    con.commit()
    con.close()


def test_a_rewritten_and_rehashed_chain_is_found_only_with_the_anchor(var):
    anchor_file = var / "anchor.json"
    made = sopu(var, "audit", "anchor", "--file", str(anchor_file), "--actor", "auditor")
    assert made.returncode == 0, made.stderr
    printed = json.loads(made.stdout)
    assert json.loads(anchor_file.read_text()) == printed
    heads = {h["table"]: h for h in printed["heads"]}
    assert heads["access_log"]["seq"] == 5 and heads["disclosure_log"]["seq"] == 3
    site = site_of(var)
    [entry] = site.audit.entries(action="logs.anchored")
    assert (
        entry.actor == "auditor"
        and entry.details["heads"]["audit_log"][0] == (heads["audit_log"]["seq"])
    )
    assert site.directory.one("SELECT COUNT(*) AS n FROM log_anchors")["n"] == 1
    site.close()
    assert verify(var, "--anchor", str(anchor_file)).returncode == 0

    access = next(c for c in CHAINS if c.table == "access_log")
    rehash_everything(var, access, "UPDATE access_log SET purpose = 'case_work' WHERE seq = 1")
    raw(var, "DELETE FROM log_anchors")  # a careful insider removes the recorded anchors
    plain = verify(var)
    assert plain.returncode == 0 and "access_log: intact" in plain.stdout  # consistent again
    anchored = verify(var, "--anchor", str(anchor_file))
    assert anchored.returncode == 1
    assert "access_log: ANCHOR at seq 5: anchor_mismatch" in anchored.stdout
    assert "audit_log: intact" in anchored.stdout


def test_rows_removed_from_the_end_are_found_with_the_anchor(var):
    anchor_file = var / "anchor.json"
    assert sopu(var, "audit", "anchor", "--file", str(anchor_file)).returncode == 0
    assert verify(var, "--anchor", str(anchor_file)).returncode == 0
    raw(var, "DELETE FROM disclosure_log WHERE seq >= 2")
    careless = verify(var)  # the anchor recorded in the directory shows it
    assert careless.returncode == 1
    assert "disclosure_log: RECORDED ANCHOR at seq 3: anchor_missing" in careless.stdout
    raw(var, "DELETE FROM log_anchors")
    assert verify(var).returncode == 0  # a shorter chain is still a chain
    run = verify(var, "--anchor", str(anchor_file))
    assert run.returncode == 1
    assert "disclosure_log: ANCHOR at seq 3: anchor_missing" in run.stdout


def test_a_malformed_anchor_is_a_clear_error(var):
    bad = var / "bad.json"
    bad.write_text('{"heads": [{"table": "audit_log"}]}')
    run = verify(var, "--anchor", str(bad))
    assert run.returncode == 1 and "an anchored head is {table, seq, hash}" in run.stderr
    bad.write_text("not json")
    assert "not an anchor file" in verify(var, "--anchor", str(bad)).stderr
    for seq in (-1, 10**30):  # no row ever had it (and SQLite cannot even hold the second)
        bad.write_text(json.dumps({"heads": [{"table": "audit_log", "seq": seq, "hash": "0"}]}))
        run = verify(var, "--anchor", str(bad))
        assert run.returncode == 1 and "an anchored head is" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


def test_an_anchor_file_that_cannot_be_written_is_said_and_the_anchor_still_printed(var):
    nowhere = sopu(var, "audit", "anchor", "--file", str(var / "no-such-dir" / "anchor.json"))
    assert nowhere.returncode == 1 and "no such directory" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    site = site_of(var)
    assert site.directory.one("SELECT COUNT(*) AS n FROM log_anchors")["n"] == 0  # not recorded
    site.close()
    full = sopu(var, "audit", "anchor", "--file", "/dev/full")  # a disk with no room left
    assert full.returncode == 1 and "not written" in full.stderr
    assert "Traceback" not in full.stderr
    assert json.loads(full.stdout)["heads"]  # recorded, so printed for keeping


# ------------------------------------------------------------------ the walk, pure

CHAIN = HashChain("t", ("v",))


def chain_of(values: list[int]) -> list[dict]:
    rows, prev = [], GENESIS
    for seq, value in enumerate(values, 1):
        digest = link_hash(prev, [value])
        rows.append({"seq": seq, "v": value, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def walk(rows: list[dict]):
    def seq_of_hash(digest):
        return next((r["seq"] for r in rows if r["hash"] == digest), None)

    return first_break(CHAIN, rows, seq_of_hash)


VALUES = st.lists(st.integers(), min_size=2, max_size=30)


@given(VALUES)
def test_an_untouched_chain_has_no_break(values):
    assert walk(chain_of(values)) is None


@given(VALUES, st.data())
def test_any_edit_is_found_at_its_row(values, data):
    rows = chain_of(values)
    i = data.draw(st.integers(0, len(rows) - 1))
    rows[i] = rows[i] | {"v": rows[i]["v"] + 1}
    found = walk(rows)
    assert (found.seq, found.problem) == (i + 1, "hash_mismatch")


@given(VALUES, st.data())
def test_any_deletion_but_the_last_is_found_as_missing(values, data):
    rows = chain_of(values)
    i = data.draw(st.integers(0, len(rows) - 2))
    del rows[i]
    found = walk(rows)
    assert (found.seq, found.problem) == (i + 1, "row_missing")


@given(VALUES, st.data())
def test_any_swap_of_neighbours_is_found_as_reordered(values, data):
    rows = chain_of(values)
    i = data.draw(st.integers(0, len(rows) - 2))
    first, second = rows[i], rows[i + 1]
    rows[i] = second | {"seq": first["seq"]}
    rows[i + 1] = first | {"seq": second["seq"]}
    found = walk(rows)
    assert (found.seq, found.problem) == (i + 1, "reordered")
