"""A second team in the served demo organisation with cases whose THL figures the
report tests know exactly, built through the site's services on 15.1.2027."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.casework.cases import new_id, stamped
from tests.support.team import add_team
from tests.support.web import Web

TODAY = date(2027, 1, 15)
CONCERN_WORDS = ("concern", "great", "Suuri huoli", "Stor oro", "huolen", "oroszon")


@dataclass
class North:
    people: dict  # username → id, "team" → the team's id
    cases: dict  # what each case shows → its id


def on_report_day(web: Web) -> Web:
    """`web` on 15.1.2027 (`SOPU_TODAY`) with team North as `web.north`."""
    web.app.config["SOPU_TODAY"] = lambda: TODAY
    web.north = north_team(web)
    return web


def north_team(web: Web) -> North:
    """Team Perhetyö Pohjoinen (supervisor `pia`, instructor `iida`) and five cases:

    - `in_time`: pending Thu 1.10.2026, started 5.10., complete 30.11. (in time)
    - `late_start`: pending Thu 17.12.2026, started Thu 31.12., one working day after
      the 7th (30.12., Christmas not counted)
    - `not_started`: pending 1.12.2026, nothing started by 15.1. (due 10.12.)
    - `backlog`: pending 1.6.2026 (2026H1), started 3.6., never completed (due 1.9.)
    - `no_support`: pending 5.10.2026, no child who may need special support
    Every assessment has the concern zone "great", which no report may show.
    """
    people = add_team(web, "Perhetyö Pohjoinen", ("pia", "Pia Pohjola"), [("iida", "Iida Ilo")])
    cases = {
        "in_time": new_case(web, people, "Aalto", date(2026, 10, 1), date(2026, 10, 5),
                         completed=date(2026, 11, 30)),
        "late_start": new_case(web, people, "Berg", date(2026, 12, 17), date(2026, 12, 31)),
        "not_started": new_case(web, people, "Castrén", date(2026, 12, 1), None),
        "backlog": new_case(web, people, "Dahl", date(2026, 6, 1), date(2026, 6, 3)),
        "no_support": new_case(web, people, "Eklund", date(2026, 10, 5), date(2026, 10, 6),
                            special=False),
    }  # fmt: skip
    return North(people, cases)


def new_case(web, people, name, pending, started, completed=None, special=True) -> str:
    details = {
        "display_name": name,
        "members": [
            {"id": new_id(), "role": "guardian", "given_names": "Maija", "family_name": name,
             "languages": ["sv" if name in ("Berg", "Dahl") else "fi"]},
            {"id": new_id(), "role": "child", "given_names": "Onni", "family_name": name},
        ],
    }  # fmt: skip
    first = {
        "service_task": "family_social_guidance",
        "pending_since": pending.isoformat(),
        "special_support_need": special,
        "referral": {"source": "daycare", "received_on": pending.isoformat()},
    }
    actor = people["pia"]
    _family, case_id = web.site.families.create(people["team"], details, first, actor, TODAY)
    if started:
        web.site.casework.change_status(case_id, "assessment", started, actor, TODAY)
        assessment(web, case_id, actor, started, completed)
    return case_id


def assessment(web, case_id, actor, started, completed=None, **fields) -> dict:
    doc = {
        "_id": new_id(),
        "type": "assessment",
        "case_id": case_id,
        "started_on": started.isoformat(),
        "client_view": "Äiti toivoo apua iltoihin.",
        "worker_conclusions": "Perhe hyötyy perheohjauksesta.",
        "urgent_need": False,
        "child_protection_need": False,
        "own_worker_needed": True,
        "concern_zone": "great",
        **fields,
    }
    if completed:
        doc["completed_on"] = completed.isoformat()
    doc = stamped(doc, actor, created=True)
    assert web.site.records.write(case_id, [doc])[0].get("ok")
    return doc
