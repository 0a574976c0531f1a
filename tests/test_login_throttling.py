"""Login throttling per username *and* client address, with growing delays, a budget
per address against password spraying, atomic under concurrency, kept in the
directory, and with unknown usernames as slow as known ones (over real HTTP)."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest
import requests

import server.people.accounts as accounts_module
from server.app import create_app
from server.config import Config
from server.people.throttle import address_key
from server.site import Site
from tests.support.clock import FakeClock
from tests.support.live_server import serving
from tests.support.org import PASSWORD

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def org(org):
    org.worker("aino")
    org.worker("bertil")
    return org


@pytest.fixture
def clock(org):
    """The throttle's clock, standing still unless a test moves it."""
    fake = FakeClock()
    org.site.accounts.throttle.clock = fake
    return fake


@pytest.fixture
def proxied(org, tmp_path):
    """The app behind one trusted proxy: X-Forwarded-For names the client."""
    app = create_app(Config(data_dir=tmp_path / "var-proxied", trusted_proxies=1), site=org.site)
    with serving(app) as url:
        yield url


def attempt(url: str, username: str = "aino", password: str = "wrong", address: str = ""):
    headers = {"X-Forwarded-For": address} if address else {}
    return requests.post(
        f"{url}/api/login", json={"username": username, "password": password}, headers=headers
    )


def outcome(response) -> str:
    return "ok" if response.status_code == 200 else response.json()["error"]


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(org, proxied, clock):
    answers = [outcome(attempt(proxied, address=ATTACKER)) for _ in range(10)]
    assert answers == ["invalid_credentials"] * 3 + ["login_throttled"] * 7
    owner = attempt(proxied, password=PASSWORD, address=OWNER)
    assert owner.status_code == 200 and owner.json()["username"] == "aino"


def test_delays_grow_from_one_second_doubling_up_to_fifteen_minutes(org, server, clock):
    for _ in range(3):
        assert outcome(attempt(server)) == "invalid_credentials"
    waits = []
    for _ in range(12):
        refused = attempt(server, password=PASSWORD)  # even the right one must wait
        assert refused.status_code == 429 and refused.json()["error"] == "login_throttled"
        wait = int(refused.headers["Retry-After"])
        assert refused.json()["retry_after"] == wait
        waits.append(wait)
        clock.advance(wait - 0.5)
        assert outcome(attempt(server)) == "login_throttled"  # not a moment early
        clock.advance(0.5)
        assert outcome(attempt(server)) == "invalid_credentials"
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    clock.advance(900)
    assert outcome(attempt(server, password=PASSWORD)) == "ok"


def test_a_success_clears_that_usernames_counter_from_that_address(org, server, clock):
    assert [outcome(attempt(server)) for _ in range(2)] == ["invalid_credentials"] * 2
    assert outcome(attempt(server, password=PASSWORD)) == "ok"
    answers = [outcome(attempt(server)) for _ in range(4)]
    assert answers == ["invalid_credentials"] * 3 + ["login_throttled"]


def test_password_spraying_stops_after_twenty_failures_from_one_address(org, proxied, clock):
    for name in ("kaisa", "ville", "sanna"):
        org.worker(name)
    usernames = ["kaisa", "ville", "sanna"] + [f"user{i}" for i in range(27)]
    answers = [outcome(attempt(proxied, name, address=ATTACKER)) for name in usernames]
    assert answers == ["invalid_credentials"] * 20 + ["login_throttled"] * 10
    blocked = attempt(proxied, "aino", PASSWORD, address=ATTACKER)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) == 15 * 60
    assert outcome(attempt(proxied, "aino", PASSWORD, address=OWNER)) == "ok"
    assert len(org.site.audit.entries(action="login.address_throttled")) == 1
    clock.advance(15 * 60)
    assert outcome(attempt(proxied, "aino", PASSWORD, address=ATTACKER)) == "ok"


def test_a_forged_forwarded_for_changes_nothing_without_trusted_proxies(org, server, clock):
    answers = [outcome(attempt(server, address=f"10.0.0.{i}")) for i in range(5)]
    assert answers == ["invalid_credentials"] * 3 + ["login_throttled"] * 2


def test_every_server_process_sees_the_same_counts(org, server, clock, tmp_path: Path):
    """Another process (gunicorn worker or host) on the same directory: its own Site."""
    other_site = Site.open(
        f"sqlite:///{tmp_path / 'store'}", tmp_path / "directory.sqlite3", org.site.keys.keks
    )
    other_site.accounts.throttle.clock = clock
    with serving(create_app(Config(data_dir=tmp_path / "var2"), site=other_site)) as other:
        assert [outcome(attempt(url)) for url in (server, other, server)] == [
            "invalid_credentials"
        ] * 3
        assert outcome(attempt(other)) == "login_throttled"
    other_site.close()


def race(count: int, send) -> list:
    """`send(i)` from `count` threads released at once; the responses."""
    barrier, answers = threading.Barrier(count), []

    def run(i: int) -> None:
        barrier.wait()
        answers.append(send(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == count
    return answers


@pytest.fixture
def kdf_runs(monkeypatch) -> list:
    """Every password check the login runs (the scrypt KDF), counted."""
    runs, real = [], accounts_module.check_password

    def counted(password: str, stored: str | None) -> bool:
        runs.append(1)
        return real(password, stored)

    monkeypatch.setattr(accounts_module, "check_password", counted)
    return runs


def test_forty_concurrent_guesses_reach_the_kdf_only_three_times(org, server, clock, kdf_runs):
    answers = [outcome(r) for r in race(40, lambda _: attempt(server))]
    assert answers.count("invalid_credentials") == 3 and len(kdf_runs) == 3
    assert answers.count("login_throttled") == 37


def test_concurrent_spraying_stays_within_the_address_budget(org, server, clock, kdf_runs):
    answers = [outcome(r) for r in race(40, lambda i: attempt(server, f"user{i}"))]
    assert answers.count("invalid_credentials") == 20 and len(kdf_runs) == 20
    assert answers.count("login_throttled") == 20


def test_unknown_usernames_take_as_long_as_known_ones(org, proxied):
    def timed(username: str, i: int) -> float:
        start = time.perf_counter()
        assert outcome(attempt(proxied, username, address=f"10.1.{i}.1")) == "invalid_credentials"
        return time.perf_counter() - start

    timed("nobody-warm-up", 250)
    known, unknown = [], []
    for i in range(10):
        known.append(timed("aino", i))
        unknown.append(timed(f"nobody{i}", 100 + i))
    slower, faster = sorted((statistics.median(known), statistics.median(unknown)))[::-1]
    assert slower / faster < 1.5, (known, unknown)


def test_the_directory_keeps_no_typed_username_and_audits_by_id(org, server, clock, tmp_path):
    typo = "kissa-on-salasanani-77"  # a password typed into the username field
    for username in (typo, "aino"):
        for _ in range(3):
            attempt(server, username)
    subjects = {e.subject for e in org.site.audit.entries(action="login.throttled")}
    assert subjects == {"unknown-account", org.workers["aino"]}
    org.site.directory.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("directory.sqlite3*"))
    assert typo.encode() not in stored and b"aino" in stored  # aino's own account row


@pytest.mark.parametrize(
    ("address", "unit"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("not an address", "not an address"),
    ],
)
def test_an_ipv6_subscriber_block_counts_as_one_address(address, unit):
    assert address_key(address) == unit
