"""gunicorn settings for Sopu: the production setup. gunicorn reads this file from its
working directory, so in a checkout

    gunicorn 'server.app:create_app()'

is the production server (elsewhere: `gunicorn -c /opt/sopu/gunicorn.conf.py …`, as
deploy/sopu.service does).

Several worker processes share one Prometheus view: each writes its metric values to
files in PROMETHEUS_MULTIPROC_DIR and `/metrics` adds them up (`server.metrics`). The
directory must be set before the app is imported (here, or in the systemd unit) and
emptied when the server starts, so counters from a previous run do not carry over.
Sopu writes its own JSON line per request to stderr, so gunicorn's access log is off.

A live feed (a device's `_changes?feed=longpoll`) sleeps in a request thread while it
waits (it costs memory, not CPU: `server/gateway/live_feeds.py`), so each worker has
many threads and lets all but 8 of them wait (SOPU_LIVE_FEEDS_PER_WORKER): those 8
always serve logins, pushes and pages; a device beyond the limit is told 503 with
Retry-After and syncs at its next try. With the defaults a node holds 4 × 24 = 96
live devices; SOPU_THREADS=260 holds about a thousand (docs/performance.md). Where
live feeds wait in `sopu live-feeds` instead (the shipped nginx and systemd setup),
SOPU_THREADS=8 is enough, and a burst of syncs finishes sooner with it than with 32
(deploy/sopu.service sets it; docs/deployment.md, Sizing).

Environment: SOPU_BIND (127.0.0.1:8000), SOPU_WORKERS (4), SOPU_THREADS (32),
SOPU_LIVE_FEEDS_PER_WORKER (threads - 8), PROMETHEUS_MULTIPROC_DIR (a fresh temporary
directory if unset), and the SOPU_* settings of the README.
"""

import os
import tempfile
from pathlib import Path

bind = os.environ.get("SOPU_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SOPU_WORKERS", "4"))
worker_class = "server.gunicorn_worker.ThreadWorker"  # gthread, balanced: see there
threads = int(os.environ.get("SOPU_THREADS", "32"))
os.environ.setdefault("SOPU_LIVE_FEEDS_PER_WORKER", str(max(1, threads - 8)))
timeout = 90  # a long poll lasts at most 60 s
graceful_timeout = 30
accesslog = None
errorlog = "-"

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sopu-metrics-")


def on_starting(server):
    """Empty the metrics directory: values of a previous run are not this run's."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker that ended (restarted, killed) leaves its counters; its live gauges go."""
    from server.metrics import process_exited

    process_exited(worker.pid)
