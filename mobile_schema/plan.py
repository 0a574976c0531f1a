"""Client plan (asiakassuunnitelma, SHL 39 §): goals with everyone's view and ratings."""

from . import fields as f
from .base import CaseDocumentSchema, StrictSchema

RATERS = ("parent", "child", "worker")


class RatingSchema(StrictSchema):
    """A dated 0–10 rating of progress towards one goal, and whose rating it is."""

    id = f.doc_id()
    rated_on = f.date(required=True)
    value = f.integer(0, 10)
    rated_by = f.choice(RATERS)


class GoalSchema(StrictSchema):
    id = f.doc_id()
    title = f.name()
    parent_view = f.text()
    child_view = f.text()
    worker_view = f.text()
    ratings = f.items(RatingSchema, limit=100)
    achieved = f.flag()


class PlanSchema(CaseDocumentSchema):
    doc_type = "plan"

    drawn_up_on = f.date(required=True)
    review_on = f.date(required=True)
    goals = f.items(GoalSchema, limit=30)
