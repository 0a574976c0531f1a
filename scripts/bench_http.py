"""A lean HTTP/1.1 client for the benchmarks' simulated devices: asyncio streams, one
keep-alive connection per node, JSON in and out (run the devices with `asyncio.run`).

Why so lean: the concurrent section runs 100-300 devices on the same two cores as the
server, so whatever a simulated device spends is taken from the server being measured.
`requests` + urllib3 in a thread per device spent about 6-7 ms of CPU per sync (six
requests), as much as the server's own work; `http.client` in a thread per device still
spent 1.8-3 ms (its header parser is the `email` package's, and a hundred threads take
turns at one interpreter lock). One event loop writing and parsing HTTP/1.1 directly
spends about half of that (1.0-1.8 ms). A phone's client is not on the server's cores
at all. The baseline and the syncs use the same client, so the same-run ratio stays
fair.
"""

from __future__ import annotations

import asyncio
import json
import random
from urllib.parse import urlencode, urlsplit

#: What a connection the server closed while idle raises on the next request.
STALE = (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError)


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
        self.connections: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    def close(self) -> None:
        for _, writer in self.connections.values():
            writer.close()
        self.connections.clear()

    async def get(self, path: str, params: dict | None = None, missing_ok: bool = False):
        return await self.request("GET", path, params=params, missing_ok=missing_ok)

    async def post(self, path: str, body, params: dict | None = None):
        return await self.request("POST", path, params=params, body=body)

    async def put(self, path: str, body):
        return await self.request("PUT", path, body=body)

    async def request(self, method, path, params=None, body=None, missing_ok=False):
        """The answer's JSON (None for a 404 when `missing_ok`); HttpError for others."""
        target = f"{path}?{urlencode(params)}" if params else path
        payload = b"" if body is None else json.dumps(body).encode()
        node = random.choice(self.nodes) if len(self.nodes) > 1 else self.nodes[0]
        message = self._message(node, method, target, payload, body is not None)
        async with asyncio.timeout(self.timeout):
            status, data = await self._send(node, message)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise HttpError(f"HTTP {status} {method} {path}: {data[:300]!r}")
        return json.loads(data)

    def _message(self, node: str, method: str, target: str, payload: bytes, has_body: bool):
        lines = [f"{method} {target} HTTP/1.1", f"Host: {node}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if has_body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

    async def _send(self, node: str, message: bytes) -> tuple[int, bytes]:
        for attempt in (0, 1):
            connection = self.connections.get(node)
            if connection is None:
                host, _, port = node.rpartition(":")
                connection = await asyncio.open_connection(host, int(port))
                self.connections[node] = connection
            reader, writer = connection
            try:
                writer.write(message)
                status, data, keep = await read_response(reader)
            except STALE:
                writer.close()
                del self.connections[node]
                if attempt or not self.retry_stale:
                    raise
                continue
            if not keep:
                writer.close()
                del self.connections[node]
            return status, data
        raise AssertionError("unreachable")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection stays open) of one HTTP/1.1 answer. Every
    answer the devices ask for carries a Content-Length (Flask's JSON answers; the
    streamed live feeds are not asked for), so one without is an error, not a wait."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise HttpError(f"HTTP {status} without a Content-Length: {head[:300]!r}")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"
