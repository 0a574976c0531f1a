"""Devices of the gateway tests' organisation (tests/support/org.py): enrolled over real
HTTP, either as a bare `requests` session holding a device token or as a Python
reference device, and what their replicas hold."""

from __future__ import annotations

from pathlib import Path

import requests

from sync.crypto import DeviceKeys
from sync.device import Device
from tests.support.org import PASSWORD

FAST = 2**10  # scrypt cost for test devices


def device_session(
    server: str, username: str, label: str = "phone"
) -> tuple[requests.Session, dict]:
    """Log `username` in, enrol a new device key, and return a session that sends the
    device's access token, with the enrolment's tokens."""
    person = requests.Session()
    person.post(f"{server}/api/login", json={"username": username, "password": PASSWORD})
    tokens = person.post(
        f"{server}/api/devices",
        json={"label": label, "public_key": DeviceKeys.generate().public().to_json()},
    ).json()
    device = requests.Session()
    device.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    return device, tokens


def enrolled_device(home: Path, server: str, name: str, kind=Device) -> Device:
    """`name`'s reference device (of class `kind`) under `home`, enrolled at `server`."""
    device = kind(home / name, passphrase="2468", scrypt_n=FAST)
    device.enrol(server, name, PASSWORD, label=f"{name}'s phone")
    return device


def live_leaves(db, doc_id: str) -> list[str]:
    """The revisions of a document that are not deleted (more than one: a conflict)."""
    leaves = db.get(doc_id, open_revs="all")
    return sorted(x["ok"]["_rev"] for x in leaves if "ok" in x and not x["ok"].get("_deleted"))


def case_docs(device: Device) -> dict[str, str]:
    """id → winning rev of the case documents on a device (keyrings are its own)."""
    rows = device.db.all_docs(include_docs=True)["rows"]
    return {r["id"]: r["value"]["rev"] for r in rows if r["doc"].get("type") != "keyring"}
