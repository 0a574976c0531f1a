"""The `sopu` commands an operator runs, on a PostgreSQL directory
(`SOPU_DIRECTORY=postgresql://…`): the demo, the logs' verification, the daily jobs,
the sweeper and the store follower work as on SQLite, and `sopu backup` says to use
pg_dump instead of copying a file."""

from __future__ import annotations

import pytest

from tests.support.cli import run_sopu


@pytest.fixture
def pg(tmp_path, postgres_database):
    assert run_sopu(tmp_path, "keys", "new-kek").returncode == 0
    return {"SOPU_DIRECTORY": postgres_database}


def ok(result) -> str:
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_operators_commands_run_on_a_postgresql_directory(tmp_path, pg):
    assert "esihenkilo" in ok(run_sopu(tmp_path, "seed-demo", env=pg))
    verified = ok(run_sopu(tmp_path, "audit", "verify", env=pg))
    assert "audit_log: intact" in verified and "BROKEN" not in verified, verified
    ok(run_sopu(tmp_path, "keys", "status", env=pg))
    ok(run_sopu(tmp_path, "assignments", "expire", env=pg))
    ok(run_sopu(tmp_path, "retention", "due", env=pg))
    assert "merged" in ok(run_sopu(tmp_path, "merge", "sweep", env=pg))
    assert "changed since the last pass" in ok(
        run_sopu(tmp_path, "store", "follow", "--once", env=pg)
    )
    assert not (tmp_path / "var" / "directory.sqlite3").exists()  # nothing fell back to a file


def test_sopu_backup_of_a_postgresql_directory_points_to_pg_dump(tmp_path, pg):
    refused = run_sopu(tmp_path, "backup", str(tmp_path / "backup"), env=pg)
    assert refused.returncode != 0
    assert "pg_dump" in refused.stderr and "Traceback" not in refused.stderr
