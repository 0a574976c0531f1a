"""`/password`: anyone logged in changes their own password.

The same rule as `POST /api/me/password` (`Accounts.change_own_password`): the current
password first, throttled like a login, then every session of the person ends and this
browser gets a new one, so a session someone else holds (a forgotten laptop) is out
while the person carries on here.
"""

from __future__ import annotations

from flask import redirect, request

from ..errors import Forbidden, InvalidInput, LoginThrottled
from ..web.api_session import with_new_session
from ..web.context import client_address, site
from .blueprint import bp
from .i18n import _
from .pages import render, viewer


@bp.get("/password")
def own_password_form():
    viewer()
    notice = _("Your password was changed.") if request.args.get("done") else None
    return render("password.html", notice=notice)


@bp.post("/password")
def change_own_password():
    me = viewer()
    try:
        site().accounts.change_own_password(
            me["id"],
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            client_address(),
        )
    except Forbidden:
        return render("password.html", 403, error=_("The current password is wrong."))
    except InvalidInput:
        return render("password.html", 400, error=_("A password is 12 to 1000 characters."))
    except LoginThrottled as exc:
        wait = exc.details.get("retry_after", 60)
        error = _("Too many failed logins. Try again in %(seconds)s seconds.", seconds=wait)
        return render("password.html", 429, error=error)
    return with_new_session(redirect("/password?done=1", 303), me["id"])
