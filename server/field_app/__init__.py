"""The reference field client: an offline-first web app for instructors, served at
`/app/` (docs/field-app.md). It is static files only — the shell, its ES modules, the
vendor bundle (scripts/build_app.sh), a service worker — and speaks to the server with
nothing but the wire protocol of docs/PROTOCOL.md (`/api/login`, `/api/devices`,
`/sync/<worker>`), so it is also the proof that the document is enough.

`blueprint.bp` serves it with its own Content-Security-Policy.
"""

from __future__ import annotations

from .blueprint import bp

__all__ = ["bp"]
