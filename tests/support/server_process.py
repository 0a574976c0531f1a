"""`sopu serve` in a child process on a fixed 127.0.0.1 port, to kill and start again.

The crash tests need the real server code in a process of its own: one they can lose
to SIGKILL (its own, through the fault-injection hook `SOPU_TEST_CRASH_AFTER`) and
start again on the same port and data directory, so devices enrolled against it carry
on. Its output goes to `<data dir>/server-<n>.log`.

    proc = ServerProcess(tmp_path / "var")
    proc.start(SOPU_TEST_CRASH_AFTER="store_write")
    ...                                 # the server kills itself mid-push
    assert proc.wait_exit() == -signal.SIGKILL
    proc.start()                        # same port, same data
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.pouchdb_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


class ServerProcess:
    def __init__(self, data_dir: Path, port: int | None = None, **env: str):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **env: str) -> None:
        """Start the server (with extra environment `env`) and wait until it answers."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
        full = {**base, **self.env, **env, "SOPU_DATA_DIR": str(self.data_dir)}
        full["PYTHONPATH"] = str(REPO_ROOT)
        self.starts += 1
        log = open(self.data_dir / f"server-{self.starts}.log", "wb")  # noqa: SIM115
        with log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--port", str(self.port)],
                env=full, cwd=self.data_dir, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.log()}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {STARTUP_TIMEOUT} s: {self.log()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        """The exit status of a server that is ending by itself (negative: a signal)."""
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        path = self.data_dir / f"server-{self.starts}.log"
        return path.read_text("utf-8", errors="replace")[-3000:] if path.exists() else ""
