"""Client plan (asiakassuunnitelma, SHL 39 §): goals with everyone's view and ratings."""

from . import fields as f
from .base import IMMUTABLE, ITEMS, SCALAR, TEXT, CaseDocumentSchema, StrictSchema

RATERS = ("parent", "child", "worker")


class RatingSchema(StrictSchema):
    """A dated 0–10 rating of progress towards one goal, and whose rating it is."""

    merge_rules = {"id": IMMUTABLE, "rated_on": SCALAR, "value": SCALAR, "rated_by": SCALAR}

    id = f.doc_id()
    rated_on = f.date(required=True)
    value = f.integer(0, 10)
    rated_by = f.choice(RATERS)


class GoalSchema(StrictSchema):
    merge_rules = {
        "id": IMMUTABLE,
        "title": SCALAR,
        "parent_view": TEXT,
        "child_view": TEXT,
        "worker_view": TEXT,
        "ratings": ITEMS,
        "achieved": SCALAR,
    }

    id = f.doc_id()
    title = f.name()
    parent_view = f.text()
    child_view = f.text()
    worker_view = f.text()
    ratings = f.items(RatingSchema, limit=100)
    achieved = f.flag()


class PlanSchema(CaseDocumentSchema):
    doc_type = "plan"
    merge_rules = {"drawn_up_on": SCALAR, "review_on": SCALAR, "goals": ITEMS}

    drawn_up_on = f.date(required=True)
    review_on = f.date(required=True)
    goals = f.items(GoalSchema, limit=30)
