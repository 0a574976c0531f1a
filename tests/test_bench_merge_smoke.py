"""Smoke test of scripts/bench_merge.py: a short run works end to end, every figure is
there and sane, and the JSON object is the last line. It checks shapes, not the target
(that is for the full run, docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_merge.py"
SCENARIOS = ["different_paragraphs", "same_paragraph", "same_sentence", "both_append", "stale_leaf"]


def test_a_short_run_reports_every_figure_as_json_on_the_last_line():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "0.05", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for name in SCENARIOS:
        assert figures[f"{name}_merges_per_s"] > 0
    assert figures["slowest_merges_per_s"] == min(
        figures[f"{name}_merges_per_s"] for name in SCENARIOS
    )
    assert figures["plain_merges_per_s"] > 0
    assert -1 < figures["lookup_share"] < 1
    assert figures["meets_target"] == (figures["slowest_merges_per_s"] >= 2_000)
