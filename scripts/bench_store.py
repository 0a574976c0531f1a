#!/usr/bin/env python
"""Throughput of the stores and the replicator, on one set of ~1 KB envelope documents.

    .venv/bin/python scripts/bench_store.py                 # 10 000 docs, table
    .venv/bin/python scripts/bench_store.py --docs 2000 --rss-docs 5000 --json

Figures (docs/s unless noted), all on the same generated data:

- SQLite `bulk_docs` (interactive, batches of 500) and `changes(include_docs=True)`;
- replicator push SQLite -> pouchdb-server (this also loads the server);
- pull pouchdb-server -> fresh SQLite: the replicator against a plain `_changes` +
  `_bulk_get` read loop through the same `CouchStore` client and batch size, and their
  ratio (target >= 0.9: the replicator's overlapping of reads and writes should hide
  the cost of writing), alternated `--repeat` times, best round and median; also the
  replicator with one fetch at a time (`fetchers=1`), which shows how much of the
  figure comes from reading the next page of changes while documents are fetched;
- peak RSS (VmHWM) of a separate process that pulls `--rss-docs` documents from
  pouchdb-server into SQLite (target < 200 MB), so the figure is the replication's own.

pouchdb-server (in memory, 127.0.0.1 only) is started by the script from node_modules.
With --json the last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sync.replicator import DEFAULT_FETCHERS, replicate  # noqa: E402
from sync.store.couch import CouchStore  # noqa: E402
from sync.store.sqlite import SQLiteStore  # noqa: E402
from tests.support.pouchdb_server import running_pouchdb_server  # noqa: E402

BATCH = 500
DOC_TYPES = ("note", "visit", "assessment", "plan", "family", "consent")


# ------------------------------------------------------------------------ data


def envelope(rng: random.Random, index: int) -> dict:
    """A realistic stored document: an encrypted envelope of about 1 KB."""
    return {
        "_id": rng.randbytes(16).hex(),
        "doc_type": DOC_TYPES[index % len(DOC_TYPES)],
        "schema_version": 2,
        "case_id": rng.randbytes(16).hex(),
        "key_version": 1 + index % 3,
        "nonce": base64.b64encode(rng.randbytes(12)).decode(),
        "ciphertext": base64.b64encode(rng.randbytes(rng.randint(600, 760))).decode(),
    }


def documents(count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [envelope(rng, i) for i in range(count)]


# ------------------------------------------------------------------------ timing


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def write_sqlite(db, docs: list[dict]) -> None:
    for start in range(0, len(docs), BATCH):
        results = db.bulk_docs(docs[start : start + BATCH])
        assert all(r.get("ok") for r in results), results[:3]


def read_changes(db, batch: int) -> int:
    """Page through `changes(include_docs=True)`; returns the rows read."""
    since, rows = 0, 0
    while page := db.changes(since, limit=batch, include_docs=True)["results"]:
        rows += len(page)
        since = page[-1]["seq"]
    return rows


def plain_read_loop(db, batch: int) -> int:
    """The baseline: what any replicator must at least do, without writing anything."""
    since, docs = 0, 0
    while True:
        changes = db.changes(since, limit=batch, style="all_docs")
        rows = changes["results"]
        if not rows:
            return docs
        wanted = [{"id": r["id"], "rev": c["rev"]} for r in rows for c in r["changes"]]
        reply = db.bulk_get(wanted, revs=True)
        docs += sum(1 for r in reply["results"] for d in r["docs"] if "ok" in d)
        since = changes["last_seq"]


# ------------------------------------------------------------------------ parts


def bench_sqlite(docs: list[dict], workdir: Path) -> tuple[dict, object]:
    store = SQLiteStore(workdir / "sqlite-source")
    db = store.create_database("bench")
    write_s = timed(lambda: write_sqlite(db, docs))
    read_s = timed(lambda: read_changes(db, BATCH))
    return {
        "sqlite_write_docs_per_s": rate(len(docs), write_s),
        "sqlite_read_docs_per_s": rate(len(docs), read_s),
    }, db


def bench_pull(source_db, workdir: Path, count: int, batch: int, repeat: int) -> dict:
    """Replicator pull vs the plain read loop, alternated `repeat` times.

    The headline figures are each side's best round: on a shared machine other load
    only ever slows a round down, so the best is the least disturbed measurement.
    """
    plain, pulled, serial = [], [], []
    for attempt in range(repeat):
        started = time.perf_counter()
        read = plain_read_loop(source_db, batch)
        plain.append(time.perf_counter() - started)
        assert read == count, (read, count)
        for fetchers, times in ((DEFAULT_FETCHERS, pulled), (1, serial)):
            target = SQLiteStore(workdir / f"pull-{attempt}-{fetchers}").create_database("b")
            times.append(timed(lambda t=target, f=fetchers: _pull(source_db, t, batch, count, f)))
    plain_s, pull_s = min(plain), min(pulled)
    return {
        "plain_read_docs_per_s": rate(count, plain_s),
        "replicator_pull_docs_per_s": rate(count, pull_s),
        "pull_vs_plain_ratio": round(plain_s / pull_s, 3),
        "pull_vs_plain_ratio_median": round(
            statistics.median(plain) / statistics.median(pulled), 3
        ),
        "pull_one_fetch_docs_per_s": rate(count, min(serial)),
        "pull_one_fetch_vs_plain_ratio": round(plain_s / min(serial), 3),
        "pull_rounds": repeat,
    }


def _pull(source_db, target_db, batch: int, count: int, fetchers: int) -> None:
    result = replicate(source_db, target_db, batch_size=batch, fetchers=fetchers)
    assert result.docs_written == count and not result.errors, result


def push(source_db, couch: CouchStore, name: str, batch: int, count: int) -> float:
    target = couch.create_database(name)
    seconds = timed(lambda: replicate(source_db, target, batch_size=batch))
    assert target.info()["doc_count"] == count
    return seconds


def bench_rss(couch: CouchStore, url: str, count: int, batch: int, workdir: Path) -> dict:
    """Load `count` docs into pouchdb-server, then pull them in a fresh process."""
    source = SQLiteStore(workdir / "rss-source").create_database("rss")
    write_sqlite(source, documents(count, seed=2))
    push(source, couch, "bench_rss", batch, count)
    child = subprocess.run(
        [
            *(sys.executable, __file__, "--batch", str(batch)),
            *("--rss-child", url, "bench_rss", str(workdir / "rss-pull")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    assert figures["docs_written"] == count, figures
    return {
        "rss_docs": count,
        "rss_peak_mb": figures["peak_mb"],
        "rss_pull_docs_per_s": rate(count, figures["seconds"]),
    }


def rss_child(url: str, name: str, directory: str, batch: int) -> None:
    """Runs in its own process: one pull as `sopu replicate` does it (with history),
    then its own peak RSS from /proc.

    VmHWM, not getrusage(RUSAGE_CHILDREN) in the parent: Linux carries the parent's
    high-water mark at fork over into the child's ru_maxrss, and the parent holds
    all the generated documents at that moment.
    """
    couch = CouchStore(url)
    target = SQLiteStore(directory).create_database(name)
    started = time.perf_counter()
    result = replicate(couch.database(name), target, batch_size=batch, history=True)
    seconds = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    hwm_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    print(
        json.dumps(
            {
                "docs_written": result.docs_written,
                "peak_mb": round(hwm_kb / 1024, 1),
                "seconds": seconds,
            }
        )
    )


# ------------------------------------------------------------------------ main


def run(args: argparse.Namespace) -> dict:
    docs = documents(args.docs)
    size = sum(len(json.dumps(d)) for d in docs) / len(docs)
    figures: dict = {"docs": args.docs, "avg_doc_bytes": round(size), "batch_size": args.batch}
    figures["cpus"], figures["load_avg_before"] = os.cpu_count(), round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="sopu-bench-") as tmp:
        workdir = Path(tmp)
        sqlite_figures, sqlite_db = bench_sqlite(docs, workdir)
        figures.update(sqlite_figures)
        with running_pouchdb_server(workdir / "pouchdb-server") as url:
            couch = CouchStore(url)
            seconds = push(sqlite_db, couch, "bench", args.batch, args.docs)
            figures["replicator_push_docs_per_s"] = rate(args.docs, seconds)
            source = couch.database("bench")
            figures.update(bench_pull(source, workdir, args.docs, args.batch, args.repeat))
            if args.rss_docs:
                figures.update(bench_rss(couch, url, args.rss_docs, args.batch, workdir))
            couch.close()
    figures["load_avg_after"] = round(os.getloadavg()[0], 2)
    return figures


TABLE = [
    ("SQLite bulk_docs write", "sqlite_write_docs_per_s", "docs/s", None),
    ("SQLite changes(include_docs) read", "sqlite_read_docs_per_s", "docs/s", None),
    ("replicator push SQLite -> pouchdb", "replicator_push_docs_per_s", "docs/s", None),
    ("plain _changes + _bulk_get loop", "plain_read_docs_per_s", "docs/s", None),
    ("replicator pull pouchdb -> SQLite", "replicator_pull_docs_per_s", "docs/s", None),
    ("pull / plain read ratio (best rounds)", "pull_vs_plain_ratio", "", ">= 0.9"),
    ("pull / plain read ratio (median)", "pull_vs_plain_ratio_median", "", None),
    ("pull, one fetch at a time", "pull_one_fetch_docs_per_s", "docs/s", None),
    ("  its ratio to the plain loop (best)", "pull_one_fetch_vs_plain_ratio", "", None),
    ("pull in its own process (RSS run)", "rss_pull_docs_per_s", "docs/s", None),
    ("peak RSS of that pull (VmHWM)", "rss_peak_mb", "MB", "< 200"),
]


def print_table(figures: dict) -> None:
    print(
        f"{figures['docs']} docs of ~{figures['avg_doc_bytes']} bytes, "
        f"batch size {figures['batch_size']}"
        + (f"; RSS run: {figures['rss_docs']} docs" if "rss_docs" in figures else "")
        + f"; {figures['cpus']} CPUs, load average {figures['load_avg_before']} before, "
        f"{figures['load_avg_after']} after"
    )
    for label, key, unit, target in TABLE:
        if key in figures:
            note = f"  (target {target})" if target else ""
            print(f"  {label:<38} {figures[key]:>10} {unit}{note}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents (default 10000)")
    parser.add_argument("--rss-docs", type=int, default=50_000, help="0 skips the RSS run")
    parser.add_argument("--batch", type=int, default=BATCH, help="replication batch size")
    parser.add_argument("--repeat", type=int, default=3, help="pull/plain rounds (median)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument(
        "--rss-child", nargs=3, metavar=("URL", "DB", "DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child, batch=args.batch)
        return
    figures = run(args)
    print_table(figures)
    if args.json:
        print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
