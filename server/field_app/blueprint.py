"""The field app's routes: the shell, its static files, the service worker and the
web app manifest, all under `/app/`.

Every answer here carries the app's own Content-Security-Policy (the global one of
`server.web.hygiene` is `default-src 'none'`, which would stop the app): scripts,
styles, workers and connections from this origin only, no inline code at all. The
shell and the modules are answered `Cache-Control: no-cache` (revalidated every time,
with an ETag): it is the service worker that keeps them for offline use, never the
browser's HTTP cache.

The service worker's precache list and cache version are written into `sw.js` when it
is served: the version is a hash of every file it precaches, so any change to the app
makes the browser install a new worker, which fetches the new files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory
from werkzeug.exceptions import NotFound

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor" / "vendor.js"
HDS_URLS = ("/assets/hds/base.min.css", "/assets/hds/components/all.min.css")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; worker-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Only what the browser runs: the bundle's entry (vendor-entry.mjs) is esbuild's input.
NOT_SERVED = {"js/vendor-entry.mjs"}
MISSING_BUNDLE = (
    "The field app's vendor bundle (static/vendor/vendor.js) is missing: "
    "run scripts/build_app.sh (after npm ci).\n"
)

bp = Blueprint("field_app", __name__, url_prefix="/app")


@bp.after_request
def _protect(response: Response) -> Response:
    """The app's policy, set before the global hygiene's `setdefault` sees it."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


@bp.get("/")
def shell():
    return _send("index.html")


@bp.get("/static/<path:name>")
def static_file(name: str):
    if name == "vendor/vendor.js" and not VENDOR.exists():
        return Response(MISSING_BUNDLE, 404, mimetype="text/plain")
    if name in NOT_SERVED or name == "sw.js":
        raise NotFound()
    return _send(name)


@bp.get("/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", "application/manifest+json")


@bp.get("/sw.js")
def service_worker():
    """The worker, at `/app/` so its scope is the whole app, with its asset list."""
    assets, version = precache()
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    source = source.replace('"__SOPU_VERSION__"', json.dumps(version))
    source = source.replace('["__SOPU_ASSETS__"]', json.dumps(assets))
    return Response(source, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


def precache() -> tuple[list[str], str]:
    """Every URL the app needs offline, and a version naming their contents."""
    files = _app_files()
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(path.read_bytes())
    for name in ("base.min.css", "components/all.min.css"):
        hds = Path(current_app.extensions["sopu.config"].ui_assets) / name
        digest.update(hds.read_bytes() if hds.exists() else b"")
    urls = ["/app/", "/app/manifest.webmanifest", *HDS_URLS]
    urls += [f"/app/static/{p.relative_to(STATIC).as_posix()}" for p in files if p.name not in _TOP]
    return urls, digest.hexdigest()[:16]


_TOP = {"index.html", "manifest.webmanifest", "sw.js"}


def _app_files() -> list[Path]:
    """Read at every request of sw.js (a few dozen files): never stale after an edit."""
    return sorted(
        path
        for path in STATIC.rglob("*")
        if path.is_file()
        and path.relative_to(STATIC).as_posix() not in NOT_SERVED
        and not path.name.startswith(".")
    )


def _send(name: str, mimetype: str | None = None):
    response = send_from_directory(STATIC, name, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
