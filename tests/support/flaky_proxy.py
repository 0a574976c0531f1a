"""A TCP proxy on 127.0.0.1 that cuts connections at random byte offsets, both ways.

Put it between a device and the server to play a phone on a bad network: each
connection it accepts is, with probability `drop_rate`, given a random byte budget
in one direction (requests or responses); once that many bytes have passed, both
sockets are reset at once — in the middle of a request line, a header, a body, or a
response. Everything else is passed through untouched. Seeded, so a failure can be
replayed (the order in which threads run still varies).

    with FlakyProxy(server_url, seed=1, drop_rate=0.3) as proxy:
        remote = RemoteDatabase(f"{proxy.url}/sync/{worker}")
    proxy.cuts   # how many connections were cut, by direction
"""

from __future__ import annotations

import contextlib
import math
import random
import socket
import struct
import threading
from collections import Counter
from urllib.parse import urlsplit

HOST = "127.0.0.1"
CHUNK = 4096
UP, DOWN = "up", "down"  # device → server, server → device


class FlakyProxy:
    def __init__(
        self, target_url: str, seed: int, drop_rate: float = 0.3, max_offset: int = 64_000
    ):
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.rng = random.Random(seed)
        self.drop_rate = drop_rate
        self.max_offset = max_offset
        self.cuts: Counter = Counter()
        self.connections = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.2)
        self.url = f"http://{HOST}:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _plan(self) -> dict[str, int | None]:
        """The byte budget of each direction of a new connection (None: unlimited)."""
        with self._lock:
            self.connections += 1
            budget: dict[str, int | None] = {UP: None, DOWN: None}
            if self.rng.random() < self.drop_rate:
                # Log-uniform: as many cuts in the first hundred bytes (request and
                # status lines, headers) as in the bodies further on.
                offset = int(math.exp(self.rng.uniform(0, math.log(self.max_offset))))
                budget[self.rng.choice((UP, DOWN))] = offset
            return budget

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError:
            _reset(client)
            return
        budget = self._plan()
        pair = _Pair(client, server)
        for source, sink, direction in ((client, server, UP), (server, client, DOWN)):
            threading.Thread(
                target=self._pump, args=(pair, source, sink, direction, budget[direction]),
                daemon=True,
            ).start()  # fmt: skip

    def _pump(self, pair, source, sink, direction: str, budget: int | None) -> None:
        passed = 0
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)  # pass the half-close on
                    pair.finished()
                    return
                if budget is not None and passed + len(data) > budget:
                    sink.sendall(data[: budget - passed])
                    with self._lock:
                        self.cuts[direction] += 1
                    pair.cut()
                    return
                sink.sendall(data)
                passed += len(data)
        except OSError:
            pair.cut()


class _Pair:
    """The two sockets of one proxied connection; cut both at once."""

    def __init__(self, client: socket.socket, server: socket.socket):
        self.sockets = (client, server)
        self._lock = threading.Lock()
        self.done = False
        self.ended = 0  # directions that ended normally

    def cut(self) -> None:
        with self._lock:
            if self.done:
                return
            self.done = True
        for sock in self.sockets:
            _reset(sock)

    def finished(self) -> None:
        """One direction ended cleanly; once both have, close both sockets."""
        with self._lock:
            self.ended += 1
            if self.ended < 2 or self.done:
                return
            self.done = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a dropped mobile connection looks to both ends.

    `shutdown(SHUT_RD)` first wakes the other pump, which may be blocked reading this
    socket: until its read returns the kernel keeps the socket open and sends nothing."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()
