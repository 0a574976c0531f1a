"""`GET /api/devices/colleagues`: the names a field app shows beside what other people
wrote (reconciliation items name their authors by id). A device gets its worker's team
and everyone ever assigned to its worker's cases - a substitute from another team too,
after the substitution ended - and nobody else; only with its own live token."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from server.people.revocation import revoke_device
from tests.support.devices import device_session
from tests.support.org import PASSWORD


@pytest.fixture
def org(org):
    org.worker("aino")
    org.worker("bertil")
    org.site.accounts.create(
        "esihenkilo", "Eeva Esihenkilö", "supervisor", "admin", team_id=org.team, password=PASSWORD
    )
    other = org.site.accounts.create_team("Perhetyö Itä", "admin")
    org.workers["sami"] = org.site.accounts.create(
        "sami", "Sami Sijainen", "worker", "admin", team_id=other, password=PASSWORD
    )
    org.workers["outi"] = org.site.accounts.create(
        "outi", "Outi Ulkopuolinen", "worker", "admin", team_id=other, password=PASSWORD
    )
    case_id = org.case("pair", "aino", "bertil")
    until = date.today() + timedelta(days=7)
    substitution = org.site.cases.assign(
        case_id, org.workers["sami"], "substitute", "admin", end=until
    )
    org.site.cases.end_assignment(substitution, "admin")
    return org


def test_a_device_gets_the_names_of_its_team_and_of_everyone_on_its_cases(org, server):
    device, _ = device_session(server, "aino")
    answer = device.get(f"{server}/api/devices/colleagues")
    assert answer.status_code == 200, answer.text
    names = {p["id"]: p["name"] for p in answer.json()}
    assert names == {
        org.workers["aino"]: "Aino",
        org.workers["bertil"]: "Bertil",
        org.site.accounts.by_username("esihenkilo")["id"]: "Eeva Esihenkilö",
        org.workers["sami"]: "Sami Sijainen",  # substituted on her case once
    }  # not Outi: another team, never on her cases
    assert all(set(p) == {"id", "name"} for p in answer.json())  # no role, no username


def test_only_a_live_device_token_opens_it(org, server):
    assert requests.get(f"{server}/api/devices/colleagues").status_code == 401
    device, tokens = device_session(server, "aino")
    revoke_device(org.site, tokens["device_id"], "admin", "lost")
    refused = device.get(f"{server}/api/devices/colleagues")
    assert refused.status_code == 401
    assert refused.json()["error"] == "device_revoked" and refused.json()["wipe"] is True
