"""Files only the service can read, and sessions no file can forge (issue 17).

A second local user must find nothing to read in what Sopu writes: every directory
0700 and every file 0600 under a permissive umask, the server refusing a secret that
others may read, and the session secret on disk no way into an account.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer

from server.app import create_app
from server.config import Config
from server.keys.kek import KekError, load_keks, write_new_key_file
from tests.support.org import PASSWORD
from tests.support.pouchdb_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def sopu(var: Path, etc: Path, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=_env(var, etc),
        cwd=var.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _env(var: Path, etc: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
    return env | {
        "SOPU_DATA_DIR": str(var),
        "SOPU_KEK_FILE": str(etc / "kek.key"),
        "SOPU_DEVICE_PIN": "4321",
        "PYTHONPATH": str(REPO_ROOT),
    }


@contextlib.contextmanager
def served(var: Path, etc: Path):
    """`sopu serve` in a child process (its output kept in a pipe, not on disk)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=_env(var, etc), cwd=var.parent, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def _wait_healthy(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.communicate()[0]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=1).ok:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not answer")


def exposed(*roots: Path) -> list[str]:
    """Every path under `roots` (themselves included) with a group or other bit, or a
    directory not exactly 0700 or a file not exactly 0600."""
    found = []
    for root in roots:
        paths = [root, *root.rglob("*")] if root.is_dir() else [root]
        for path in paths:
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = 0o700 if path.is_dir() else 0o600
            if mode != wanted:
                found.append(f"{path} {mode:04o}")
    return found


def demo_password(seeded: str) -> str:
    return re.search(r"admin\s+admin\s+password: (\S+)", seeded).group(1)


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_everything_sopu_writes_is_the_owners_only_whatever_the_umask(tmp_path, mask):
    var, etc, phone = tmp_path / "var", tmp_path / "etc", tmp_path / "phone"
    backup, fresh, anchor = tmp_path / "backup", tmp_path / "fresh", tmp_path / "anchor.json"
    with umask(mask):
        assert sopu(var, etc, "keys", "new-kek", "--file", str(etc / "kek.key")).returncode == 0
        seeded = sopu(var, etc, "seed-demo")
        assert seeded.returncode == 0, seeded.stderr
        with served(var, etc) as url:
            http = requests.Session()
            login = {"username": "admin", "password": demo_password(seeded.stdout)}
            assert http.post(f"{url}/api/login", json=login, timeout=10).status_code == 200
            enrol = sopu(var, etc, "device", "--home", str(phone), "enrol", url, "aino",
                         stdin=demo_password(seeded.stdout))  # fmt: skip
            assert enrol.returncode == 0, enrol.stderr
            assert sopu(var, etc, "device", "--home", str(phone), "pull").returncode == 0
            done = sopu(var, etc, "backup", str(backup))
            assert done.returncode == 0, done.stderr
            assert sopu(var, etc, "audit", "anchor", "--file", str(anchor)).returncode == 0
            live = {p.name for p in var.rglob("*")}  # the server's files while it runs
            assert exposed(var, etc, phone, backup, anchor) == []
        restored = subprocess.run(
            [sys.executable, "-m", "server", "restore", str(backup)],
            env=_env(fresh, etc), cwd=tmp_path, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
    assert {
        "session.key",
        "directory.sqlite3",
        "directory.sqlite3-wal",
        "directory.sqlite3-shm",
        "directory.sqlite3.writers",
        "sopu.sqlite3",
        "sopu.sqlite3-wal",
    } <= live
    assert {"device.json", "sopu.sqlite3"} <= {p.name for p in phone.rglob("*")}
    assert {"manifest.json", "directory.sqlite3", "sopu.sqlite3"} <= {
        p.name for p in backup.rglob("*")
    }
    assert (fresh / "directory.sqlite3").exists()
    assert exposed(var, etc, phone, backup, anchor, fresh) == []


@pytest.mark.parametrize("secret", ["kek.key", "session.key"])
def test_a_secret_others_can_read_stops_the_server_with_the_fix(tmp_path, secret):
    var = tmp_path / "var"
    seeded = sopu(var, var, "seed-demo")  # the KEK beside the data, as in development
    assert seeded.returncode == 0, seeded.stderr
    with served(var, var):
        pass  # session.key written
    (var / secret).chmod(0o644)

    started = sopu(var, var, "serve", "--port", str(free_port()))
    assert started.returncode != 0
    assert f"{var / secret}" in started.stderr and "0644" in started.stderr
    assert f"chmod 600 {var / secret}" in started.stderr
    with pytest.raises(SystemExit, match=re.escape(f"chmod 600 {var / secret}")):
        create_app(Config(data_dir=var, kek_file=var / "kek.key"))
    if secret == "kek.key":  # every command that opens the site refuses it too
        status = sopu(var, var, "keys", "status")
        assert status.returncode == 1 and f"chmod 600 {var / secret}" in status.stderr


def test_a_kek_file_group_may_write_is_refused(tmp_path):
    write_new_key_file(tmp_path / "kek.key")
    (tmp_path / "kek.key").chmod(0o620)
    refused = sopu(tmp_path / "var", tmp_path, "keys", "status")
    assert refused.returncode == 1 and "0620" in refused.stderr


def forged(secret: str, payload: dict) -> str:
    """A cookie signed as Flask's SecureCookieSessionInterface signs its session."""
    signer = URLSafeTimedSerializer(
        secret,
        salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return signer.dumps(payload)


def test_a_session_signed_with_the_session_key_opens_no_account(org, server, tmp_path):
    admin = org.worker("anna", role="admin")
    http = requests.Session()
    login = {"username": "anna", "password": PASSWORD}
    assert http.post(f"{server}/api/login", json=login, timeout=10).status_code == 200
    assert http.get(f"{server}/api/me", timeout=10).json()["id"] == admin  # a real one works

    secret = (tmp_path / "var" / "session.key").read_text().strip()
    cookie = forged(secret, {"worker_id": admin, "_permanent": True})
    for name in ("session", "sopu_session"):
        answer = requests.get(f"{server}/api/me", cookies={name: cookie}, timeout=10)
        assert answer.status_code == 401, (name, answer.text)


@contextlib.contextmanager
def running_as(uid: int, gid: int):
    """This process as another user for a moment (effective ids only). Codecs load
    lazily, from files that user may not read: the key file's is loaded first."""
    codecs.lookup("ascii")
    os.setegid(gid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.parametrize(
    ("mode", "own_group", "loads"),
    [(0o640, True, True), (0o660, True, False), (0o644, True, False), (0o640, False, False)],
)
def test_the_kek_root_owns_for_the_services_group_is_the_one_exception(mode, own_group, loads):
    """docs/deployment.md: /etc/sopu/kek.key is root:sopu 0640, read by the sopu user."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to own the KEK as docs/deployment.md says")
    nobody = pwd.getpwnam("nobody")
    place = Path(tempfile.mkdtemp(prefix="sopu-kek-"))
    try:
        place.chmod(0o755)
        kek = place / "kek.key"
        write_new_key_file(kek)
        os.chown(kek, 0, nobody.pw_gid if own_group else 0)
        kek.chmod(mode)
        with running_as(nobody.pw_uid, nobody.pw_gid):
            try:
                load_keks(kek)
                refusal = None
            except KekError as exc:
                refusal = str(exc)
    finally:
        shutil.rmtree(place)
    assert (refusal is None) == loads, refusal
    assert loads or f"chmod 600 {kek}" in refusal
