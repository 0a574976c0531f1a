"""Smoke test of scripts/bench_sync.py: the quick run works end to end and reports every
figure. It checks the shape and sanity of the figures, not the performance targets
(those are for the full run on a quiet machine)."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bench_sync.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None
        or not (ROOT / "node_modules" / "pouchdb").is_dir()
        or not (ROOT / "node_modules" / "pouchdb-server").is_dir(),
        reason="needs node and node_modules (npm ci --ignore-scripts)",
    ),
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None, reason="needs gunicorn"),
]

HEADLINES = [
    "pull_ratio_sqlite",
    "pull_ratio_pouchdb_store",
    "noop_median_ms",
    "noop_ratio_20x",
    "concurrent_p99_ms",
    "concurrent_errors",
    "concurrent_alone_server_ms",
    "pull_50k_rss_mb",
]
RATES = [
    "direct_docs_per_s",
    "gateway_sqlite_docs_per_s",
    "gateway_pouchdb_store_docs_per_s",
    "pull_50k_docs_per_s",
]


def positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (math.isfinite(value) and value > 0)
    )


@pytest.fixture(scope="module")
def figures() -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last)


def test_quick_run_reports_every_figure(figures):
    assert figures["errors"] == {}, figures["errors"]
    assert figures["quick"] is True
    for key in HEADLINES + RATES:
        assert key in figures, key
    for key in [
        *RATES,
        "pull_ratio_sqlite",
        "pull_ratio_pouchdb_store",
        "noop_median_ms",
        "noop_ratio_20x",
        "concurrent_p99_ms",
        "pull_50k_rss_mb",
    ]:
        assert positive(figures[key]), (key, figures[key])


def test_figures_are_sane(figures):
    assert figures["concurrent_errors"] == 0
    assert figures["concurrent_initial_errors"] == 0
    assert figures["noop_p95_ms"] >= figures["noop_median_ms"]
    assert figures["concurrent_p99_ms"] >= figures["concurrent_p50_ms"]
    assert figures["concurrent_devices"] >= 2
    assert figures["concurrent_floor_errors"] == 0  # the same-run baseline
    assert figures["concurrent_floor_p99_ms"] > 0
    assert figures["concurrent_server_cpu_ms_per_sync"] > 0
    # A Python web worker uses tens of MB; far outside this is a measuring mistake.
    assert 10 < figures["pull_50k_rss_mb"] < 4000
    assert figures["pull_docs_with_keyrings"] == figures["pull_docs"] + figures["pull_cases"]


def test_meets_targets_names_every_headline(figures):
    verdicts = figures["meets_targets"]
    assert set(verdicts) == set(HEADLINES)
    assert all(isinstance(v, bool) for v in verdicts.values())


def test_the_nodes_section_compares_one_and_two_nodes_on_postgresql(postgres_url):
    """`--sections nodes`: one node on SQLite, one and two nodes on PostgreSQL, each with
    its p99 and errors, and the ratios against the SQLite baseline of the same run."""
    command = [sys.executable, str(SCRIPT), "--quick", "--json", "--sections", "nodes"]
    proc = subprocess.run(
        [*command, "--postgres", postgres_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["errors"] == {}, figures["errors"]
    for setup in ("sqlite_1", "postgresql_1", "postgresql_2"):
        assert positive(figures[f"nodes_{setup}_p99_ms"]), setup
        assert figures[f"nodes_{setup}_errors"] == 0, figures[f"nodes_{setup}_error_samples"]
        assert figures[f"nodes_{setup}_docs"] == figures["nodes_devices"] * 2  # 2 cases each
    for setup in ("postgresql_1", "postgresql_2"):
        assert positive(figures[f"nodes_{setup}_p99_over_sqlite"])
    assert "2 nodes, PostgreSQL directory" in proc.stdout


def test_the_live_section_holds_feeds_and_times_api_and_delivery():
    """`--sections live`: every live device held with no error, the API timed beside
    its baseline, writes delivered to the live devices of their case, RSS reported."""
    command = [sys.executable, str(SCRIPT), "--quick", "--json", "--sections", "live"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["errors"] == {}, figures["errors"]
    assert figures["live_errors"] == 0, figures["live_error_samples"]
    assert figures["live_deliveries"] == figures["live_devices"]  # 10 per pushed case
    for key in ("live_api_baseline_p99_ms", "live_api_p99_ms", "live_delivery_p99_ms"):
        assert positive(figures[key]), key
    assert figures["live_rss_mb"] > 0 and figures["live_delivery_p99_ms"] < 5000
