"""Sopu's gunicorn worker (server/gunicorn_worker.py), run by a real gunicorn: a worker
whose threads are all busy leaves new connections to the others, and a kept-alive
connection is served request after request without holding a thread while it idles.

The app is tests/support/worker_app.py (`/pid` answers the worker's pid, `/slow` after
a second), so what is measured is the worker, not Sopu's app.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pouchdb_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


@contextlib.contextmanager
def gunicorn(tmp_path: Path, workers: int, threads: int) -> Iterator[int]:
    """gunicorn with Sopu's worker class on a free port (run outside the checkout, so
    ./gunicorn.conf.py does not apply); the port, once every worker answers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
        "-k", "server.gunicorn_worker.ThreadWorker", "-b", f"127.0.0.1:{port}",
        "--keep-alive", "5", "tests.support.worker_app:app",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_workers(port, workers)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_for_workers(port: int, workers: int) -> None:
    deadline = time.monotonic() + 30
    seen: set[str] = set()
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"gunicorn answered from {len(seen)} workers"
        with contextlib.suppress(OSError):
            seen.add(get(port, "/pid"))
        time.sleep(0.05)


def get(port: int, path: str, connection: http.client.HTTPConnection | None = None) -> str:
    """The body of GET `path` (on `connection`, kept alive, or on a new one)."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        if own:
            connection.close()


def test_a_worker_with_no_free_thread_leaves_new_connections_to_the_others(tmp_path):
    with gunicorn(tmp_path, workers=2, threads=1) as port:
        for _ in range(3):
            busy = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            busy.request("GET", "/slow")
            time.sleep(0.2)  # the slow request holds its worker's only thread
            answers = []
            for _ in range(6):  # with plain gthread about half would wait a second
                started = time.monotonic()
                answers.append((get(port, "/pid"), time.monotonic() - started))
            busy_pid = busy.getresponse().read().decode()
            busy.close()
            assert all(pid != busy_pid for pid, _ in answers), answers
            assert max(seconds for _, seconds in answers) < 0.5, answers


def test_a_kept_alive_connection_is_served_throughout_and_frees_its_thread(tmp_path):
    with gunicorn(tmp_path, workers=1, threads=1) as port:
        device = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        pids = {get(port, "/pid", device) for _ in range(20)}  # a sync's requests in a row
        assert len(pids) == 1
        # The device goes quiet with its connection open: the one thread serves others.
        started = time.monotonic()
        assert get(port, "/pid") in pids
        assert time.monotonic() - started < 0.5
        time.sleep(0.1)  # far longer than the linger: the connection is in the poller
        assert get(port, "/pid", device) in pids  # and is still served when it speaks
        device.close()
