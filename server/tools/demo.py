"""The demo organisation: one team, a supervisor, instructors, families with Finnish
and Swedish names, cases in every status, visits today and tomorrow, and on two active
cases a full case file (`demo_casework`: visits with an interpreter, a final note and its
amendment, the assessment, the client plan with ratings, a consent).

Idempotent: seeding a site that already has the demo accounts changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..site import Site
from . import demo_casework
from .demo_data import family_doc, note_doc, visit_doc

DEMO_PASSWORD = "sopu-demo-2026"
ACTOR = "seed-demo"
PEOPLE = [
    ("esihenkilo", "Sanna Esihenkilö", "supervisor"),
    ("aino", "Aino Ohjaaja", "worker"),
    ("bertil", "Bertil Handledare", "worker"),
    ("kaisa", "Kaisa Perheohjaaja", "worker"),
    ("admin", "Pääkäyttäjä", "admin"),
]
STATUSES = ["pending", "assessment", "active", "active", "active", "closed"]
STATUS_PATH = ["pending", "assessment", "active", "closed"]
# Family number → the story of its full case file (two active cases, one with a pair).
CASE_FILES = {2: demo_casework.STORIES[0], 3: demo_casework.STORIES[1]}


@dataclass
class Login:
    username: str
    display_name: str
    role: str
    password: str


def seed_demo(site: Site, families: int = 8, seed: int = 2026) -> list[Login]:
    """Create the demo organisation (once) and return its logins."""
    logins = [Login(u, n, r, DEMO_PASSWORD) for u, n, r in PEOPLE]
    if site.directory.one("SELECT 1 FROM workers WHERE username = ?", ("esihenkilo",)):
        return logins
    rng = random.Random(seed)
    team = site.accounts.create_team("Perhetyö Keskusta", ACTOR)
    ids = {
        u: site.accounts.create(
            u, n, r, ACTOR, team_id=team if r != "admin" else None, password=DEMO_PASSWORD
        )
        for u, n, r in PEOPLE
    }
    instructors = [ids["aino"], ids["bertil"], ids["kaisa"]]
    for number in range(families):
        own = instructors[number % len(instructors)]
        pair = instructors[(number + 1) % len(instructors)]
        _family_case(
            site,
            rng,
            team,
            own,
            pair if number % 2 == 0 else None,
            STATUSES[number % len(STATUSES)],
            number,
            ids["esihenkilo"],
        )
    _observations(site, [ids[u] for u in ("aino", "bertil", "kaisa", "esihenkilo")])
    return logins


# Social-reporting observations (SHL 7 §) of the last three months: one phenomenon seen
# often enough to be reported with its texts, the others fewer than 5 times (suppressed).
OBSERVATIONS = [
    (["shift-work", "evening-routines"], "Vuorotyö vaikeuttaa iltojen rytmiä useassa perheessä."),
    (["shift-work"], "Vanhemmat kertovat, että vuorotyö jättää vähän yhteistä aikaa."),
    (["shift-work", "daycare-hours"], "Iltavuorot ja päiväkodin aukioloajat eivät sovi yhteen."),
    (["shift-work"], "Skiftarbete gör kvällarna tunga för flera familjer."),
    (["shift-work", "housing-insecurity"], "Vuorotyö ja pitkät työmatkat kuormittavat arkea."),
    (["housing-insecurity"], "Vuokra-asunnon menetyksen pelko näkyy arjessa."),
    (["housing-insecurity"], "Ahtaat asunnot vaikeuttavat lasten unta."),
    (["interpreter-availability"], "Tulkkia on vaikea saada lyhyellä varoitusajalla."),
]


def _observations(site: Site, recorders: list[str]) -> None:
    """Record the demo's observations, spread over the recorders and the last months."""
    today = date.today()  # the server's today: its local date
    for number, (tags, text) in enumerate(OBSERVATIONS):
        month = (today.replace(day=1) - timedelta(days=31 * (number % 3))).strftime("%Y-%m")
        account = site.accounts.get(recorders[number % len(recorders)])
        site.observations.record(
            account, {"observed_in": month, "phenomenon_tags": tags, "text": text}
        )


def _family_case(
    site: Site,
    rng: random.Random,
    team: str,
    own: str,
    pair: str | None,
    status: str,
    number: int,
    supervisor: str,
) -> str:
    """A family with one case walked to `status`, its workers, a visit and notes."""
    today = date.today()  # the server's today: its local date
    details = {k: v for k, v in family_doc(rng, own).items() if k in ("display_name", "members")}
    story = CASE_FILES.get(number)
    if story:
        details["members"] = demo_casework.interpreter_family(details["members"], story)
    first_case = {
        "service_task": rng.choice(
            ["family_social_guidance", "family_guidance", "early_support_family_work"]
        ),
        "pending_since": (today - timedelta(days=60)).isoformat(),
        "special_support_need": number % 3 == 0,
        "referral": {
            "source": rng.choice(["parent_self", "child_health_clinic", "daycare", "school"]),
            "received_on": (today - timedelta(days=60)).isoformat(),
        },
    }
    _family_id, case_id = site.families.create(team, details, first_case, supervisor)
    walk = {"assessment": 50, "active": 20}
    for step in STATUS_PATH[: STATUS_PATH.index(status) + 1][1:]:
        if step == "closed":
            site.casework.close(case_id, today, "goals_met", supervisor)
        else:
            site.casework.change_status(
                case_id, step, today - timedelta(days=walk[step]), supervisor
            )
    if status == "closed":
        return case_id
    site.casework.assign(case_id, own, "own_worker", supervisor)
    if pair:
        site.casework.assign(case_id, pair, "pair_worker", supervisor)
    when = datetime.combine(today + timedelta(days=number % 3), time(9 + number % 6)).astimezone()
    visit = visit_doc(case_id, own, when, kind=rng.choice(["home", "daycare", "office"]))
    notes = [note_doc(rng, case_id, own, visit["_id"]) for _ in range(rng.randint(1, 4))]
    site.records.write(case_id, [visit, *notes])
    if story:
        demo_casework.write_case_file(site, case_id, details["members"], own, pair, story)
    return case_id
