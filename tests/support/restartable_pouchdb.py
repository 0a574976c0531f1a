"""A private pouchdb-server that a test can kill -9 and start again with its data.

`running_pouchdb_server` (tests/support/pouchdb_server.py) runs one for a whole session,
in memory, on whatever port is free. A store-outage test needs one of its own, on disk
(leveldown), on a port that stays the same across restarts, so the Sopu server on top
keeps its store URL while the store goes away and comes back.

    store = RestartablePouchDB(tmp_path / "couch")
    store.start()
    store.kill()      # SIGKILL to its process group: requests are refused
    store.start()     # same port, same data
    store.stop()
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from tests.support.pouchdb_server import _probe, _start, _stop, free_port

STARTUP_TIMEOUT = 30.0


class RestartablePouchDB:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc, server_uuid = _start(self.workdir, self.port, in_memory=False)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _probe(self.url, server_uuid):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pouchdb-server did not start on {self.url}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crash would: no clean shutdown."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
