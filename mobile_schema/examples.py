"""One realistic, valid example of every document type (current schema version).

Used by the docs, by `sopu schema export` (so app developers see a real document next
to its schema) and by the tests. All people here are fictional.
"""

from __future__ import annotations

import copy

from .versions import CURRENT_VERSION

WORKER = "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"
PAIR_WORKER = "6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"
TEAM = "0f9e8d7c6b5a49382716050403020100"
FAMILY = "9b1d7c2e4f6a8b0c1d3e5f7a9b2c4d6e"
CASE = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
MOTHER = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
CHILD = "b2c3d4e5f60718293a4b5c6d7e8f90a1"
VISIT = "c3d4e5f60718293a4b5c6d7e8f90a1b2"

_STAMP = {
    "schema_version": CURRENT_VERSION,
    "created_at": "2026-05-04T09:30:00+03:00",
    "created_by": WORKER,
    "updated_at": "2026-05-04T11:05:00+03:00",
    "updated_by": WORKER,
}

_EXAMPLES: dict[str, dict] = {
    "family": {
        "_id": FAMILY,
        "type": "family",
        "display_name": "Lindqvist-Korhonen",
        "members": [
            {
                "id": MOTHER,
                "role": "guardian",
                "given_names": "Anna-Maria",
                "family_name": "Lindqvist",
                "birth_date": "1991-03-12",
                "languages": ["sv", "fi"],
                "interpreter_needed": False,
            },
            {
                "id": CHILD,
                "role": "child",
                "given_names": "Eetu",
                "family_name": "Korhonen",
                "birth_date": "2021-08-30",
                "languages": ["fi", "sv"],
            },
        ],
        "address": "Rantakatu 5 B 12, 40100 Jyväskylä",
    },
    "case": {
        "_id": CASE,
        "type": "case",
        "family_id": FAMILY,
        "service_task": "family_social_guidance",
        "status": "active",
        "pending_since": "2026-03-02",
        "special_support_need": True,
        "assessment_started_on": "2026-03-09",
        "active_since": "2026-04-20",
        "referral": {
            "source": "child_health_clinic",
            "received_on": "2026-03-02",
            "description": "Neuvolan terveydenhoitaja: vanhempi toivoo tukea arjen rytmiin.",
        },
        "assignments": [
            {
                "id": "d4e5f60718293a4b5c6d7e8f90a1b2c3",
                "worker_id": WORKER,
                "role": "own_worker",
                "start_date": "2026-03-09",
            },
            {
                "id": "e5f60718293a4b5c6d7e8f90a1b2c3d4",
                "worker_id": PAIR_WORKER,
                "role": "pair_worker",
                "start_date": "2026-04-20",
            },
        ],
    },
    "assessment": {
        "_id": "f60718293a4b5c6d7e8f90a1b2c3d4e5",
        "type": "assessment",
        "case_id": CASE,
        "started_on": "2026-03-09",
        "completed_on": "2026-04-17",
        "client_view": "Vi orkar inte med kvällarna, Eetu somnar sent och alla är trötta.",
        "child_views": [
            {
                "id": "0718293a4b5c6d7e8f90a1b2c3d4e5f6",
                "member_id": CHILD,
                "view": "Eetu piirsi kuvan: äiti ja minä puistossa.",
            }
        ],
        "worker_conclusions": "Perhe hyötyy sosiaaliohjauksesta: iltarutiinit ja vertaistuki.",
        "urgent_need": False,
        "child_protection_need": False,
        "own_worker_needed": True,
        "concern_zone": "small",
    },
    "plan": {
        "_id": "18293a4b5c6d7e8f90a1b2c3d4e5f607",
        "type": "plan",
        "case_id": CASE,
        "drawn_up_on": "2026-04-20",
        "review_on": "2026-07-20",
        "goals": [
            {
                "id": "293a4b5c6d7e8f90a1b2c3d4e5f60718",
                "title": "Rauhallisemmat illat",
                "parent_view": "Haluan, että ilta ei ole taistelua.",
                "child_view": "Iltasatu joka ilta.",
                "worker_view": "Selkeä iltarutiini kuvakortein.",
                "ratings": [
                    {
                        "id": "3a4b5c6d7e8f90a1b2c3d4e5f6071829",
                        "rated_on": "2026-04-20",
                        "value": 3,
                        "rated_by": "parent",
                    }
                ],
            }
        ],
    },
    "visit": {
        "_id": VISIT,
        "type": "visit",
        "case_id": CASE,
        "kind": "daycare",
        "status": "done",
        "starts_at": "2026-05-04T09:30:00+03:00",
        "ends_at": "2026-05-04T10:30:00+03:00",
        "location": "Päiväkoti Satakieli",
        "participants": [
            {"id": "4b5c6d7e8f90a1b2c3d4e5f60718293a", "kind": "worker", "worker_id": WORKER},
            {"id": "5c6d7e8f90a1b2c3d4e5f60718293a4b", "kind": "worker", "worker_id": PAIR_WORKER},
            {
                "id": "6d7e8f90a1b2c3d4e5f60718293a4b5c",
                "kind": "family_member",
                "member_id": MOTHER,
            },
            {
                "id": "7e8f90a1b2c3d4e5f60718293a4b5c6d",
                "kind": "external",
                "name": "Sari Mäkinen",
                "organisation": "Päiväkoti Satakieli",
                "role": "varhaiskasvatuksen opettaja",
            },
        ],
    },
    "note": {
        "_id": "8f90a1b2c3d4e5f60718293a4b5c6d7e",
        "type": "note",
        "case_id": CASE,
        "kind": "entry",
        "visit_id": VISIT,
        "occurred_at": "2026-05-04T09:30:00+03:00",
        "discussion": "Keskusteltiin aamujen sujumisesta päiväkotiin lähtiessä.",
        "client_view": "Aamut menevät jo paremmin, kun vaatteet on valittu illalla.",
        "agreed_actions": [
            {
                "id": "90a1b2c3d4e5f60718293a4b5c6d7e8f",
                "text": "Kokeillaan kuvakortteja iltarutiiniin kahden viikon ajan.",
                "responsible": "äiti ja ohjaaja",
                "due_on": "2026-05-18",
            }
        ],
        "written_with_client": True,
        "client_review": {"status": "agrees", "comment": "Hyvä että kirjattiin yhdessä."},
        "state": "final",
        "finalised_by": WORKER,
        "finalised_at": "2026-05-04T11:05:00+03:00",
    },
    "consent": {
        "_id": "a1b2c3d4e5f60718293a4b5c6d7e8f91",
        "type": "consent",
        "case_id": CASE,
        "service_kind": "daycare",
        "service_name": "Päiväkoti Satakieli",
        "scope": "Tietojen vaihto Eetun arjen tuesta päiväkodin kanssa.",
        "given_by": MOTHER,
        "valid_from": "2026-04-20",
        "valid_to": "2026-12-31",
    },
    "observation": {
        "_id": "b2c3d4e5f60718293a4b5c6d7e8f91a2",
        "type": "observation",
        "team_id": TEAM,
        "observed_in": "2026-05",
        "phenomenon_tags": ["evening-routines", "parental-exhaustion"],
        "text": "Useat perheet kertovat iltojen kuormittavuudesta vuorotyön vuoksi.",
    },
    "access_event": {
        "_id": "c3d4e5f60718293a4b5c6d7e8f91a2b3",
        "type": "access_event",
        "case_id": CASE,
        "device_id": "d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f",
        "viewed_at": "2026-05-04T11:07:00+03:00",
        "doc_ids": ["8f90a1b2c3d4e5f60718293a4b5c6d7e", FAMILY],
    },
}


def example(doc_type: str) -> dict:
    """A fresh copy of the example document of `doc_type` (safe to mutate)."""
    return {**copy.deepcopy(_EXAMPLES[doc_type]), **_STAMP}


def all_examples() -> dict[str, dict]:
    return {name: example(name) for name in _EXAMPLES}
