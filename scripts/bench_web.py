#!/usr/bin/env python
"""Benchmark the supervisor web: server time of the team overview and of a case page.

    .venv/bin/python scripts/bench_web.py [--workers 12] [--cases 600] [--notes 200]
                                          [--rounds 30] [--json]

A site on the embedded store in a temporary directory, filled through the server's own
services (accounts, families and cases with their sealed documents, assignments): a
team of `--workers` instructors and their supervisor, `--cases` cases spread over them
in every status with a visit each, and one case with `--notes` notes (drafts and final
ones, some amended) and a client plan with ratings. Each page is requested `--rounds`
times as the logged-in supervisor through the Flask test client (the WSGI app itself:
server time, no network), after two warm-up requests; the figures are the median and
the 95th percentile in milliseconds. Targets: median <= 300 ms and p95 <= 600 ms for
each page. With --json the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.app import create_app
from server.config import Config
from server.keys.kek import KekRing, new_kek_line
from server.site import Site
from server.tools.demo_data import family_doc, note_doc, visit_doc

PASSWORD = "bench web password"
TARGET_MEDIAN_MS, TARGET_P95_MS = 300, 600
STATUSES = ["pending", "assessment", "active", "active", "active"]


def build(root: Path, workers: int, cases: int, notes: int) -> tuple[Site, str, str]:
    """The site, the supervisor's username and the id of the case with many notes."""
    site = Site.open(
        f"sqlite:///{root / 'store'}",
        root / "directory.sqlite3",
        KekRing.from_lines([new_kek_line()], "bench"),
    )
    team = site.accounts.create_team("Perhetyö Bench", "bench")
    boss = site.accounts.create(
        "esihenkilo", "Sanna Esihenkilö", "supervisor", "bench", team, PASSWORD
    )
    people = [
        site.accounts.create(f"ohjaaja{n}", f"Ohjaaja {n}", "worker", "bench", team, PASSWORD)
        for n in range(workers)
    ]
    rng = random.Random(1)
    big = None
    for number in range(cases):
        case_id = _case(site, rng, team, boss, people[number % workers], number)
        big = big or case_id
        if number % 50 == 0:
            print(f"  {number}/{cases} cases", file=sys.stderr)
    _notes(site, rng, big, people[0], notes)
    return site, "esihenkilo", big


def _case(site: Site, rng: random.Random, team: str, boss: str, worker: str, n: int) -> str:
    today = date.today()
    family = family_doc(rng, boss)
    details = {k: family[k] for k in ("display_name", "members")}
    pending = today - timedelta(days=rng.randint(3, 80))  # + 2 days of status changes
    first = {
        "service_task": "family_social_guidance",
        "pending_since": pending.isoformat(),
        "special_support_need": rng.random() < 0.5,
        "referral": {"source": "parent_self", "received_on": pending.isoformat()},
    }
    _family, case_id = site.families.create(team, details, first, boss)
    status = STATUSES[n % len(STATUSES)]
    if status != "pending":
        site.casework.change_status(case_id, "assessment", pending + timedelta(days=1), boss)
    if status == "active":
        site.casework.change_status(case_id, "active", pending + timedelta(days=2), boss)
    site.casework.assign(case_id, worker, "own_worker", boss)
    when = datetime.now(UTC) + timedelta(days=rng.randint(-3, 3))
    site.records.write(case_id, [visit_doc(case_id, worker, when)])
    return case_id


def _notes(site: Site, rng: random.Random, case_id: str, worker: str, count: int) -> None:
    docs = []
    for n in range(count):
        note = note_doc(rng, case_id, worker, phrases=4)
        if n % 3 == 0:
            note.update(state="final", finalised_by=worker, finalised_at=note["updated_at"])
        docs.append(note)
    for start in range(0, len(docs), 100):
        site.records.write(case_id, docs[start : start + 100])


def timed(client, path: str, rounds: int) -> dict:
    for _ in range(2):
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, path
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, math.ceil(0.95 * len(times)) - 1)], 1),
    }


def log_in(client, username: str) -> None:
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopu-bench-web-") as tmp:
        site, supervisor, big = build(Path(tmp), args.workers, args.cases, args.notes)
        app = create_app(Config(data_dir=Path(tmp) / "var", secret_key="bench"), site=site)
        client = app.test_client()
        log_in(client, supervisor)
        overview = timed(client, "/", args.rounds)
        case_page = timed(client, f"/cases/{big}", args.rounds)
        site.close()
    figures = {
        "workers": args.workers,
        "cases": args.cases,
        "notes_on_case_page": args.notes,
        "overview_median_ms": overview["median_ms"],
        "overview_p95_ms": overview["p95_ms"],
        "case_page_median_ms": case_page["median_ms"],
        "case_page_p95_ms": case_page["p95_ms"],
        "target_median_ms": TARGET_MEDIAN_MS,
        "target_p95_ms": TARGET_P95_MS,
    }
    figures["meets_target"] = all(
        figures[f"{page}_median_ms"] <= TARGET_MEDIAN_MS
        and figures[f"{page}_p95_ms"] <= TARGET_P95_MS
        for page in ("overview", "case_page")
    )
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
