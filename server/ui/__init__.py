"""The supervisor web: server-rendered pages (Flask + Jinja) over the same Site and
authorization as the API, styled with the Helsinki Design System, in Finnish, Swedish
and English. Every page that shows client data writes the access log with its purpose
(`pages.logged_read`). No single-page framework and no inline script.

`register(app)` wires it into the app factory: the blueprint (`blueprint`), the pages
(one module per page), gettext for the templates (`i18n`), the Finnish date formats
(`formats`), CSRF and the Content-Security-Policy (`security`).
"""

from __future__ import annotations

from flask import Flask, request

from . import formats, i18n, security
from .blueprint import bp
from .i18n import N_

_WORK = [
    ("/", N_("Overview")),
    ("/queue", N_("Queue")),
    ("/reconciliation", N_("To reconcile")),
    ("/devices", N_("Devices")),
    ("/reports", N_("Reports")),
]
NAVIGATION = {
    "worker": _WORK,
    "supervisor": _WORK,
    "admin": [
        ("/admin", N_("Administration")),
        ("/devices", N_("Devices")),
        ("/reports", N_("Reports")),
    ],
}


def register(app: Flask) -> None:
    from . import (  # noqa: F401 - the pages register their routes on `bp`
        access_report,
        admin,
        auth,
        case,
        client_copy,
        devices,
        overview,
        password,
        queue,
        reconciliation,
        reports,
    )

    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    app.jinja_env.filters.update(
        date=formats.as_date, datetime=formats.as_datetime, time=formats.as_time
    )
    app.context_processor(_page_context)
    app.register_blueprint(bp)


def _page_context() -> dict:
    return {
        "lang": i18n.current(),
        "languages": [(code, i18n.NAMES[code]) for code in i18n.LANGUAGES],
        "csrf_token": security.csrf_token,
        "nav": _navigation,
        "_": i18n.gettext,
    }


class _Navigation:
    """The menu of the logged-in person's role, with the current page marked."""

    def __iter__(self):
        from .pages import _me

        me = _me()
        for href, label in NAVIGATION.get((me or {}).get("role"), []):
            current = request.path == href or (href != "/" and request.path.startswith(href))
            yield {"href": href, "label": i18n.gettext(label), "current": current}


_navigation = _Navigation()
