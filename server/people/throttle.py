"""Login throttling by account *and* client address, kept in the directory.

Locking an account after N failures from anywhere lets anyone lock its owner out. So
failures are counted per (username, address): after `FREE_FAILURES` the next attempt
from that address for that username waits `BASE_DELAY`, doubling with every further
failure up to `MAX_DELAY`; the owner's right password from another address is never
refused because of failures elsewhere. Against password spraying (one guess at each of
many usernames) every address also has a budget of `ADDRESS_BUDGET` failures per
`ADDRESS_WINDOW`, for any usernames.

An attempt is counted *before* the password is checked, in the same transaction that
checks the limits (`reserve`): concurrent guesses queue on the directory's write lock,
so no more than the allowed number ever reach the KDF. A success takes its count back
(`succeeded`) and clears that (username, address) counter.

The state lives in the directory, so every gunicorn worker and host sharing it sees the
same counts. Usernames are stored only as SHA-256 (a mistyped password in the username
field is not kept); addresses as given, IPv6 grouped by /64 (one subscriber's block).
Times are Unix seconds (REAL): the delays start at one second.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..audit import AuditLog
from ..directory.base import Directory
from ..errors import LoginThrottled

FREE_FAILURES = 3
BASE_DELAY = 1.0
MAX_DELAY = 15 * 60.0
ADDRESS_BUDGET = 20
ADDRESS_WINDOW = 15 * 60.0
FORGET_AFTER = 24 * 3600.0  # a (username, address) counter idle this long starts over


@dataclass(frozen=True)
class Reservation:
    """One counted attempt, to be taken back if the password was right."""

    account: str
    address: str
    failure_id: int
    failures: int  # of this (username, address), this attempt included
    address_failures: int  # of this address in the window, this attempt included


def address_key(address: str | None) -> str:
    """The unit an address budget applies to: an IPv4 address, an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def delay_after(failures: int) -> float:
    """Seconds the next attempt waits after `failures` failures in a row (0: none)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(BASE_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


Clock = Callable[[], float]


class LoginThrottle:
    def __init__(self, directory: Directory, audit: AuditLog, clock: Clock | None = None):
        self.directory = directory
        self.audit = audit
        self.clock = clock or time.time

    def reserve(self, username: str, address: str | None) -> Reservation:
        """Count this attempt as a failure, or LoginThrottled (with `retry_after`)."""
        account, where, now = _account_key(username), address_key(address), self.clock()
        with self.directory.transaction() as con:
            self._forget_old(con, now)
            row = con.execute(
                "SELECT failures, blocked_until FROM login_throttle"
                " WHERE account = ? AND address = ?",
                (account, where),
            ).fetchone()
            spent, oldest = con.execute(
                "SELECT COUNT(*), MIN(at) FROM login_address_failures WHERE address = ? AND at > ?",
                (where, now - ADDRESS_WINDOW),
            ).fetchone()
            refusal = _refusal(row, spent, oldest, now)
            if refusal is None:
                failures = (row["failures"] if row else 0) + 1
                reservation = self._count(con, account, where, failures, spent + 1, now)
        if refusal is not None:
            raise refusal
        return reservation

    def succeeded(self, reservation: Reservation) -> None:
        """The password was right: take the attempt back and clear the counter."""
        with self.directory.transaction() as con:
            con.execute(
                "DELETE FROM login_throttle WHERE account = ? AND address = ?",
                (reservation.account, reservation.address),
            )
            con.execute(
                "DELETE FROM login_address_failures WHERE id = ?", (reservation.failure_id,)
            )

    @staticmethod
    def _count(con, account: str, where: str, failures: int, spent: int, now: float):
        wait = delay_after(failures)
        con.execute(
            "INSERT INTO login_throttle (account, address, failures, blocked_until, last_failure)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, address) DO UPDATE SET"
            " failures = excluded.failures, blocked_until = excluded.blocked_until,"
            " last_failure = excluded.last_failure",
            (account, where, failures, now + wait if wait else 0.0, now),
        )
        (failure_id,) = con.execute(
            "INSERT INTO login_address_failures (address, at) VALUES (?, ?) RETURNING id",
            (where, now),
        ).fetchone()
        return Reservation(account, where, failure_id, failures, spent)

    def failed(self, reservation: Reservation, account_id: str | None) -> None:
        """The password was wrong (the attempt stays counted). Audited once when the
        counter starts delaying and once when the address runs out of its budget; the
        subject is the account's id (never the typed username) or `unknown-account`."""
        subject = account_id or "unknown-account"
        if reservation.failures == FREE_FAILURES:
            details = {"failures": FREE_FAILURES, "delay_s": int(BASE_DELAY)}
            self.audit.record("system", "login.throttled", subject, details)
        if reservation.address_failures == ADDRESS_BUDGET:
            details = {"failures": ADDRESS_BUDGET, "window_s": int(ADDRESS_WINDOW)}
            self.audit.record("system", "login.address_throttled", subject, details)

    @staticmethod
    def _forget_old(con, now: float) -> None:
        con.execute("DELETE FROM login_throttle WHERE last_failure < ?", (now - FORGET_AFTER,))
        con.execute("DELETE FROM login_address_failures WHERE at <= ?", (now - ADDRESS_WINDOW,))


def _refusal(row, spent: int, oldest: float | None, now: float) -> LoginThrottled | None:
    if row and row["blocked_until"] > now:
        return _throttled(
            "too many failed logins for this username from your address", row["blocked_until"] - now
        )
    if spent >= ADDRESS_BUDGET:
        return _throttled("too many failed logins from your address", oldest + ADDRESS_WINDOW - now)
    return None


def _throttled(message: str, wait: float) -> LoginThrottled:
    seconds = max(1, math.ceil(wait))
    return LoginThrottled(f"{message}; try again in {seconds} s", retry_after=seconds)


def _account_key(username: str) -> str:
    return hashlib.sha256(username.encode()).hexdigest()
