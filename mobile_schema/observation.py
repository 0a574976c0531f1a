"""Social-reporting observation (sosiaalinen raportointi, SHL 7 §).

Anonymised by construction: the schema has no field that could link it to a family or
a case, and unknown fields are rejected, so none can be smuggled in.
"""

from . import fields as f
from .base import IMMUTABLE, SCALAR, SET, TEXT, DocumentSchema

TAG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class ObservationSchema(DocumentSchema):
    doc_type = "observation"
    merge_rules = {
        "team_id": IMMUTABLE,
        "observed_in": SCALAR,
        "phenomenon_tags": SET,
        "text": TEXT,
    }

    team_id = f.doc_id()
    observed_in = f.String(
        required=True,
        validate=f.Pattern(r"^[0-9]{4}-[0-9]{2}$", "Expected a month as YYYY-MM."),
    )
    phenomenon_tags = f.strings(
        f.String(
            required=True,
            validate=[
                f.Pattern(TAG_PATTERN, "Expected a tag like housing-insecurity."),
                f.max_length(60),
            ],
        ),
        limit=20,
        required=True,
    )
    text = f.text(f.MEDIUM_TEXT, required=True)
