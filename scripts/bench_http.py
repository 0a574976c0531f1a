"""A lean HTTP/1.1 client for the benchmarks' simulated devices: one keep-alive
`http.client` connection per node, JSON in and out.

Why not `requests`: the concurrent section runs 100-300 devices as threads on the same
two cores as the server, and `requests` + urllib3 spent about 6-7 ms of CPU per sync
(six requests) - as much as the server's own work - so the figure measured the client.
A phone's client is not on the server's cores; this one costs about a third of that,
so more of the cores go to the server being measured. The baseline and the syncs use
the same client, so the same-run ratio stays fair.
"""

from __future__ import annotations

import http.client
import json
import random
from urllib.parse import urlencode, urlsplit

#: What a connection the server closed while idle raises on the next request.
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpError(RuntimeError):
    """An answer of 400 or more (the status and the start of the body)."""


class LeanHttp:
    """JSON requests to one or several nodes of the same site (`bases`, each
    `http://127.0.0.1:<port>`): every request goes to a node picked at random, on that
    node's own keep-alive connection. `retry_stale` sends a request once more on a new
    connection when the server had closed the old one while it sat idle (gunicorn keeps
    idle connections 2 s), as browsers and PouchDB's fetch do; only for requests that
    are safe to repeat."""

    def __init__(self, bases: list[str], timeout: float, retry_stale: bool = False):
        self.nodes = [urlsplit(base).netloc for base in bases]
        self.timeout = timeout
        self.retry_stale = retry_stale
        self.headers: dict[str, str] = {}
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()
        self.connections.clear()

    def get(self, path: str, params: dict | None = None, missing_ok: bool = False):
        return self.request("GET", path, params=params, missing_ok=missing_ok)

    def post(self, path: str, body, params: dict | None = None):
        return self.request("POST", path, params=params, body=body)

    def put(self, path: str, body):
        return self.request("PUT", path, body=body)

    def request(self, method, path, params=None, body=None, missing_ok=False):
        """The answer's JSON (None for a 404 when `missing_ok`); HttpError for others."""
        target = f"{path}?{urlencode(params)}" if params else path
        payload = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        node = random.choice(self.nodes) if len(self.nodes) > 1 else self.nodes[0]
        status, data = self._send(node, method, target, payload, headers)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise HttpError(f"HTTP {status} {method} {path}: {data[:300]!r}")
        return json.loads(data)

    def _send(self, node, method, target, payload, headers) -> tuple[int, bytes]:
        for attempt in (0, 1):
            connection = self.connections.get(node)
            if connection is None:
                connection = http.client.HTTPConnection(node, timeout=self.timeout)
                self.connections[node] = connection
            try:
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except STALE:
                connection.close()
                del self.connections[node]
                if attempt or not self.retry_stale:
                    raise
        raise AssertionError("unreachable")
