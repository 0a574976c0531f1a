"""Family (perhe): a household whose members are children and guardians."""

from . import fields as f
from .base import IMMUTABLE, ITEMS, SCALAR, SET, DocumentSchema, RequiredWhen, StrictSchema

MEMBER_ROLES = ("child", "guardian", "other_adult")


class MemberSchema(StrictSchema):
    required_when = (RequiredWhen("interpreter_needed", True, ("interpreter_language",)),)
    merge_rules = {
        "id": IMMUTABLE,
        "role": SCALAR,
        "given_names": SCALAR,
        "family_name": SCALAR,
        "birth_date": SCALAR,
        "languages": SET,
        "interpreter_needed": SCALAR,
        "interpreter_language": SCALAR,
    }

    id = f.doc_id()
    role = f.choice(MEMBER_ROLES)
    given_names = f.name()
    family_name = f.name()
    birth_date = f.date()
    languages = f.strings(f.language(required=True), limit=10)
    interpreter_needed = f.flag()
    interpreter_language = f.language()


class FamilySchema(DocumentSchema):
    doc_type = "family"
    merge_rules = {"display_name": SCALAR, "members": ITEMS, "address": SCALAR}

    display_name = f.name(required=False)
    members = f.items(MemberSchema, required=True, limit=30)
    address = f.text(f.MEDIUM_TEXT)
