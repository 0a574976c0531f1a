"""The note index behind the team overview follows every way a note changes: a server
write, a device's push that finalises or deletes it, and it catches up on cases older
than the index (once) and is rebuilt by the sweep, without a word of a note in it."""

from __future__ import annotations

from datetime import date

import pytest

from server.casework.note_states import occurred_on
from sync.device import Device
from tests.support.org import PASSWORD

pytestmark = pytest.mark.both_directories

FAST = 2**10
SCOPE = "SELECT id FROM cases"


def states(site, case_id: str) -> dict[str, tuple[str, str, str]]:
    rows = site.directory.query(
        "SELECT doc_id, author, state, occurred_on FROM note_states WHERE case_id = ?",
        (case_id,),
    )
    return {r["doc_id"]: (r["author"], r["state"], r["occurred_on"]) for r in rows}


def test_pushes_finalise_and_delete_notes_in_the_index(org, server, tmp_path):
    aino = org.worker("aino")
    case = org.case("own", "aino", notes=2)
    first, second = org.docs["own"][2:]
    assert {s[1] for s in states(org.site, case).values()} == {"draft"}
    assert set(states(org.site, case)) == {first, second}  # family and case: no notes

    phone = Device(tmp_path / "phone", passphrase="1357", scrypt_n=FAST)
    phone.enrol(server, "aino", PASSWORD, label="phone")
    phone.pull()
    final = phone.read(first) | {"state": "final", "finalised_by": aino}
    final["finalised_at"] = final["updated_at"] = "2026-11-30T08:15:00Z"
    phone.write(final, case)
    phone.delete(second)
    phone.push()

    assert states(org.site, case) == {first: (aino, "final", occurred_on(final["occurred_at"]))}


def test_an_older_case_is_caught_up_once_and_the_sweep_rebuilds(org):
    org.worker("aino")
    case = org.case("old", "aino", notes=3)
    with org.site.directory.transaction() as con:  # as if made before the index existed
        con.execute("DELETE FROM note_states")
        con.execute("UPDATE note_states_since SET at = '9999-01-01T00:00:00Z'")
    assert org.site.notes.late_drafts(SCOPE, (), _far_future()) == {}
    assert org.site.notes.catch_up(SCOPE, ()) == 1
    assert org.site.notes.late_drafts(SCOPE, (), _far_future()) == {org.workers["aino"]: 3}
    assert org.site.notes.catch_up(SCOPE, ()) == 0  # once

    with org.site.directory.transaction() as con:
        con.execute("UPDATE note_states SET state = 'final'")  # an index gone wrong
    assert org.site.notes.rebuild() == 1
    assert [s[1] for s in states(org.site, case).values()] == ["draft"] * 3
    texts = org.site.directory.query("SELECT * FROM note_states")
    assert all(len(value) <= 32 for row in texts for value in map(str, tuple(row)))


def _far_future() -> date:
    return date(9999, 1, 1)
