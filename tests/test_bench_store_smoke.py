"""Smoke test of scripts/bench_store.py: a small run works end to end, every figure is
there and sane, and the JSON object is the last line. It checks shapes, not the
performance targets (those are for the full run on a quiet machine, docs/performance.md)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bench_store.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None or not (ROOT / "node_modules" / "pouchdb-server").is_dir(),
        reason="needs node and node_modules (npm ci --ignore-scripts)",
    ),
]

RATES = [
    "sqlite_write_docs_per_s",
    "sqlite_read_docs_per_s",
    "replicator_push_docs_per_s",
    "plain_read_docs_per_s",
    "replicator_pull_docs_per_s",
    "pull_one_fetch_docs_per_s",
    "rss_pull_docs_per_s",
]
SMALL_RUN = ["--docs", "600", "--rss-docs", "1500", "--repeat", "1", "--batch", "100"]
RATIOS = ["pull_vs_plain_ratio", "pull_vs_plain_ratio_median", "pull_one_fetch_vs_plain_ratio"]


@pytest.fixture(scope="module")
def run() -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *SMALL_RUN, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_small_run_reports_every_figure_as_the_last_line(run):
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert (figures["docs"], figures["rss_docs"], figures["batch_size"]) == (600, 1500, 100)
    for key in RATES + RATIOS:
        value = figures[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)
    # A Python process replicating uses tens of MB; far outside this is a measuring mistake.
    assert 10 < figures["rss_peak_mb"] < 4000
    # The ratios are what the rates say: best plain round over best pull round.
    ratio = figures["replicator_pull_docs_per_s"] / figures["plain_read_docs_per_s"]
    assert figures["pull_vs_plain_ratio"] == pytest.approx(ratio, rel=0.01)


def test_table_names_the_targets(run):
    assert "(target >= 0.9)" in run.stdout
    assert "(target < 200)" in run.stdout
