"""More of a field day's pair work for the simulator: every kind of field, deletions,
and stale leaves.

The note scenarios in `simulate` edit the day's note; these add what instructors also
do on their phones, through the same field-work helpers as `sopu device edit`,
`delete` and `acknowledge` (`fieldwork`): the client's review, an agreed action's text
and who is responsible for it, the visit's kind and start time, the assessment's
texts, flags and a child's own view, the plan's goal titles and views — and a scratch
note one instructor deletes while the other may still be editing it. After the first
offline stretch some devices sync and some do not, and everyone keeps writing
(`stale_round`): the ones that did not sync edit leaves the server has since merged.

Each step is `(device, doc id, run)`. A step tracks its edit only once the device has
stored it: a device that already knows a note is final refuses to edit it, and then
there is no edit to look for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from mobile_schema.base import open_items

from .fieldwork import FieldWorkError, delete, edit

if TYPE_CHECKING:  # pragma: no cover
    from .simulate import CaseWork, SimDevice, Simulation

Step = tuple["SimDevice", str, Callable[[], None]]


def attempt(
    sim: Simulation, case: CaseWork, device, doc_id: str, what: str, token, edits, check=None
):
    """A step that applies path edits and tracks its marker once they are stored; with
    `check` (a value, not a marker), setting it again on a later day supersedes it."""

    def run() -> None:
        try:
            applied = edits(device.read(doc_id))
            edit(device, doc_id, applied, at=sim.tick())
        except FieldWorkError:
            return  # a final note on this device: nothing was written
        value_of = (doc_id, applied[0][1]) if check is not None else None
        sim.track(case, doc_id, what, token, check, value_of=value_of)

    return device, doc_id, run


def field_work(sim: Simulation, case: CaseWork, a, b) -> list[Step]:
    """Each instructor edits other fields of the visit, the note, the assessment and the
    plan; some of them the same field (a collision, kept in an item)."""
    steps = []
    for chosen in sim.rng.sample(FIELD_WORK, sim.rng.randint(3, len(FIELD_WORK))):
        steps.extend(chosen(sim, case, a, b))
    return steps


def _review(sim, case, a, b) -> list[Step]:
    token = sim.token()
    status = sim.rng.choice(["read", "agrees", "disagrees"])
    return [
        attempt(
            sim,
            case,
            sim.rng.choice((a, b)),
            case.note_id,
            "client review given",
            token,
            lambda _doc: [
                ("set", "client_review/status", status),
                ("set", "client_review/comment", f"Äidin kommentti [{token}]."),
            ],
        )
    ]


def _action_fields(sim, case, a, b) -> list[Step]:
    """One edits the agreed action's text, the other says who is responsible."""
    text, who = sim.token(), sim.token()
    action = case.action_id
    return [
        attempt(
            sim,
            case,
            a,
            case.note_id,
            "agreed action edited",
            text,
            lambda doc: [
                ("set", f"agreed_actions/{action}/text", f"{_action(doc, action)} [{text}]."),
            ],
        ),
        attempt(
            sim,
            case,
            b,
            case.note_id,
            "responsible named",
            who,
            lambda _doc: [("set", f"agreed_actions/{action}/responsible", f"Isä [{who}]")],
        ),
    ]


def _action(doc: dict, action_id: str) -> str:
    for item in doc.get("agreed_actions") or []:
        if item["id"] == action_id:
            return item["text"].rstrip(".")
    return "Tehtävä"


def _visit_fields(sim, case, a, b) -> list[Step]:
    """Kind on one phone, start time on the other (different fields of one visit)."""
    kind = sim.rng.choice(["home", "daycare", "office", "phone"])
    minute = sim.rng.randint(0, 59)

    def check_kind(doc, _amendments):
        return doc.get("kind") == kind or _in_items(doc, "/kind", kind)

    def starts(doc):
        return doc["starts_at"][:14] + f"{minute:02d}" + doc["starts_at"][16:]

    def check_time(doc, _amendments):
        return doc["starts_at"][14:16] == f"{minute:02d}" or _in_items(doc, "/starts_at", None)

    return [
        attempt(
            sim,
            case,
            a,
            case.visit_id,
            "visit kind changed",
            kind,
            lambda _doc: [("set", "kind", kind)],
            check_kind,
        ),
        attempt(
            sim,
            case,
            b,
            case.visit_id,
            "visit moved",
            f"minute {minute}",
            lambda doc: [("set", "starts_at", starts(doc))],
            check_time,
        ),
    ]


def _assessment(sim, case, a, b) -> list[Step]:
    view, conclusion, child = sim.token(), sim.token(), sim.token()
    urgent = sim.rng.random() < 0.5
    member = case.child_id

    def check_urgent(doc, _amendments):
        return doc.get("urgent_need") is urgent or _in_items(doc, "/urgent_need", urgent)

    return [
        attempt(
            sim,
            case,
            a,
            case.assessment_id,
            "client's view of the assessment",
            view,
            lambda doc: [("set", "client_view", _appended(doc.get("client_view"), view))],
        ),
        attempt(
            sim,
            case,
            b,
            case.assessment_id,
            "worker's conclusions",
            conclusion,
            lambda doc: [
                ("set", "worker_conclusions", _appended(doc.get("worker_conclusions"), conclusion))
            ],
        ),
        attempt(
            sim,
            case,
            b,
            case.assessment_id,
            "child's own view",
            child,
            lambda _doc: [
                ("append", "child_views", {"member_id": member, "view": f"Minä [{child}]."})
            ],
        ),
        attempt(
            sim,
            case,
            a,
            case.assessment_id,
            "urgent need",
            f"urgent={urgent}",
            lambda _doc: [("set", "urgent_need", urgent)],
            check_urgent,
        ),
    ]


def _goals(sim, case, a, b) -> list[Step]:
    """A goal retitled on one phone; the parent's and child's views on the other."""
    goal = sim.rng.choice(case.goal_ids)
    title, parent, child = sim.token(), sim.token(), sim.token()
    return [
        attempt(
            sim,
            case,
            a,
            case.plan_id,
            "goal retitled",
            title,
            lambda _doc: [("set", f"goals/{goal}/title", f"Rauhalliset illat [{title}]")],
            _holds(title),
        ),
        attempt(
            sim,
            case,
            b,
            case.plan_id,
            "parent's and child's view",
            parent,
            lambda doc: [
                (
                    "set",
                    f"goals/{goal}/parent_view",
                    _appended(_goal(doc, goal, "parent_view"), parent),
                ),
                (
                    "set",
                    f"goals/{goal}/child_view",
                    _appended(_goal(doc, goal, "child_view"), child),
                ),
            ],
        ),
    ]


FIELD_WORK = [_review, _action_fields, _visit_fields, _assessment, _goals]


def deletion(sim: Simulation, case: CaseWork, a, b) -> list[Step]:
    """One instructor deletes the scratch note; the other may still be editing it. The
    note must end deleted, or kept with an item that names the one who deleted it."""
    scratch, deleter = case.scratch_id, sim.worker_of(a)

    def check(doc, _amendments) -> bool:
        if doc is None:
            return True  # deleted: any edit lost with it fails its own check
        return any(
            item["kind"] == "deleted_edited" and deleter in (item["ours_by"], item["theirs_by"])
            for item in open_items(doc)
        )

    def run() -> None:
        seen = json.dumps(a.read(scratch), ensure_ascii=False)
        delete(a, scratch)
        sim.supersede(lambda e: e.doc_id == scratch and e.token in seen)
        sim.track(case, scratch, "scratch note deleted", f"deleted {scratch[:8]}", check, True)

    steps = [(a, scratch, run)]
    if sim.rng.random() < 0.6:
        token = sim.token()
        steps.append(
            attempt(
                sim,
                case,
                b,
                scratch,
                "deleted note edited",
                token,
                lambda doc: [("set", "discussion", _appended(doc.get("discussion"), token))],
            )
        )
    return steps


def stale_round(sim: Simulation, case: CaseWork, a, b) -> list[Step]:
    """Another stretch of writing after some devices synced and some did not."""
    steps = []
    for device in (a, b):
        token = sim.token()
        doc_id, key = sim.rng.choice(
            [(case.note_id, "discussion"), (case.note_id, "client_view"), (case.plan_id, None)]
        )
        if key is None:
            goal = sim.rng.choice(case.goal_ids)

            def edits(doc, goal=goal, token=token):
                path = f"goals/{goal}/worker_view"
                return [("set", path, _appended(_goal(doc, goal, "worker_view"), token))]

        else:

            def edits(doc, key=key, token=token):
                return [("set", key, _appended(doc.get(key), token))]

        steps.append(attempt(sim, case, device, doc_id, "written on a stale leaf", token, edits))
    return steps


def _holds(token: str):
    """The check of a value carrying a marker: the document (or an item) still holds it."""
    return lambda doc, _amendments: token in json.dumps(doc, ensure_ascii=False)


def _appended(text: str | None, token: str) -> str:
    return f"{(text or '').rstrip()} Lisäys [{token}].".strip()


def _goal(doc: dict, goal_id: str, key: str) -> str | None:
    return next((g.get(key) for g in doc.get("goals", []) if g["id"] == goal_id), None)


def _in_items(doc: dict, path: str, value) -> bool:
    """Is `value` (any value if None) one side of an item about `path`?"""
    for item in doc.get("reconciliation") or []:
        if item["path"] != path:
            continue
        if value is None:
            return True
        if value in (json.loads(item["ours"]), json.loads(item["theirs"])):
            return True
    return False
