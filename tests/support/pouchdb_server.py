"""A real CouchDB-protocol peer for tests: pouchdb-server 4.x run from node_modules.

Install it with ``npm ci --ignore-scripts`` at the repository root (package.json /
package-lock.json pin the versions). The server runs in-memory by default (memdown,
pure JavaScript, no native code); ``in_memory=False`` stores databases under
``workdir/data`` with leveldown, whose prebuilt binary node-gyp-build loads without
any install script.

    with running_pouchdb_server(tmp_path) as base_url:
        requests.put(f"{base_url}/mydb")

The server listens on 127.0.0.1 only, in "admin party" mode (no admin users: every
request is treated as coming from an admin; a non-admin ``PUT /db`` would crash
pouchdb-server). Its log goes to ``workdir/pouchdb-server.log``, its stdout/stderr to
``workdir/pouchdb-server.out``; nothing is printed to the terminal.

Quirks of pouchdb-server 4.2.0 (express-pouchdb 4.2.0 over PouchDB 7.3.1), observed
against this build; CouchDB 3 differs where noted:

* Sequences are integers: ``update_seq`` in ``GET /db``, ``seq`` and ``last_seq`` in
  ``_changes`` (CouchDB: opaque strings). ``since`` accepts an int or a numeric
  string; an unparseable ``since`` (e.g. a CouchDB seq "2-g1AAAA") gives
  ``{"results": [], "last_seq": "2-g1AAAA"}``, echoing it back, not an error.
  ``since=now`` works; ``limit=0`` behaves like ``limit=1``; ``seq_interval`` is
  ignored; ``feed=eventsource`` is answered like ``feed=normal``.
* ``feed=longpoll`` ignores ``timeout`` (and ``heartbeat``): with no new change it
  never answers; it does return as soon as a change arrives. ``feed=continuous``
  likewise never ends. Always give the HTTP client its own read timeout.
* ``_local`` docs: revs are ``"0-N"``; ``PUT`` without the current ``_rev`` is 409;
  ``DELETE`` answers rev ``"0-0"``; they never appear in ``_changes``/``_all_docs``
  and do not bump ``update_seq``. ``_bulk_docs`` with ``new_edits:false`` and a
  ``_local`` doc gives a per-doc conflict and stores nothing.
* ``_bulk_docs`` with ``new_edits:false`` answers ``201 []``; a doc without ``_rev``
  there is ``400 {"error":"bad_request","reason":"Invalid rev format"}`` for the whole
  request. ``PUT /db/doc?new_edits=false`` also works (and also answers ``[]``).
* ``_revs_diff`` reports as missing every rev that has no stored body, including
  ancestors present in the rev tree as stubs (CouchDB: only revs absent from the
  tree); it never returns ``possible_ancestors``.
* ``_bulk_get``: requests are grouped by doc id; for one id, entries with a ``rev``
  are merged into one open_revs read and entries without a rev are then dropped.
  A missing doc (or a deleted winner) requested without ``rev`` comes back as
  ``{"id": X, "docs": [{}]}`` - an empty object, not an ``error`` entry. A missing
  rev comes back as ``{"missing": "1-x"}``. ``latest=true`` is honoured.
* ``revs_limit`` is 1000 (PouchDB default); ``/db/_revs_limit`` is not implemented
  (GET 404, PUT 400). Longer histories are stemmed on write.
* Status codes: conflict 409 ``{"error":"conflict","reason":"Document update
  conflict"}``; bad JSON 400 ``{"error":"bad_request","reason":"invalid_json"}``;
  missing doc 404 ``{"error":"not_found","reason":"missing"}`` - also for a deleted
  doc (CouchDB: reason "deleted"); missing db 404 ``reason "no_db_file"``; existing db
  on PUT 412 ``file_exists``; doc id ``_foo`` 400 "Only reserved document ids may
  start with underscore.". But: ``DELETE /db`` of a missing db is 200; ``DELETE
  /db/doc`` without ``rev`` deletes the winner (CouchDB: 409); a PUT body whose
  ``_id`` differs from the URL writes the body's id; a body sent without
  ``Content-Type: application/json`` (or an empty body) is ignored and an empty doc
  is stored; ``{"docs": "x"}`` to ``_bulk_docs`` is a 500 with an HTML page.
* Responses are ``Content-Type: text/plain; charset=utf-8`` unless the request says
  ``Accept: application/json``; ``open_revs`` always answers JSON (never multipart).
* Database names are barely checked: ``PUT /_bad`` and ``PUT /E`` succeed,
  ``PUT /a%2Fb`` creates ``ab``. ``_all_dbs`` always lists ``_replicator`` and
  ``_users``. Request bodies may be up to 4 GiB (a 2-5 MB doc is fine).
* The CLI flag ``--no-stdout-logs`` is parsed by nomnom as the negation of
  ``stdout-logs`` and has no effect; the config key ``pouchdb_server.no-stdout-logs``
  works, so it is set in the generated config.json.
* The ``_replicator`` daemon runs: a doc written to ``_replicator`` (or a POST to
  ``/_replicate``) would make the server open connections elsewhere. Tests must not
  do that with anything but a 127.0.0.1 URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
POUCHDB_SERVER_BIN = REPO_ROOT / "node_modules" / ".bin" / "pouchdb-server"

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
LOG_NAME = "pouchdb-server.log"
OUT_NAME = "pouchdb-server.out"

# A direct opener: never send loopback traffic through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
        return False


def pouchdb_server_command() -> list[str]:
    """``[node, path-to-pouchdb-server]``, or RuntimeError telling how to install it."""
    if not POUCHDB_SERVER_BIN.exists():
        raise RuntimeError(
            f"pouchdb-server is not installed ({POUCHDB_SERVER_BIN} is missing): "
            f"run `npm ci --ignore-scripts` in {REPO_ROOT}"
        )
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH: pouchdb-server needs Node.js (v18 or later)")
    return [node, str(POUCHDB_SERVER_BIN)]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no {path.name})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path.name} is empty)"


def _logs(workdir: Path) -> str:
    return (
        f"--- {OUT_NAME} (stdout/stderr) ---\n{_tail(workdir / OUT_NAME)}\n"
        f"--- {LOG_NAME} ---\n{_tail(workdir / LOG_NAME)}"
    )


def _probe(base_url: str, server_uuid: str) -> bool:
    """True once GET / is answered by *our* server (its uuid comes from our config)."""
    try:
        with _OPENER.open(base_url + "/", timeout=2) as resp:
            info = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("uuid") == server_uuid


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL it if it has not gone in time."""
    if proc.poll() is not None:
        return  # already exited and reaped: its pid may belong to someone else now
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the group lives on while the leader is unreaped
        try:
            proc.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


def _start(workdir: Path, port: int, in_memory: bool) -> tuple[subprocess.Popen[bytes], str]:
    server_uuid = uuid.uuid4().hex
    config = {
        "couchdb": {"uuid": server_uuid, "database_dir": str(workdir / "data")},
        "httpd": {"bind_address": HOST, "port": port},
        "log": {"file": str(workdir / LOG_NAME), "level": "info"},
        "pouchdb_server": {"no-stdout-logs": True, "in_memory": in_memory},
    }
    config_path = workdir / "pouchdb-server-config.json"
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    cmd = [
        *pouchdb_server_command(),
        "--host", HOST,
        "--port", str(port),
        "--config", str(config_path),
    ]  # fmt: skip
    if in_memory:
        cmd.append("--in-memory")
    else:
        (workdir / "data").mkdir(exist_ok=True)
        cmd += ["--dir", str(workdir / "data")]
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "LEVEL_DOWN_URL"}}
    with open(workdir / OUT_NAME, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,  # any relative default (log.txt, config.json) lands in workdir
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so _stop can end all of it
        )
    return proc, server_uuid


@contextlib.contextmanager
def running_pouchdb_server(
    workdir: Path,
    *,
    in_memory: bool = True,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> Iterator[str]:
    """Run pouchdb-server on 127.0.0.1 and yield its base URL (``http://127.0.0.1:PORT``).

    Files (config, logs, on-disk data) go into ``workdir`` (created if needed). On exit
    the server's process group is terminated (then killed after a timeout).
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    attempts = 3  # free_port() can race with another process taking the port
    for attempt in range(1, attempts + 1):
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        proc, server_uuid = _start(workdir, port, in_memory)
        try:
            deadline = time.monotonic() + startup_timeout
            while not _probe(base_url, server_uuid):
                if proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"pouchdb-server did not answer GET {base_url}/ within "
                        f"{startup_timeout:g} s\n{_logs(workdir)}"
                    )
                time.sleep(0.1)
            else:
                yield base_url
                return
            # It exited before answering. If its port was taken meanwhile (with
            # no-stdout-logs, pouchdb-server dies of a TypeError on EADDRINUSE), retry.
            if _port_taken(port) and attempt < attempts:
                continue
            raise RuntimeError(
                f"pouchdb-server exited with code {proc.returncode} before answering on "
                f"{base_url}\n{_logs(workdir)}"
            )
        finally:
            _stop(proc)
