"""`sopu simulate`: a small field day must lose no edit and converge every replica."""

from __future__ import annotations

import json
import subprocess
import sys

KEYS = {"edits_made", "edits_present", "auto_merged", "reconciliation_items", "replicas_identical"}


def test_small_field_day_loses_nothing_and_converges():
    args = ["--workers", "2", "--families", "2", "--days", "1", "--seed", "1", "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "server", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) >= KEYS
    assert report["edits_made"] > 0
    assert 0 <= report["auto_merged"] <= 1
    assert report["edits_present"] == report["edits_made"], report["missing"]
    assert report["replicas_identical"] is True
    # Every case has a scratch note deleted on one phone each day: either an edit met the
    # deletion (kept, with an item) or its sentence went with it, seen by the deleter.
    assert report["deletions_kept"] + report["edits_superseded"] >= 2
    assert report["conflicts"] >= 2 and report["unresolved_conflicts"] == 0
    assert result.returncode == 0, result.stderr
    assert "day 1/1" in result.stderr  # progress goes to stderr, the report to stdout
