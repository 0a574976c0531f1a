"""One conformance suite for the directory backends: SQLite (the embedded file) and
PostgreSQL (a throwaway cluster the tests start; tests/support/postgres_server.py).

Every test runs on both. What the directory's code relies on is checked here at the
level of the backend: the same schema, the same values back, upserts, `RETURNING`,
all-or-nothing transactions, append-only logs, and writers serialised across two
`Directory` objects (two nodes) so the hash chains and the change counter stay whole.
"""

from __future__ import annotations

import threading

import pytest

from server.audit import AuditLog
from server.backup import BackupError, directory_file
from server.config import Config
from server.directory import SQLiteDirectory, counter, open_directory
from server.directory.dialect import to_pyformat, upsert
from tests.support.postgres_server import drop_database, fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """Where a directory lives: a file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "directory.sqlite3"
        return
    url = fresh_database(request.getfixturevalue("postgres_url"))
    yield url
    drop_database(url)


@pytest.fixture
def directory(target):
    opened = open_directory(target)
    yield opened
    opened.close()


def _columns(directory) -> dict[str, set[str]]:
    if directory.dialect == "sqlite":
        tables = [
            r[0] for r in directory.query("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return {t: {r[1] for r in directory.query(f"PRAGMA table_info({t})")} for t in tables}
    rows = directory.query(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"
    )
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def test_both_backends_have_the_same_tables_and_columns(tmp_path, postgres_url):
    lite = SQLiteDirectory(tmp_path / "lite.sqlite3")
    url = fresh_database(postgres_url)
    pg = open_directory(url)
    try:
        assert _columns(pg) == _columns(lite)
    finally:
        pg.close()
        lite.close()
        drop_database(url)


def test_reopening_migrates_nothing_twice(target):
    first = open_directory(target)
    version = first.schema_version()
    first.close()
    again = open_directory(target)
    assert again.schema_version() == version >= 1
    assert again.one("SELECT COUNT(*) FROM sync_counter")[0] == 1  # seeded row not doubled
    again.close()


def test_values_come_back_as_the_code_expects(directory):
    with directory.transaction() as con:
        con.execute(
            "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)", ("t1", "50 % ?", "x")
        )
        for n, active in (("a", True), ("b", False)):
            con.execute(
                "INSERT INTO workers (id, username, display_name, role, team_id, active,"
                " created_at) VALUES (?, ?, ?, 'worker', 't1', ?, 'x')",
                (n, n, n.upper(), active),
            )
        con.execute(
            "INSERT INTO case_keys (case_id, version, kek_id, wrapped, created_at, reason)"
            " VALUES ('c', 1, 'k', ?, 'x', 'new')",
            (b"\x00\xffkey",),
        )
    row = directory.one("SELECT id, name FROM teams WHERE name LIKE '50 %'")
    assert (row[0], row["name"], dict(row)) == ("t1", "50 % ?", {"id": "t1", "name": "50 % ?"})
    assert [r["active"] for r in directory.query("SELECT active FROM workers ORDER BY id")] == [
        1,
        0,
    ]
    total = directory.one("SELECT SUM(active) AS n, COUNT(*) AS c FROM workers")
    assert (total["n"], total["c"]) == (1, 2) and type(total["n"]) is int
    assert bytes(directory.one("SELECT wrapped FROM case_keys")[0]) == b"\x00\xffkey"
    assert directory.one("SELECT 1 FROM workers WHERE lower(username) = lower(?)", ("A",))


def test_upsert_replaces_and_do_nothing_keeps(directory):
    sql = upsert("device_purges", ("device_id", "case_id", "purged_at"), ("device_id", "case_id"))
    with directory.transaction() as con:
        con.execute(sql, ("d", "c", "first"))
        con.execute(sql, ("d", "c", "second"))
        con.execute(
            "INSERT INTO doc_index (doc_id, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            ("doc", "c1"),
        )
        con.executemany(
            "INSERT INTO doc_index (doc_id, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [("doc", "c2"), ("other", "c2")],
        )
    assert directory.one("SELECT purged_at FROM device_purges")[0] == "second"
    assert dict(directory.query("SELECT doc_id, case_id FROM doc_index ORDER BY doc_id")) == {
        "doc": "c1",
        "other": "c2",
    }


def test_returning_gives_new_ids_and_a_failed_transaction_leaves_nothing(directory):
    with directory.transaction() as con:
        ids = [
            con.execute(
                "INSERT INTO log_anchors (at, actor, heads) VALUES ('x', 'a', '{}') RETURNING id"
            ).fetchone()[0]
            for _ in range(3)
        ]
    assert ids == sorted(set(ids)) and len(ids) == 3
    with pytest.raises(RuntimeError), directory.transaction() as con:
        con.execute("INSERT INTO log_anchors (at, actor, heads) VALUES ('y', 'b', '{}')")
        raise RuntimeError("the request failed")
    assert directory.one("SELECT COUNT(*) FROM log_anchors")[0] == 3


def test_the_logs_refuse_edits_and_deletions(directory):
    audit = AuditLog(directory)
    audit.record("admin", "team.created", "t1", {})
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), directory.transaction() as con:
            con.execute(statement)
    assert [e.actor for e in audit.entries()] == ["admin"]


def test_two_nodes_appending_at_once_keep_one_whole_chain(target, directory):
    """Writers on two directory objects (two nodes), four threads each, append to the
    audit log and take counter values at once; a rolled-back append leaves no gap."""
    other = open_directory(target)
    logs = [AuditLog(directory), AuditLog(other)]
    values: list[int] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        node = (directory, other)[n % 2]
        start.wait()
        for i in range(15):
            logs[n % 2].record(f"node{n % 2}", "test.append", f"{n}-{i}", {"i": i})
            with node.transaction() as con:
                values.append(counter.next_value(con))
        with pytest.raises(RuntimeError), node.transaction() as con:
            logs[n % 2].record("node", "test.rolled_back", str(n), {}, con)
            raise RuntimeError

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    entries = logs[0].entries()
    assert [e.seq for e in entries] == list(range(1, 8 * 15 + 1))
    assert logs[0].verify() is None
    assert sorted(values) == list(range(1, 8 * 15 + 1))


def test_the_configured_directory_picks_its_backend(tmp_path):
    url = "postgresql://sopu:secret@db.example:5432/sopu"
    config = Config(data_dir=tmp_path, directory=url)
    assert config.directory == url  # a URL, not a path with its // folded
    with pytest.raises(BackupError, match="pg_dump"):
        directory_file(config)
    assert Config(data_dir=tmp_path).directory == tmp_path / "directory.sqlite3"
    absolute = open_directory(f"sqlite:///{tmp_path / 'x.sqlite3'}")  # sqlite:////tmp/…
    assert isinstance(absolute, SQLiteDirectory) and (tmp_path / "x.sqlite3").exists()
    absolute.close()


def test_placeholders_are_translated_outside_quotes_only():
    assert to_pyformat("SELECT '?', \"a?\" FROM t WHERE x = ? AND y LIKE '5%'") == (
        "SELECT '?', \"a?\" FROM t WHERE x = %s AND y LIKE '5%%'"
    )


def test_a_committed_change_reaches_the_listeners_of_other_nodes(target, directory):
    """PostgreSQL tells every listening node when a change-counter value commits (the
    live feeds' watcher wakes at once); SQLite says it cannot (a periodic check does)."""
    heard = threading.Event()
    listening = directory.listen_for_changes(heard.set)
    if directory.dialect == "sqlite":
        assert listening is False
        return
    assert listening and heard.wait(5)  # the listener says it is there
    heard.clear()
    other = open_directory(target)
    try:
        with pytest.raises(RuntimeError), other.transaction() as con:
            counter.next_value(con)
            raise RuntimeError("rolled back: nothing to announce")
        assert not heard.wait(0.5)
        with other.transaction() as con:
            counter.next_value(con)
        assert heard.wait(2)
    finally:
        other.close()
