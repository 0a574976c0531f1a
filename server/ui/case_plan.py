"""What the case page shows of the service-need assessment and the client plan.

The assessment with its statutory deadlines (SHL 36 §, `server.legal.deadlines`: start
by the 7th working day and complete within three months of the matter becoming
pending, for a child who may need special support) and whether each was met; the
concern zone (huolen vyöhykkeistö), the worker's private reflection aid, appears only
here — it is never counted, filtered, listed or charted. The plan with its review date
(SHL 39 §) and each goal's parent, child and worker views, and a chart of its 0–10
ratings over time (`charts`). Pure: documents and dates in, views out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..casework.case_file import CaseFile, Revision
from ..legal.deadlines import (
    DeadlineState,
    assessment_deadlines,
    plan_review_by,
    state,
    working_days_between,
)
from .case_view import Change, Names, changes
from .charts import RatingsChart, ratings_chart
from .i18n import N_, _

CONCERN_ZONES = {
    "no_concern": N_("No concern"),
    "small": N_("Small concern"),
    "considerable": N_("Considerable concern"),
    "great": N_("Great concern"),
}
RATERS = {"parent": N_("Parent"), "child": N_("Child"), "worker": N_("Worker")}


@dataclass
class Deadline:
    """A statutory deadline, and whether (and when) what it asks for was done."""

    what: str  # "start" or "complete"
    due: date
    done_on: date | None
    left: DeadlineState | None  # while not done: what is left of it today
    late_by: int  # working days done after the deadline (0: in time)


@dataclass
class AssessmentView:
    doc_id: str
    started_on: str
    completed_on: str | None
    client_view: str | None
    child_views: list[tuple[str, str]]  # (child's name, their own words)
    worker_conclusions: str | None
    urgent_need: bool | None
    child_protection_need: bool | None
    own_worker_needed: bool | None
    concern_zone: str | None  # private: shown only inside the assessment
    history: list[Change]


@dataclass
class AssessmentSection:
    statutory: bool  # the law sets dates (a child who may need special support)
    deadlines: list[Deadline] = field(default_factory=list)
    assessments: list[AssessmentView] = field(default_factory=list)


def assessment_section(
    file: CaseFile,
    members: dict[str, str],
    names: Names,
    histories: dict[str, list[Revision]],
    today: date,
) -> AssessmentSection:
    case_doc = file.get(file.case_id) or {}
    docs = file.of_type("assessment")
    views = [_assessment(doc, members, names, histories) for doc in docs]
    pending = _day(case_doc.get("pending_since"))
    if pending is None:
        return AssessmentSection(False, [], views)
    due = assessment_deadlines(pending, bool(case_doc.get("special_support_need")))
    if due.start_by is None or due.complete_by is None:
        return AssessmentSection(False, [], views)
    started = _day(case_doc.get("assessment_started_on")) or _earliest(docs, "started_on")
    completed = _earliest(docs, "completed_on")
    return AssessmentSection(
        True,
        [
            deadline("start", due.start_by, started, today),
            deadline("complete", due.complete_by, completed, today),
        ],
        views,
    )


def _assessment(doc: dict, members, names: Names, histories) -> AssessmentView:
    return AssessmentView(
        doc_id=doc["_id"],
        started_on=doc.get("started_on", ""),
        completed_on=doc.get("completed_on"),
        client_view=doc.get("client_view"),
        child_views=[
            (members.get(v.get("member_id"), ""), v.get("view", ""))
            for v in doc.get("child_views") or []
        ],
        worker_conclusions=doc.get("worker_conclusions"),
        urgent_need=doc.get("urgent_need"),
        child_protection_need=doc.get("child_protection_need"),
        own_worker_needed=doc.get("own_worker_needed"),
        concern_zone=CONCERN_ZONES.get(doc.get("concern_zone")),
        history=changes(histories.get(doc["_id"], []), names),
    )


def deadline(what: str, due: date, done_on: date | None, today: date) -> Deadline:
    if done_on is not None:
        late = max(0, working_days_between(due, done_on)) if done_on > due else 0
        return Deadline(what, due, done_on, None, late)
    return Deadline(what, due, None, state(due, today), 0)


# ---------------------------------------------------------------- the plan


@dataclass
class GoalView:
    id: str
    title: str
    parent_view: str | None
    child_view: str | None
    worker_view: str | None
    achieved: bool | None
    chart: RatingsChart | None
    rated_by: str  # who rated it, in words ("parent, worker"), for the chart's description


@dataclass
class PlanView:
    doc_id: str
    drawn_up_on: str
    review_on: str | None
    review: DeadlineState | None
    goals: list[GoalView]
    history: list[Change]


def plan_views(
    file: CaseFile, names: Names, histories: dict[str, list[Revision]], today: date
) -> list[PlanView]:
    return [_plan(doc, names, histories, today) for doc in file.of_type("plan")]


def _plan(doc: dict, names: Names, histories, today: date) -> PlanView:
    drawn = _day(doc.get("drawn_up_on"))
    review = plan_review_by(_day(doc.get("review_on")), drawn) if drawn else None
    return PlanView(
        doc_id=doc["_id"],
        drawn_up_on=doc.get("drawn_up_on", ""),
        review_on=review.isoformat() if review else doc.get("review_on"),
        review=state(review, today) if review else None,
        goals=[_goal(g) for g in doc.get("goals") or []],
        history=changes(histories.get(doc["_id"], []), names),
    )


def _goal(goal: dict) -> GoalView:
    chart = ratings_chart(goal.get("ratings") or [])
    return GoalView(
        id=goal.get("id", ""),
        title=goal.get("title") or "",
        parent_view=goal.get("parent_view"),
        child_view=goal.get("child_view"),
        worker_view=goal.get("worker_view"),
        achieved=goal.get("achieved"),
        chart=chart,
        rated_by=", ".join(_(RATERS[s.rater]) for s in chart.series) if chart else "",
    )


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _earliest(docs: list[dict], key: str) -> date | None:
    days = [d for d in (_day(doc.get(key)) for doc in docs) if d]
    return min(days) if days else None
