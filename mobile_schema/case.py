"""Case (asiakkuus): one open matter of social guidance for a family.

The case is the unit of access, sync and encryption: each case has its own database
and its own data key. Its status moves pending → assessment → active → closed, and
each status names the date it began.
"""

from . import fields as f
from .base import (
    IMMUTABLE,
    ITEMS,
    OBJECT,
    PROGRESS,
    SCALAR,
    TEXT,
    DocumentSchema,
    RequiredWhen,
    StrictSchema,
)

SERVICE_TASKS = ("family_social_guidance", "family_guidance", "early_support_family_work")
STATUSES = ("pending", "assessment", "active", "closed")
REFERRAL_SOURCES = (
    "parent_self",
    "child_health_clinic",
    "daycare",
    "school",
    "family_counselling",
    "specialist_care",
    "social_worker",
    "other",
)
ASSIGNMENT_ROLES = ("own_worker", "pair_worker", "substitute")
CLOSURE_REASONS = ("goals_met", "client_declined", "moved", "transferred", "other")


class ReferralSchema(StrictSchema):
    """Yhteydenotto: how the matter became pending (vireilletulo)."""

    required_when = (RequiredWhen("source", "other", ("source_detail",)),)
    merge_rules = {
        "source": SCALAR,
        "received_on": SCALAR,
        "source_detail": SCALAR,
        "description": TEXT,
    }

    source = f.choice(REFERRAL_SOURCES)
    received_on = f.date(required=True)
    source_detail = f.text(f.SHORT_TEXT)
    description = f.text(f.MEDIUM_TEXT)


class AssignmentSchema(StrictSchema):
    """Own worker, pair worker, or a substitute whose access ends on `end_date`."""

    required_when = (RequiredWhen("role", "substitute", ("end_date",)),)
    merge_rules = {
        "id": IMMUTABLE,
        "worker_id": IMMUTABLE,  # another worker is another assignment
        "role": SCALAR,
        "start_date": SCALAR,
        "end_date": SCALAR,
    }

    id = f.doc_id()
    worker_id = f.doc_id()
    role = f.choice(ASSIGNMENT_ROLES)
    start_date = f.date(required=True)
    end_date = f.date()


class CaseSchema(DocumentSchema):
    doc_type = "case"
    required_when = (
        RequiredWhen("status", "assessment", ("assessment_started_on",)),
        RequiredWhen("status", "active", ("active_since",)),
        RequiredWhen("status", "closed", ("closed_on", "closure_reason")),
    )
    merge_rules = {
        "family_id": IMMUTABLE,
        "service_task": SCALAR,
        "status": PROGRESS,  # pending → assessment → active → closed, never back
        "pending_since": SCALAR,
        "special_support_need": SCALAR,
        "assessment_started_on": SCALAR,
        "active_since": SCALAR,
        "closed_on": SCALAR,
        "closure_reason": SCALAR,
        "referral": OBJECT,
        "assignments": ITEMS,
    }

    family_id = f.doc_id()
    service_task = f.choice(SERVICE_TASKS)
    status = f.choice(STATUSES)
    pending_since = f.date(required=True)
    special_support_need = f.flag()
    assessment_started_on = f.date()
    active_since = f.date()
    closed_on = f.date()
    closure_reason = f.choice(CLOSURE_REASONS, required=False)
    referral = f.Nested(ReferralSchema, required=True)
    assignments = f.items(AssignmentSchema, limit=20)
