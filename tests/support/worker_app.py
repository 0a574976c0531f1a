"""A WSGI app for the tests of Sopu's gunicorn worker (tests/test_gunicorn_worker.py):
`/pid` answers the worker's process id at once, `/slow` after a second."""

from __future__ import annotations

import os
import time


def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(1.0)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
