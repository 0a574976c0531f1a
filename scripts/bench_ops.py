#!/usr/bin/env python
"""Benchmark what running Sopu in production adds: backup and restore times, and the
cost per request of the metrics and the JSON request log.

    .venv/bin/python scripts/bench_ops.py [--cases 200] [--notes 50] [--rounds 2000] [--json]

A site on the embedded store in a temporary directory, filled through the server's own
services (`--cases` cases of `--notes` sealed notes each); then `server.backup.backup`
of it (the directory's and the store's online copies, their integrity checks and
hashes) and `server.backup.restore` into a fresh data directory, timed. Then
`--rounds` requests for `/healthz` through the Flask test client (server time, no
network), with the observability hooks as installed and with them removed from the same
app, alternating in blocks so the machine's noise falls on both; the difference of the
medians is what a request pays for its counters, histogram and log line (written to
/dev/null). With --json the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import backup
from server.app import create_app
from server.config import Config
from server.keys.kek import KekRing, new_kek_line
from server.site import Site
from server.tools.demo_data import case_doc, family_doc, note_doc
from server.web import observability


def build(root: Path, cases: int, notes: int) -> Site:
    site = Site.open(
        f"sqlite:///{root / 'store'}",
        root / "directory.sqlite3",
        KekRing.from_lines([new_kek_line()], "bench"),
    )
    team = site.accounts.create_team("Perhetyö Bench", "bench")
    author = site.accounts.create("ohjaaja", "Ohjaaja", "worker", "bench", team, "pw bench 1")
    rng = random.Random(1)
    for _ in range(cases):
        family = family_doc(rng, author)
        case_id = site.cases.create(family["_id"], "bench", team_id=team)
        docs = [family, case_doc(case_id, family["_id"], author)]
        docs += [note_doc(rng, case_id, author) for _ in range(notes)]
        site.records.write(case_id, docs)
    return site


def time_backup(root: Path) -> dict:
    config = Config(data_dir=root / "var")
    started = time.perf_counter()
    manifest = backup.backup(config, root / "backup", say=lambda _line: None)
    backed_up = time.perf_counter() - started
    fresh = Config(data_dir=root / "fresh")
    started = time.perf_counter()
    backup.restore(fresh, root / "backup")
    restored = time.perf_counter() - started
    sizes = {name: facts["bytes"] for name, facts in manifest["files"].items()}
    return {
        "directory_bytes": sizes[backup.DIRECTORY_FILE],
        "store_bytes": sizes[backup.STORE_FILE],
        "backup_s": round(backed_up, 3),
        "restore_s": round(restored, 3),
    }


def time_requests(app, rounds: int) -> dict:
    client = app.test_client()
    before = app.before_request_funcs[None]
    after = app.after_request_funcs[None]
    with_hooks = (list(before), list(after))
    without = (
        [f for f in before if f is not observability._start_timer],
        [f for f in after if f is not observability._observe],
    )
    samples: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds // 100):
        for name, (b, a) in (("with", with_hooks), ("without", without)):
            app.before_request_funcs[None], app.after_request_funcs[None] = list(b), list(a)
            for _ in range(100):
                started = time.perf_counter()
                client.get("/healthz")
                samples[name].append((time.perf_counter() - started) * 1000)
    app.before_request_funcs[None], app.after_request_funcs[None] = with_hooks
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "healthz_median_ms_with": round(median["with"], 4),
        "healthz_median_ms_without": round(median["without"], 4),
        "observability_cost_ms": round(median["with"] - median["without"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--notes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopu-bench-ops-") as tmp:
        root = Path(tmp)
        var = root / "var"
        var.mkdir()
        started = time.perf_counter()
        site = build(var, args.cases, args.notes)
        print(
            f"built {args.cases} cases x {args.notes} notes in "
            f"{time.perf_counter() - started:.1f} s"
        )
        figures = time_backup(root)
        print(
            f"backup of {figures['directory_bytes'] / 1e6:.1f} MB directory + "
            f"{figures['store_bytes'] / 1e6:.1f} MB store: {figures['backup_s']} s; "
            f"restore: {figures['restore_s']} s"
        )
        logging.getLogger("sopu.requests").handlers.clear()
        app = create_app(Config(data_dir=var), site=site)
        sink = logging.FileHandler("/dev/null")
        sink.setFormatter(observability.JsonLines())
        observability.REQUEST_LOG.handlers[:] = [sink]
        figures |= time_requests(app, args.rounds)
        print(
            f"/healthz median {figures['healthz_median_ms_with']} ms with metrics and log"
            f" line, {figures['healthz_median_ms_without']} ms without: "
            f"{figures['observability_cost_ms']} ms per request"
        )
        site.close()
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
