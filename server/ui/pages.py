"""What every page of the supervisor web does: who is looking, in which language, and
the access log entry for each piece of client data it shows."""

from __future__ import annotations

from collections.abc import Iterable

from flask import render_template

from ..errors import Unauthenticated
from ..web.context import person, site
from . import i18n

SUPERVISORS = ("supervisor", "admin")


def viewer() -> dict:
    """The logged-in person (Unauthenticated sends the browser to /login)."""
    account = person()
    i18n.choose(account)
    return account


def render(template: str, status: int = 200, **context):
    """A page, with the person and the navigation every page shows."""
    return render_template(template, me=_me(), **context), status


def _me() -> dict | None:
    try:
        return person()
    except Unauthenticated:  # a page without a logged-in person (login, errors)
        return None


def logged_read(case_id: str, doc_ids: Iterable[str], purpose: str) -> None:
    """Client data shown on a page: one access log entry (who, case, documents, why)."""
    ids = sorted(set(doc_ids))
    if ids:
        site().access_log.record(viewer()["id"], case_id, ids, "read", purpose=purpose)
