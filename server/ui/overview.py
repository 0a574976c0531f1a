"""The front page: for a supervisor the team overview, for an instructor their own
caseload and today's visits, for an administrator the way to the administration."""

from __future__ import annotations

from flask import redirect

from .blueprint import bp
from .pages import render, viewer


@bp.get("/")
def overview():
    me = viewer()
    if me["role"] == "admin":
        return redirect("/admin", 303)
    return render("overview.html")
