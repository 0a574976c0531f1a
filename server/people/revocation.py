"""Revoking devices, the one way both the API and the supervisor web do it.

Revoking stops delivery to the device, rotates the key of every case its worker can
reach (nothing written from now on opens with keys it held), empties its keyrings, and
makes its next request fail with `device_revoked`, which tells it to wipe. Who may:
an administrator, the device's own worker (a lost phone cannot wait), and a
supervisor of the worker's team.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..site import Site


def may_revoke(site: Site, account: dict, device: dict) -> bool:
    if account["role"] == "admin" or device["worker_id"] == account["id"]:
        return True
    owner = site.accounts.get(device["worker_id"])
    return account["role"] == "supervisor" and owner["team_id"] == account["team_id"]


def revoke_device(site: Site, device_id: str, actor: str, reason: str) -> dict:
    """Revoke one device (again: nothing changes); returns its row."""
    device = site.devices.get(device_id)
    cases = site.cases.of_worker(device["worker_id"])
    revoked = site.devices.revoke(device_id, actor, reason, cases)
    site.keyrings.refresh(device_id, [])
    return revoked


def revoke_devices_of(site: Site, worker_id: str, actor: str, reason: str) -> int:
    """Revoke every device a worker still has (their account was deactivated); how many."""
    cases = site.cases.of_worker(worker_id)
    active = [d for d in site.devices.of_worker(worker_id) if not d["revoked_at"]]
    for device in active:
        site.devices.revoke(device["id"], actor, reason, cases)
        site.keyrings.refresh(device["id"], [])
    return len(active)
