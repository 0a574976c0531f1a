#!/usr/bin/env python
"""Benchmark the field app's first pull in the browser: a worker with a caseload of
2,000 documents enrols a fresh browser (headless Chromium, the app at /app/, its real
Content-Security-Policy) and the app pulls everything with PouchDB into IndexedDB.

    .venv/bin/python scripts/bench_field_app.py            # 2,000 documents, a table
    .venv/bin/python scripts/bench_field_app.py --docs 500 --json

Served by gunicorn as in production (`-w 4 -k server.gunicorn_worker.ThreadWorker
--threads 4`, TZ=Europe/Helsinki, the browser in the same zone). The caseload: --cases
cases (default 40) of a family, a case document, three visits and notes up to --docs in
all; --today-cases of them (default 5) have a visit today. Timed from the tap on
"enrol" (key generation, scrypt of the PIN, the enrolment) and from the first pulled
change:

- until today's visits are readable: the Today screen lists every visit of today,
  decrypted (the gateway sends the cases with visits today and tomorrow first);
- until the first pull is done: the sync state is idle with every document pulled;
- documents per second of the pull (documents pulled / seconds from its first change
  to its end).

With --json the last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from bench_sync import Bench, gunicorn, log  # noqa: E402

from server.tools.demo_data import case_doc, family_doc, visit_doc  # noqa: E402

ZONE = "Europe/Helsinki"
PASSWORD = "bench field app password"
PIN = "246810"


def seed(bench: Bench, docs: int, cases: int, today_cases: int) -> tuple[int, int]:
    """A worker "aino" with `cases` cases of `docs` documents in all; (documents,
    visits today)."""
    worker = bench.site.accounts.create(
        "aino", "Aino Bench", "worker", "admin", team_id=bench.team, password=PASSWORD
    )
    now = datetime.now(ZoneInfo(ZONE)).replace(hour=10, minute=0, second=0, microsecond=0)
    per_case, extra = divmod(docs, cases)
    written = visits_today = 0
    for n in range(cases):
        family = family_doc(bench.rng, worker)
        case_id = bench.site.cases.create(family["_id"], "admin", team_id=bench.team)
        today = n < today_cases
        days = (0 if today else 30 + n, -7, -14)
        batch = [family, case_doc(case_id, family["_id"], worker)]
        batch += [visit_doc(case_id, worker, now + timedelta(days=d)) for d in days]
        size = per_case + (1 if n < extra else 0)
        batch += [bench.note(case_id, worker) for _ in range(max(size - len(batch), 0))]
        bench.write(case_id, batch)
        bench.site.cases.assign(case_id, worker, "own_worker", "admin")
        written += len(batch)
        visits_today += int(today)
    return written, visits_today


def first_pull(url: str, visits_today: int, docs: int, timeout_s: float) -> dict:
    """Enrol in a fresh browser context and time the first pull (seconds)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(timezone_id=ZONE, locale="fi-FI")
        page = context.new_page()
        page.goto(f"{url}/app/")
        page.fill("#username", "aino")
        page.fill("#password", PASSWORD)
        page.fill("#pin", PIN)
        page.fill("#pin2", PIN)
        tapped = time.perf_counter()
        page.click("#enrol")
        page.wait_for_selector("#sync-progress, #sync-state.fa-sync--idle", timeout=60_000)
        pulling = time.perf_counter()
        page.wait_for_function(
            "n => document.querySelectorAll('#today > li').length >= n",
            arg=visits_today,
            timeout=timeout_s * 1000,
            polling=50,
        )
        readable = time.perf_counter()
        page.wait_for_function(
            "() => document.querySelector('#sync-state.fa-sync--idle') !== null"
            " && !document.querySelector('#sync-progress')",
            timeout=timeout_s * 1000,
            polling=50,
        )
        done = time.perf_counter()
        page.goto(f"{url}/app/#/cases")
        cases_listed = page.locator("#caseload > li").count()
        context.close()
        browser.close()
    return {
        "enrol_s": round(pulling - tapped, 3),
        "today_readable_s": round(readable - pulling, 3),
        "today_readable_from_tap_s": round(readable - tapped, 3),
        "first_pull_s": round(done - pulling, 3),
        "docs_per_s": round(docs / max(done - pulling, 1e-6), 1),
        "cases_listed": cases_listed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents in the caseload")
    parser.add_argument("--cases", type=int, default=40, help="cases in the caseload")
    parser.add_argument("--today-cases", type=int, default=5, help="cases with a visit today")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait at most")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopu-bench-app-") as tmp:
        workdir = Path(tmp)
        bench = Bench.create(workdir / "site", seed=7)
        written, visits_today = seed(bench, args.docs, args.cases, args.today_cases)
        log(f"field app: {written} documents in {args.cases} cases, {visits_today} visits today")
        with gunicorn(bench, workdir, "field-app", extra_env={"TZ": ZONE}) as server:
            figures = first_pull(server.url, visits_today, written, args.timeout)
        bench.close()
    figures |= {"docs": written, "cases": args.cases, "visits_today": visits_today}
    for key, value in figures.items():
        print(f"{key:28} {value}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
