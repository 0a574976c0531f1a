"""`sopu assignments expire` as cron runs it on a quiet site."""

from __future__ import annotations

from datetime import date

from tests.support.cli import run_sopu as sopu
from tests.support.cli import var_site as site_of


def test_expire_ends_past_assignments_rotates_keys_and_is_repeatable(tmp_path):
    assert sopu(tmp_path, "keys", "new-kek").returncode == 0
    site = site_of(tmp_path)
    team = site.accounts.create_team("Tiimi", "setup")
    own = site.accounts.create("oona", "Oona", "worker", "setup", team, "pitkä-salasana-1")
    sub = site.accounts.create("sami", "Sami", "worker", "setup", team, "pitkä-salasana-1")
    cases = [site.cases.create("f" * 32, "setup", team) for _ in range(2)]
    for case_id in cases:
        site.cases.assign(case_id, own, "own_worker", "setup", date(2026, 5, 1))
    past = site.cases.assign(
        cases[0], sub, "substitute", "setup", date(2026, 5, 1), date(2026, 5, 10)
    )
    later = site.cases.assign(
        cases[1], sub, "substitute", "setup", date(2026, 5, 1), date(2026, 5, 20)
    )
    site.close()

    run = sopu(tmp_path, "assignments", "expire", "--today", "2026-05-11")
    assert run.returncode == 0, run.stderr
    assert "ended 1 expired assignments in 1 cases (as of 2026-05-11)" in run.stdout
    assert past in run.stdout and later not in run.stdout
    site = site_of(tmp_path)
    assert site.cases.assignment(past)["ended_at"] is not None
    assert site.cases.assignment(later)["ended_at"] is None
    assert [site.keys.current(c).version for c in cases] == [2, 1]
    assert site.cases.of_worker(own, date(2026, 5, 11)) == sorted(cases)
    site.close()

    again = sopu(tmp_path, "assignments", "expire", "--today", "2026-05-11")
    assert again.returncode == 0 and "ended 0 expired assignments" in again.stdout
    site = site_of(tmp_path)
    assert [site.keys.current(c).version for c in cases] == [2, 1]
    site.close()


def test_expire_refuses_a_malformed_day(tmp_path):
    run = sopu(tmp_path, "assignments", "expire", "--today", "11.5.2026")
    assert run.returncode == 2 and "--today" in run.stderr
