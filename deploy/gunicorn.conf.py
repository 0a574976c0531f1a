"""gunicorn settings for Sopu:

    gunicorn -c deploy/gunicorn.conf.py 'server.app:create_app()'

Several worker processes share one Prometheus view: each writes its metric values to
files in PROMETHEUS_MULTIPROC_DIR and `/metrics` adds them up (`server.metrics`). The
directory must be set before the app is imported (here, or in the systemd unit) and
emptied when the server starts, so counters from a previous run do not carry over.
Sopu writes its own JSON line per request to stderr, so gunicorn's access log is off.

Environment: SOPU_BIND (127.0.0.1:8000), SOPU_WORKERS (4), SOPU_THREADS (4),
PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory if unset), and the SOPU_*
settings of the README.
"""

import os
import tempfile
from pathlib import Path

bind = os.environ.get("SOPU_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SOPU_WORKERS", "4"))
worker_class = "gthread"
threads = int(os.environ.get("SOPU_THREADS", "4"))
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
