"""Realistic, fictional client documents for demos, seeding and tests.

Finnish and Swedish names and the kind of sentences instructors write with families.
Everything is generated from a seed, so a test can list exactly what it wrote and then
search for it in raw storage.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, timedelta

from mobile_schema import CURRENT_VERSION

GIVEN = [
    "Aino",
    "Eetu",
    "Helmi",
    "Väinö",
    "Lyydia",
    "Onni",
    "Siiri",
    "Elias",
    "Iida",
    "Ebba",
    "Hugo",
    "Linnéa",
    "Axel",
    "Wilma",
    "Oskar",
    "Selma",
    "Ville",
    "Kerttu",
]
FAMILY = [
    "Virtanen",
    "Korhonen",
    "Mäkinen",
    "Nieminen",
    "Hämäläinen",
    "Lindqvist",
    "Björklund",
    "Söderström",
    "Heikkinen",
    "Koskinen",
    "Lindholm",
    "Ekström",
]
PHRASES = [
    "Äiti kertoi, että iltaisin on raskasta kun isä on vuorotöissä",
    "Vi pratade om hur morgnarna till daghemmet har gått",
    "Lapsi nukahtaa myöhään ja herää useasti yöllä",
    "Perhe toivoo tukea arjen rytmiin ja ruokailuihin",
    "Pappan berättade att han sökt jobb i Vasa",
    "Sovittiin, että kokeillaan kuvakortteja kahden viikon ajan",
    "Neuvolan terveydenhoitaja oli huolissaan painon kehityksestä",
    "Familjen vill ha hjälp med kontakten till skolan",
]


def new_id() -> str:
    return secrets.token_hex(16)


def _stamp(worker_id: str, when: datetime) -> dict:
    at = when.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "schema_version": CURRENT_VERSION,
        "updated_at": at,
        "updated_by": worker_id,
        "created_at": at,
        "created_by": worker_id,
    }


def family_doc(rng: random.Random, worker_id: str) -> dict:
    surname = rng.choice(FAMILY)
    members = [
        {
            "id": new_id(),
            "role": "guardian",
            "given_names": rng.choice(GIVEN),
            "family_name": surname,
            "birth_date": f"19{rng.randint(80, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "languages": [rng.choice(["fi", "sv"])],
        },
        {
            "id": new_id(),
            "role": "child",
            "given_names": rng.choice(GIVEN),
            "family_name": surname,
            "birth_date": f"20{rng.randint(15, 23)}-0{rng.randint(1, 9)}-2{rng.randint(0, 8)}",
            "languages": ["fi", "sv"],
        },
    ]
    return {
        "_id": new_id(),
        "type": "family",
        "display_name": surname,
        "members": members,
        **_stamp(worker_id, datetime.now(UTC)),
    }


def case_doc(case_id: str, family_id: str, worker_id: str, status: str = "active") -> dict:
    today = date.today()
    doc = {
        "_id": case_id,
        "type": "case",
        "family_id": family_id,
        "service_task": "family_social_guidance",
        "status": status,
        "pending_since": (today - timedelta(days=60)).isoformat(),
        "referral": {
            "source": "child_health_clinic",
            "received_on": (today - timedelta(days=60)).isoformat(),
        },
        "assignments": [
            {
                "id": new_id(),
                "worker_id": worker_id,
                "role": "own_worker",
                "start_date": (today - timedelta(days=50)).isoformat(),
            }
        ],
        **_stamp(worker_id, datetime.now(UTC)),
    }
    if status in ("assessment", "active", "closed"):
        doc["assessment_started_on"] = (today - timedelta(days=50)).isoformat()
    if status in ("active", "closed"):
        doc["active_since"] = (today - timedelta(days=20)).isoformat()
    if status == "closed":
        doc.update(closed_on=today.isoformat(), closure_reason="goals_met")
    return doc


def visit_doc(case_id: str, worker_id: str, when: datetime, kind: str = "home") -> dict:
    return {
        "_id": new_id(),
        "type": "visit",
        "case_id": case_id,
        "kind": kind,
        "status": "planned",
        "starts_at": when.replace(microsecond=0).isoformat(),
        "participants": [{"id": new_id(), "kind": "worker", "worker_id": worker_id}],
        **_stamp(worker_id, datetime.now(UTC)),
    }


def note_doc(
    rng: random.Random, case_id: str, worker_id: str, visit_id: str | None = None, phrases: int = 2
) -> dict:
    text = ". ".join(rng.sample(PHRASES, phrases)) + "."
    return {
        "_id": new_id(),
        "type": "note",
        "case_id": case_id,
        "kind": "entry",
        "visit_id": visit_id,
        "occurred_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "discussion": text,
        "client_view": rng.choice(PHRASES),
        "written_with_client": True,
        "state": "draft",
        **_stamp(worker_id, datetime.now(UTC)),
    }
