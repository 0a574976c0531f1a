"""Smoke test of scripts/bench_field_app.py: a small caseload is pulled by the field app
in headless Chromium end to end, and the JSON line has every figure, sane: every case
listed, today's visits shown. Shapes only; the figures (how much sooner today's visits
are readable than the whole caseload, on a large one) are for docs/performance.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_a_small_first_pull_reports_every_figure():
    if not (ROOT / "server" / "field_app" / "static" / "vendor" / "vendor.js").exists():
        subprocess.run(["bash", "scripts/build_app.sh"], cwd=ROOT, check=True)
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_field_app.py"),
            *("--docs", "60", "--cases", "4", "--today-cases", "2", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["docs"] == 60 and figures["visits_today"] == 2
    assert figures["cases_listed"] == 4
    # The script waits for today's visits before the end of the pull, so their order
    # is given; that each was timed at all is what can break.
    assert figures["today_readable_s"] > 0 and 0 < figures["first_pull_s"] < 120
    assert figures["docs_per_s"] > 0 and figures["enrol_s"] > 0
