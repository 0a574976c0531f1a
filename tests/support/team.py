"""A second team in the served demo organisation, built through the site's services, so
the front page, /devices and /admin tests know every number they expect (the demo's
own data keeps growing), and the reference devices those tests sync with."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

from server.tools.demo import DEMO_PASSWORD
from server.tools.demo_data import note_doc, visit_doc
from sync.device import Device
from tests.support.web import Web

FAST = 2**10  # the device key's scrypt cost: a test need not pay a phone's
# Assignments start before any day the tests move the clock to and before the real one,
# so the overview (the test's day) and the gateway (the real day) both see them.
ASSIGNED_FROM = date(2026, 11, 1)


def add_team(web: Web, name: str, supervisor: tuple, instructors: list[tuple]) -> dict:
    """The team and its people (username, display name); returns username → id and
    "team" → the team's id. Everyone's password is the demo's."""
    team = web.site.accounts.create_team(name, "test")
    ids = {"team": team}
    for (username, display), role in [(supervisor, "supervisor")] + [
        (person, "worker") for person in instructors
    ]:
        ids[username] = web.site.accounts.create(
            username, display, role, "test", team_id=team, password=DEMO_PASSWORD
        )
    return ids


def open_case(
    web: Web,
    people: dict,
    supervisor: str,
    family: str,
    today: date,
    status: str = "pending",
    workers: tuple[str, ...] = (),
) -> str:
    """A family with its first case walked to `status`, the first of `workers` its own
    worker and the others pair workers."""
    actor = people[supervisor]
    details = {
        "display_name": family,
        "members": [
            {"role": "guardian", "given_names": "Maija", "family_name": family},
            {"role": "child", "given_names": "Onni", "family_name": family},
        ],
    }
    first = {
        "service_task": "family_social_guidance",
        "pending_since": ASSIGNED_FROM.isoformat(),
        "special_support_need": False,
        "referral": {"source": "daycare", "received_on": ASSIGNED_FROM.isoformat()},
    }
    _family, case_id = web.site.families.create(people["team"], details, first, actor, today)
    steps = {"assessment": ["assessment"], "active": ["assessment", "active"]}
    for number, step in enumerate(steps.get(status, []), 2):
        on = ASSIGNED_FROM.replace(day=number)
        web.site.casework.change_status(case_id, step, on, actor, today)
    for number, username in enumerate(workers):
        role = "own_worker" if number == 0 else "pair_worker"
        web.site.casework.assign(
            case_id, people[username], role, actor, start=ASSIGNED_FROM, today=today
        )
    return case_id


def visit(web: Web, case_id: str, worker_id: str, when: datetime) -> dict:
    doc = visit_doc(case_id, worker_id, when)
    assert web.site.records.write(case_id, [doc])[0].get("ok")
    return doc


def note(
    web: Web, case_id: str, author: str, occurred_at: str, final: bool = False, **fields
) -> dict:
    """A note by `author` about `occurred_at` (a draft unless `final`)."""
    doc = note_doc(random.Random(occurred_at), case_id, author) | {"occurred_at": occurred_at}
    doc |= fields
    if final:
        doc |= {"state": "final", "finalised_by": author, "finalised_at": doc["updated_at"]}
    assert web.site.records.write(case_id, [doc])[0].get("ok")
    return doc


def device(
    web: Web, home: Path, username: str, label: str, password: str = DEMO_PASSWORD
) -> Device:
    """A reference device of `username`, enrolled over HTTP (it has not synced yet)."""
    phone = Device(home / label, passphrase="2468", scrypt_n=FAST)
    phone.enrol(web.url, username, password, label=label)
    return phone
