"""`sopu seed-demo` and `sopu serve`, as the quick start runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta

import requests

from server.legal.social_reporting import SUPPRESSED, social_report
from tests.support.cli import run_sopu, var_site
from tests.support.pouchdb_server import free_port


def test_seed_demo_prints_logins_and_builds_a_realistic_organisation(tmp_path):
    first = run_sopu(tmp_path, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert "esihenkilo" in first.stdout and "password:" in first.stdout
    again = run_sopu(tmp_path, "seed-demo")
    assert again.returncode == 0 and again.stdout == first.stdout

    site = var_site(tmp_path)
    try:
        statuses = {r["status"] for r in site.directory.query("SELECT status FROM cases")}
        assert statuses == {"pending", "assessment", "active", "closed"}
        days = {r["day"] for r in site.directory.query("SELECT day FROM case_visits")}
        today = date.today()
        assert {today.isoformat(), (today + timedelta(days=1)).isoformat()} <= days
        aino = site.accounts.by_username("aino")
        assert site.cases.of_worker(aino["id"])
        assert len(site.directory.query("SELECT id FROM workers")) == 5
        # The social report has something to show: one phenomenon counted, small ones
        # suppressed.
        team = site.accounts.by_username("esihenkilo")["team_id"]
        months = sorted(
            {r["observed_in"] for r in site.directory.query("SELECT observed_in FROM observations")}
        )
        report = social_report(
            site.observations.of_team(team, months[0], months[-1]), months[0], months[-1]
        )
        counts = {row.tag: row.count for row in report.rows}
        assert counts["shift-work"] == 5 and counts["housing-insecurity"] == SUPPRESSED
    finally:
        site.close()


def test_serve_answers_and_logs_a_demo_user_in(tmp_path):
    run_sopu(tmp_path, "seed-demo")
    port = free_port()
    env = dict(os.environ, SOPU_DATA_DIR=str(tmp_path / "var"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        session = requests.Session()
        login = session.post(
            f"{base}/api/login", json={"username": "aino", "password": "sopu-demo-2026"}
        )
        assert login.status_code == 200 and login.json()["role"] == "worker"
        assert session.get(f"{base}/api/me").json()["username"] == "aino"
        assert "/api/devices" in requests.get(f"{base}/api/openapi.json").json()["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
