"""A load balancer for tests: each HTTP request goes to a node picked at random.

Put it in front of two gateway nodes to play a device whose requests alternate
between nodes, connection reuse or not: the proxy reads each request whole, sends it
to a random node, and relays the answer on a connection it then closes. It counts how many
requests each node got, so a test can show both served the device.

    with RandomNodes([node_a, node_b], seed=1) as balancer:
        device.enrol(balancer.url, ...)
    balancer.served   # Counter: node URL -> requests
"""

from __future__ import annotations

import random
import re
import threading
import traceback
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RandomNodes:
    def __init__(self, nodes: list[str], seed: int):
        self.nodes = list(nodes)
        self.rng = random.Random(seed)
        self.served: Counter = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def pick(self) -> str:
        with self._lock:
            node = self.rng.choice(self.nodes)
            self.served[node] += 1
        return node

    def pick_for(self, path: str) -> str:
        """The node for a request of `path` (here: any, at random)."""
        return self.pick()

    def _handler(self):
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                try:
                    self._forward()
                except Exception:  # a broken relay must show in the test's output
                    traceback.print_exc()
                    raise

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = requests.request(
                    self.command,
                    balancer.pick_for(self.path) + self.path,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    timeout=120,
                )
                self.send_response(answer.status_code)
                for name, value in answer.raw.headers.items():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                # One request per connection, said so: a client that kept the socket
                # for its next request would find it closed.
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

            def log_message(self, *args) -> None:  # quiet
                pass

        return Handler

    def __enter__(self) -> RandomNodes:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class FeedRouter(RandomNodes):
    """What deploy/nginx-sopu.conf does: `_changes` with feed=longpoll, continuous or
    eventsource to the live-feed server, everything else to the gateway."""

    LIVE = re.compile(r"^/sync/[^/]+/_changes\?(.*&)?feed=(longpoll|continuous|eventsource)(&|$)")

    def __init__(self, gateway: str, live: str):
        super().__init__([gateway, live], seed=0)
        self.gateway, self.live = gateway, live

    def pick_for(self, path: str) -> str:
        node = self.live if self.LIVE.match(path) else self.gateway
        with self._lock:
            self.served[node] += 1
        return node
