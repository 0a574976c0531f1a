"""The example deployment files in deploy/ say what the code does: the configuration
loads, every crontab line is a real `sopu` command, the units start what exists."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from server.cli import cli
from server.config import load_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_the_example_configuration_loads_and_keeps_the_kek_off_the_data_disk():
    config = load_config(DEPLOY / "sopu.toml", env={})
    assert config.behind_tls and config.trusted_proxies == 1
    assert not str(config.kek_file).startswith(str(config.data_dir))


def test_every_crontab_line_is_a_sopu_command():
    jobs = [
        line.split(None, 5)[5]
        for line in (DEPLOY / "crontab").read_text().splitlines()
        if line[:1].isdigit()
    ]
    assert len(jobs) == 5
    for job in jobs:
        words = shlex.split(job.replace("$(", "").replace(")", ""))
        assert words[0] == "sopu"
        command = [w for w in words[1:] if not w.startswith("-") and "/" not in w][:2]
        result = CliRunner().invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, (job, result.output)


def test_the_units_run_gunicorn_with_the_shipped_settings_and_the_kek_as_a_credential():
    unit = (DEPLOY / "sopu.service").read_text()
    assert "gunicorn -c /opt/sopu/gunicorn.conf.py server.app:create_app()" in unit
    assert "LoadCredential=kek.key:/etc/sopu/kek.key" in unit
    assert "PROMETHEUS_MULTIPROC_DIR=/run/sopu/metrics" in unit
    assert "sopu backup" in (DEPLOY / "sopu-backup.service").read_text()
    assert "OnCalendar=" in (DEPLOY / "sopu-backup.timer").read_text()


def test_the_store_follower_unit_runs_a_real_sopu_command():
    unit = (DEPLOY / "sopu-store-follow.service").read_text()
    [start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    words = start.removeprefix("ExecStart=").split()
    assert words[0].endswith("/sopu") and "LoadCredential=kek.key:/etc/sopu/kek.key" in unit
    result = CliRunner().invoke(cli, [*words[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_the_live_feed_unit_and_nginx_send_live_feeds_to_the_event_loop_server():
    unit = (DEPLOY / "sopu-live-feeds.service").read_text()
    [start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    words = start.removeprefix("ExecStart=").split()
    assert words[0].endswith("/sopu") and words[1] == "live-feeds"
    result = CliRunner().invoke(cli, [*words[1:], "--help"])
    assert result.exit_code == 0, result.output
    port = words[words.index("--port") + 1]
    nginx = (DEPLOY / "nginx-sopu.conf").read_text()
    assert f"server 127.0.0.1:{port};" in nginx
    assert "(longpoll|continuous|eventsource)" in nginx and "proxy_pass http://$sopu_sync;" in nginx


def _unit_environment(unit: str) -> dict[str, str]:
    pairs = (
        line.removeprefix("Environment=").split("=", 1)
        for line in unit.splitlines()
        if line.startswith("Environment=")
    )
    return dict(pairs)


def test_the_gunicorn_unit_runs_few_threads_and_still_serves_a_stray_live_feed(tmp_path):
    """With live feeds on `sopu live-feeds`, the unit's small thread count keeps a burst
    of syncs cheap; gunicorn.conf.py must still let each worker hold one live feed that
    reached it past nginx (0 would refuse every such device)."""
    env = _unit_environment((DEPLOY / "sopu.service").read_text())
    assert int(env["SOPU_THREADS"]) <= 8
    conf = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
    probe = (
        "import os, runpy; c = runpy.run_path(os.environ['CONF']);"
        " print(c['workers'], c['threads'], os.environ['SOPU_LIVE_FEEDS_PER_WORKER'])"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SOPU_", "PROMETHEUS_"))}
    run_env = keep | {k: v for k, v in env.items() if k.startswith("SOPU_")} | {"CONF": str(conf)}
    run_env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", probe], env=run_env, capture_output=True, text=True, check=True
    ).stdout.split()
    workers, threads, live_feeds = (int(x) for x in out)
    assert (workers, threads) == (int(env["SOPU_WORKERS"]), int(env["SOPU_THREADS"]))
    assert live_feeds >= 1
