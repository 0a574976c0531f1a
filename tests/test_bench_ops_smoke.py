"""Smoke test of scripts/bench_ops.py: a small run works end to end and its JSON line
has every figure, sane. Shapes only; the figures are for docs/performance.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_a_small_run_reports_every_figure():
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_ops.py"),
            "--cases",
            "4",
            "--notes",
            "2",
            "--rounds",
            "200",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["directory_bytes"] > 0 and figures["store_bytes"] > 0
    assert 0 < figures["backup_s"] < 60 and 0 < figures["restore_s"] < 60
    assert 0 < figures["healthz_median_ms_without"] < figures["healthz_median_ms_with"] + 1
