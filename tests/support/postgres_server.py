"""A throwaway PostgreSQL cluster for tests, from the machine's own PostgreSQL binaries.

Install them with ``scripts/test.sh`` (it installs Debian's ``postgresql`` package when
``initdb``/``pg_ctl`` are missing). The binaries are taken from PATH, else from the
newest ``/usr/lib/postgresql/*/bin``.

    with running_postgres(tmp_path) as url:      # postgresql://sopu@127.0.0.1:PORT/postgres
        db_url = fresh_database(url)             # postgresql://sopu@127.0.0.1:PORT/t<hex>
        ...
        drop_database(db_url)

The cluster is made by ``initdb`` in a fresh directory ``/tmp/sopu-pg-XXXX`` (mode 0700;
short, so the Unix socket path stays under its 107-byte limit) and removed again on exit;
its server log is then copied to ``workdir/postgres.log``. It listens on 127.0.0.1 only
(and on a Unix socket in that directory), on a port that was free a moment ago, with
``trust`` authentication for the superuser ``sopu``, UTF8 and the C locale, and with
durability switched off (fsync, synchronous_commit and full_page_writes off): fast, and
gone after a crash, which is all a test cluster needs.

``initdb`` refuses to run as root. When the tests run as root (euid 0), initdb, pg_ctl
and the server run as the unprivileged user ``nobody`` and the directory is chowned to
it; otherwise they run as the current user.

psycopg (3) is imported only inside the functions that connect, so importing this
module (and so tests/conftest.py) never needs it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from tests.support.pouchdb_server import free_port

HOST = "127.0.0.1"
SUPERUSER = "sopu"
#: Who runs the cluster when the tests run as root (initdb refuses root).
UNPRIVILEGED_USER = "nobody"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
LOG_NAME = "postgres.log"

#: Appended to the generated postgresql.conf; the port is passed on the command line.
_SETTINGS = """
# --- tests/support/postgres_server.py: a throwaway test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
max_connections = 200
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def postgres_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres, or RuntimeError telling how
    to install them."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        # /usr/local/bin may hold symlinks into /usr/lib/postgresql/NN/bin: use the real
        # directory, where postgres itself is too.
        bindir = Path(pg_ctl).resolve().parent
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    candidates = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if all(os.access(path / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))
    ]
    if candidates:
        return max(candidates, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)])
    raise RuntimeError(
        "PostgreSQL server binaries not found (no initdb/pg_ctl on PATH or in "
        "/usr/lib/postgresql/*/bin): run scripts/test.sh, which installs Debian's "
        "postgresql package"
    )


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the cluster as, or None for the current user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise RuntimeError(
            f"tests run as root, and initdb refuses root, but there is no user "
            f"{UNPRIVILEGED_USER!r} to run PostgreSQL as"
        ) from None


def _env() -> dict[str, str]:
    """The environment without PG* variables (PGDATA, PGPORT, ... would override ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no {path.name})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path.name} is empty)"


class _Cluster:
    def __init__(self, bindir: Path, user: pwd.struct_passwd | None):
        self.bindir = bindir
        self.user = user
        base = "/tmp" if Path("/tmp").is_dir() else None  # short socket path; root: traversable
        self.root = Path(tempfile.mkdtemp(prefix="sopu-pg-", dir=base))  # mode 0700
        if user is not None:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / LOG_NAME
        self.out = self.root / "commands.out"  # initdb/pg_ctl stdout and stderr

    def run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
        drop = {}
        if self.user is not None:
            drop = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        with open(self.out, "ab") as out:  # opened by us, so it may stay root's
            out.write(f"$ {' '.join(args)}\n".encode())
            out.flush()
            return subprocess.run(
                [str(self.bindir / args[0]), *args[1:]],
                cwd=self.root,  # a directory the cluster's user can enter
                env=_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                **drop,
            )

    def init(self) -> None:
        done = self.run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
            timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {done.returncode})\n{self.logs()}")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(_SETTINGS.format(socket_dir=self.root))

    def start(self, port: int, timeout: float) -> bool:
        done = self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", f"-p {port}",
            "-w", "-t", str(int(timeout)), "start",
            timeout=timeout + 10,
        )  # fmt: skip
        return done.returncode == 0

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """pg_ctl -m immediate stop; SIGKILL the postmaster if that did not end it."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.run(
                "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                timeout=STOP_TIMEOUT,
            )  # fmt: skip
        if self._is_our_postmaster(pid):  # still there: pg_ctl did not manage
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _is_our_postmaster(self, pid: int) -> bool:
        """True if ``pid`` is alive and is a postgres serving our data directory (a stale
        postmaster.pid may name a pid that now belongs to someone else)."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return os.fsencode(self.data) in argv and Path(os.fsdecode(argv[0])).name in {
            "postgres",
            "postmaster",
        }

    def logs(self) -> str:
        return (
            f"--- initdb/pg_ctl output ---\n{_tail(self.out, 12)}\n"
            f"--- {LOG_NAME} ---\n{_tail(self.log)}"
        )

    def remove(self, workdir: Path) -> None:
        with contextlib.suppress(OSError):
            shutil.copyfile(self.log, workdir / LOG_NAME)
        shutil.rmtree(self.root, ignore_errors=True)


def _answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def running_postgres(workdir: Path, *, startup_timeout: float = STARTUP_TIMEOUT) -> Iterator[str]:
    """Run a fresh PostgreSQL cluster on 127.0.0.1 and yield its URL
    (``postgresql://sopu@127.0.0.1:PORT/postgres``).

    ``workdir`` (created if needed) receives the server log on exit. The cluster itself
    lives in a temporary directory under /tmp, stopped (``pg_ctl -m immediate``) and
    removed on exit.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = _Cluster(postgres_bindir(), _run_as())
    try:
        cluster.init()
        attempts = 3  # free_port() can race with another process taking the port
        for attempt in range(1, attempts + 1):
            port = free_port()
            url = f"postgresql://{SUPERUSER}@{HOST}:{port}/postgres"
            if cluster.start(port, startup_timeout):
                break
            cluster.stop()
            if "Address already in use" in _tail(cluster.log) and attempt < attempts:
                continue
            raise RuntimeError(f"PostgreSQL did not start on {HOST}:{port}\n{cluster.logs()}")
        deadline = time.monotonic() + startup_timeout
        while not _answers(url):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL started but {url} did not accept a connection within "
                    f"{startup_timeout:g} s\n{cluster.logs()}"
                )
            time.sleep(0.1)
        yield url
    finally:
        cluster.stop()
        cluster.remove(workdir)


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _dbname(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name:
        raise ValueError(f"{url} names no database")
    return name


def fresh_database(url: str) -> str:
    """Create a new, uniquely named database (``t<hex>``) on the server of ``url`` and
    return its URL (``url`` with the database name replaced)."""
    import psycopg
    from psycopg import sql

    name = f"t{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_dbname(url, name)


def drop_database(url: str, *, maintenance_db: str = "postgres") -> None:
    """Drop the database ``url`` names (if it exists), ending its open connections.

    The DROP is sent over a connection to ``maintenance_db`` on the same server.
    """
    import psycopg
    from psycopg import sql

    name = _dbname(url)
    if name == maintenance_db:
        raise ValueError(f"refusing to drop the maintenance database {name!r}")
    with psycopg.connect(_with_dbname(url, maintenance_db), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
