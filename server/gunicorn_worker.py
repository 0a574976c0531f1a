"""gunicorn's gthread worker, with two changes for many devices syncing at once
(`worker_class = "server.gunicorn_worker.ThreadWorker"` in gunicorn.conf.py):

1. It takes a new connection only while one of its threads is free. Every worker of
   a node listens on the same socket, and gthread's main thread accepts whatever
   arrives, queueing it for its threads. When the morning's devices connect within
   the same second, whichever worker is on a core at that moment takes most of them,
   and each of those connections brings the rest of its sync's requests to that same
   worker. `scripts/bench_sync.py --sections concurrent --worker-class gthread`: one
   worker did 850 ms of the round's CPU, the other three 30-140 ms (2,030 against
   260-640 ms with 300 devices); a worker's Python runs on one core at a time, so the
   round's tail waited on that one process while the other core idled. Here a new
   connection waits in the kernel's queue until some worker has a free thread, so
   connections go to the workers that keep up. Nothing is refused: a waiting
   connection is accepted as soon as any worker finishes a request.

2. After answering on a keep-alive connection, the thread waits up to `LINGER_S` for
   the connection's next request and serves it at once. A sync is six requests in a
   row on one connection; gthread hands the connection back to its main thread after
   each one (unregister, re-register, a wake-up through a pipe, a thread switch for
   every request). A request that does not come within `LINGER_S` is left to the main
   thread's poller as before. The wait costs a thread, not CPU (the thread sleeps in
   `poll`). 10 ms leaves time for a client that is itself busy with many others (the
   benchmark's 100 devices on one event loop, a TLS proxy's kept-alive upstream
   connection) to send the next request; it was 2 ms (docs/performance.md).
"""

from __future__ import annotations

import select

from gunicorn.workers import gthread

#: How long a thread waits for the next request on the connection it just answered.
LINGER_S = 0.010


class ThreadWorker(gthread.ThreadWorker):
    """gthread with an accept gate (listening only while `in_flight` < threads) and
    a short linger for the next request on a kept-alive connection.

    `in_flight` counts requests handed to the thread pool and not yet finished; it
    is changed only on the worker's main thread (gthread hands requests out and takes
    them back there), so it needs no lock."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_flight = 0

    def has_free_thread(self) -> bool:
        return self.in_flight < self.cfg.threads

    def set_accept_enabled(self, enabled: bool) -> None:
        """gthread's run loop asks to listen whenever it holds fewer connections than
        `worker_connections`; this also waits for a free thread."""
        super().set_accept_enabled(enabled and self.has_free_thread())

    def enqueue_req(self, conn) -> None:
        self.in_flight += 1
        super().enqueue_req(conn)

    def accept(self, listener) -> None:
        super().accept(listener)
        if not self.has_free_thread():
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def handle(self, conn):
        """Serve the connection's request, then its next ones while they come within
        `LINGER_S` of the last answer (runs in a pool thread)."""
        keep = super().handle(conn)
        while keep is True and self.alive and _next_request_within(conn, LINGER_S):
            keep = super().handle(conn)
        return keep


def _next_request_within(conn, seconds: float) -> bool:
    """Whether the next request is there (read ahead already, or arriving within
    `seconds`) on a connection whose last request was answered."""
    if conn.parser is not None and conn.parser.unreader.buf.getvalue():
        return True
    poller = select.poll()
    poller.register(conn.sock.fileno(), select.POLLIN)
    return bool(poller.poll(seconds * 1000))
