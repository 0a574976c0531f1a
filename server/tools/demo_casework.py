"""A fuller case file for two of the demo organisation's active cases: visits with
their participants (an interpreter and the language), notes written with the family
(one final with an amendment beside it, one the client disagrees with), the
service-need assessment with its concern zone, the client plan with goals rated over
several weeks by the parent, the child and the worker, and a consent.

Fictional people and realistic sentences, one story in Finnish and one in Swedish, so
the case page (`/cases/<id>`) has something true to show. Written through the sealed
write path (`Records.write`) like any server-side document; the plan is revised twice,
by two workers, so its history has more than one revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mobile_schema import CURRENT_VERSION

from .demo_data import new_id


@dataclass(frozen=True)
class Story:
    """The words of one family's case file (the interpreter's language is `language`)."""

    language: str
    guardian: str  # the given name of the guardian who needs the interpreter
    interpreter: str
    interpreter_service: str
    daycare: str
    daycare_teacher: str
    teacher_role: str
    responsible: tuple[str, str]  # the family, the instructor
    first_visit: str
    first_view: str
    actions: tuple[str, str]
    correction: str
    correction_reason: str
    second_visit: str
    disagreement: str
    assessment_view: str
    child_view: str
    conclusions: str
    goals: tuple[tuple[str, str, str, str], ...]  # title, parent's, child's, worker's view
    consent_scope: str


STORIES = (
    Story(
        language="ar",
        guardian="Amira",
        interpreter="Layla Haddad",
        interpreter_service="Tulkkikeskus",
        daycare="Päiväkoti Vaahtera",
        daycare_teacher="Kirsi Lehto",
        teacher_role="varhaiskasvatuksen opettaja",
        responsible=("perhe", "ohjaaja"),
        first_visit=(
            "Tapasimme perheen kotona tulkin välityksellä. Äiti kertoi, että illat venyvät "
            "ja lapsi nukahtaa vasta yhdentoista jälkeen. Puhuimme siitä, mikä auttaisi "
            "rauhoittumaan ennen nukkumaanmenoa."
        ),
        first_view="Äiti toivoo apua iltarutiineihin ja omaan jaksamiseensa.",
        actions=(
            "Kokeillaan kuvakortteja iltatoimissa kahden viikon ajan",
            "Ohjaaja selvittää perheelle kerhon, jossa äiti voi tavata muita vanhempia",
        ),
        correction="Päiväkodin nimi korjattu: lapsi on Päiväkoti Vaahterassa, ei Koivussa.",
        correction_reason="Väärä päiväkodin nimi alkuperäisessä kirjauksessa",
        second_visit=(
            "Päiväkodin palaverissa opettaja kertoi, että aamut ovat sujuneet paremmin. "
            "Lapsi leikkii jo muiden kanssa ja kertoo kotona kuvakorteista."
        ),
        disagreement=(
            "Äidin mielestä aamut ovat edelleen raskaita, vaikka päiväkodissa menee hyvin."
        ),
        assessment_view="Perhe toivoo tukea arjen rytmiin ja äidin jaksamiseen.",
        child_view="Tykkään kun äiti lukee iltasadun.",
        conclusions=(
            "Perhe hyötyy perhetyöstä noin kolmen kuukauden ajan: iltarutiinit ja "
            "vanhemman jaksaminen. Lastensuojelun tarvetta ei ole."
        ),
        goals=(
            (
                "Illat rauhoittuvat",
                "Haluan, että lapsi nukahtaa ennen kymmentä.",
                "Iltasatu ja pehmolelu auttavat.",
                "Kuvakortit ovat käytössä joka ilta; nukahtaminen aikaistunut.",
            ),
            (
                "Äiti jaksaa arjessa",
                "Tarvitsen hetken omaa aikaa viikossa.",
                "",
                "Äiti on käynyt kahdesti vanhempien kerhossa.",
            ),
        ),
        consent_scope=(
            "Tietojen vaihto päiväkodin kanssa lapsen arjen sujumisesta ja yhteisistä tavoitteista"
        ),
    ),
    Story(
        language="so",
        guardian="Abdi",
        interpreter="Sahra Warsame",
        interpreter_service="Tolkcentralen",
        daycare="Daghemmet Näckrosen",
        daycare_teacher="Maria Holmberg",
        teacher_role="barnträdgårdslärare",
        responsible=("familjen", "handledaren"),
        first_visit=(
            "Vi träffade familjen hemma med tolk. Pappan berättade att han sökt jobb i Vasa "
            "och att morgnarna till daghemmet blivit stressiga. Vi pratade om hur familjen "
            "kan dela upp morgonsysslorna."
        ),
        first_view="Pappan vill ha hjälp med morgnarna och kontakten till daghemmet.",
        actions=(
            "Familjen provar ett morgonschema med bilder i två veckor",
            "Handledaren bokar ett möte med daghemmet",
        ),
        correction="Mötet med daghemmet är på torsdag, inte på fredag.",
        correction_reason="Fel veckodag i den ursprungliga anteckningen",
        second_visit=(
            "På daghemmet berättade läraren att barnet kommer i tid tre dagar av fem. "
            "Barnet visade själv sitt morgonschema."
        ),
        disagreement="Pappan tycker att daghemmet borde ringa honom direkt, inte mamman.",
        assessment_view="Familjen vill ha stöd med morgnarna och samarbetet med daghemmet.",
        child_view="Jag vill gå till dagis med pappa.",
        conclusions=(
            "Familjen behöver familjearbete i cirka tre månader för morgonrutinerna och "
            "samarbetet med daghemmet. Barnet kan behöva särskilt stöd i språket."
        ),
        goals=(
            (
                "Morgnarna går lugnt",
                "Vi vill hinna till daghemmet utan bråk.",
                "Jag vill välja kläder själv.",
                "Morgonschemat används; familjen kommer oftare i tid.",
            ),
        ),
        consent_scope="Utbyte av uppgifter med daghemmet om barnets morgnar och språkstöd",
    ),
)
RATINGS = {  # days before today → (parent, child, worker), per goal
    0: ((18, 3, 4, 3), (11, 5, 5, 4), (4, 6, 7, 6)),
    1: ((18, 4, None, 4), (11, 4, None, 5), (4, 6, None, 6)),
}


def interpreter_family(members: list[dict], story: Story) -> list[dict]:
    """The family's members, the guardian being the story's, who needs an interpreter."""
    out = [dict(m) for m in members]
    guardian = next(m for m in out if m["role"] == "guardian")
    guardian.update(
        given_names=story.guardian,
        languages=[story.language],
        interpreter_needed=True,
        interpreter_language=story.language,
    )
    return out


def write_case_file(
    site, case_id: str, members: list[dict], own: str, pair: str | None, story: Story
) -> None:
    """Write the story's visits, notes, assessment, plan and consent into the case."""
    today = date.today()  # the server's today: its local date
    guardian = next(m["id"] for m in members if m["role"] == "guardian")
    child = next(m["id"] for m in members if m["role"] == "child")
    second = pair or own
    first_visit = _visit(case_id, own, today - timedelta(days=45), "home", [
        _worker(own), *([_worker(pair)] if pair else []), _member(guardian), _member(child),
        _external(story.interpreter, story.interpreter_service, language=story.language),
    ])  # fmt: skip
    first_note = _first_note(case_id, own, first_visit, story)
    amendment = _amendment(case_id, second, first_note, story)
    daycare_visit = _visit(case_id, own, today - timedelta(days=14), "daycare", [
        _worker(own), _member(guardian),
        _external(story.daycare_teacher, story.daycare, role=story.teacher_role),
    ])  # fmt: skip
    second_note = _second_note(case_id, own, daycare_visit, story)
    docs = [first_visit, first_note, amendment, daycare_visit, second_note]
    docs += [
        _assessment(case_id, own, child, story, today),
        _consent(case_id, own, guardian, story),
    ]
    _write(site, case_id, docs)
    _write_plan(site, case_id, own, second, story, today)


# ---------------------------------------------------------------- documents


def _stamp(doc: dict, by: str, at: datetime, created: datetime | None = None) -> dict:
    first = created or at
    return doc | {
        "schema_version": CURRENT_VERSION,
        "created_at": _rfc3339(first),
        "created_by": doc.get("created_by", by),
        "updated_at": _rfc3339(at),
        "updated_by": by,
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _worker(worker_id: str) -> dict:
    return {"id": new_id(), "kind": "worker", "worker_id": worker_id}


def _member(member_id: str) -> dict:
    return {"id": new_id(), "kind": "family_member", "member_id": member_id}


def _external(name: str, organisation: str, role: str | None = None, language=None) -> dict:
    item = {"id": new_id(), "kind": "external", "name": name, "organisation": organisation}
    if role:
        item["role"] = role
    if language:
        item.update(interpreter=True, language=language)
    return item


def _visit(case_id: str, own: str, day: date, kind: str, participants: list[dict]) -> dict:
    starts = _at(day, 7)
    doc = {
        "_id": new_id(),
        "type": "visit",
        "case_id": case_id,
        "kind": kind,
        "status": "done",
        "starts_at": _rfc3339(starts),
        "ends_at": _rfc3339(starts + timedelta(minutes=90)),
        "participants": participants,
    }
    return _stamp(doc, own, starts - timedelta(days=3))


def _note(case_id: str, visit: dict, text: str, view: str) -> dict:
    return {
        "_id": new_id(),
        "type": "note",
        "case_id": case_id,
        "kind": "entry",
        "visit_id": visit["_id"],
        "occurred_at": visit["ends_at"],
        "discussion": text,
        "client_view": view,
        "written_with_client": True,
        "state": "draft",
    }


def _first_note(case_id: str, own: str, visit: dict, story: Story) -> dict:
    """Written with the family and finalised the same day; the client agrees."""
    ended = _moment(visit["ends_at"])
    doc = _note(case_id, visit, story.first_visit, story.first_view)
    doc |= {
        "agreed_actions": [
            {"id": new_id(), "text": story.actions[0], "responsible": story.responsible[0],
             "due_on": (ended.date() + timedelta(days=14)).isoformat()},
            {"id": new_id(), "text": story.actions[1], "responsible": story.responsible[1]},
        ],
        "client_review": {"status": "agrees"},
        "state": "final",
        "finalised_by": own,
        "finalised_at": _rfc3339(ended + timedelta(hours=2)),
    }  # fmt: skip
    return _stamp(doc, own, ended + timedelta(hours=2), created=ended)


def _amendment(case_id: str, by: str, original: dict, story: Story) -> dict:
    """A correction of the final note, two days later, beside the original."""
    at = _moment(original["finalised_at"]) + timedelta(days=2)
    doc = {
        "_id": new_id(),
        "type": "note",
        "case_id": case_id,
        "kind": "amendment",
        "amends": original["_id"],
        "amendment_reason": story.correction_reason,
        "occurred_at": _rfc3339(at),
        "discussion": story.correction,
        "written_with_client": False,
        "state": "final",
        "finalised_by": by,
        "finalised_at": _rfc3339(at),
    }
    return _stamp(doc, by, at)


def _second_note(case_id: str, own: str, visit: dict, story: Story) -> dict:
    """A draft the client has read and disagrees with, in their own words."""
    ended = _moment(visit["ends_at"])
    doc = _note(case_id, visit, story.second_visit, story.first_view)
    doc["client_review"] = {"status": "disagrees", "comment": story.disagreement}
    return _stamp(doc, own, ended + timedelta(hours=1))


def _assessment(case_id: str, own: str, child: str, story: Story, today: date) -> dict:
    doc = {
        "_id": new_id(),
        "type": "assessment",
        "case_id": case_id,
        "started_on": (today - timedelta(days=50)).isoformat(),
        "completed_on": (today - timedelta(days=22)).isoformat(),
        "client_view": story.assessment_view,
        "child_views": [{"id": new_id(), "member_id": child, "view": story.child_view}],
        "worker_conclusions": story.conclusions,
        "urgent_need": False,
        "child_protection_need": False,
        "own_worker_needed": True,
        "concern_zone": "small",
    }
    return _stamp(doc, own, _at(today - timedelta(days=22), 12))


def _consent(case_id: str, own: str, guardian: str, story: Story) -> dict:
    today = date.today()  # the server's today: its local date
    doc = {
        "_id": new_id(),
        "type": "consent",
        "case_id": case_id,
        "service_kind": "daycare",
        "service_name": story.daycare,
        "scope": story.consent_scope,
        "given_by": guardian,
        "valid_from": (today - timedelta(days=45)).isoformat(),
        "valid_to": (today + timedelta(days=320)).isoformat(),
    }
    return _stamp(doc, own, _at(today - timedelta(days=45), 9))


# ---------------------------------------------------------------- the plan


def _write_plan(site, case_id: str, own: str, second: str, story: Story, today: date) -> None:
    """The plan drawn up with the first ratings, then rated again twice (by the own
    worker and the pair worker), so the chart has a line over time."""
    goals = [
        {"id": new_id(), "title": title, "parent_view": parent, "worker_view": worker,
         "ratings": [], **({"child_view": child} if child else {})}
        for title, parent, child, worker in story.goals
    ]  # fmt: skip
    plan = {
        "_id": new_id(),
        "type": "plan",
        "case_id": case_id,
        "drawn_up_on": (today - timedelta(days=20)).isoformat(),
        "review_on": (today + timedelta(days=70)).isoformat(),
        "goals": goals,
    }
    created = _at(today - timedelta(days=20), 10)
    for round_, by in enumerate((own, own, second)):
        for number, goal in enumerate(goals):
            days_ago, *values = RATINGS[min(number, 1)][round_]
            goal["ratings"] += _ratings(today - timedelta(days=days_ago), values)
        days_ago = RATINGS[0][round_][0]
        plan = _stamp(plan, by, _at(today - timedelta(days=days_ago), 12), created=created)
        [result] = _write(site, case_id, [plan])
        plan["_rev"] = result["rev"]


def _ratings(day: date, values: list[int | None]) -> list[dict]:
    return [
        {"id": new_id(), "rated_on": day.isoformat(), "value": value, "rated_by": rater}
        for rater, value in zip(("parent", "child", "worker"), values, strict=True)
        if value is not None
    ]


def _write(site, case_id: str, docs: list[dict]) -> list[dict]:
    results = site.records.write(case_id, docs)
    refused = [r for r in results if not r.get("ok")]
    if refused:
        raise RuntimeError(f"demo documents refused in case {case_id}: {refused}")
    return results


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
