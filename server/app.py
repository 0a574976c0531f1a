"""The Flask application factory.

    create_app()                     # configuration from SOPU_* / --config
    create_app(config)               # a Config
    create_app(site=site)            # an already open Site (tests)

`gunicorn 'server.app:create_app()'` is the production entry point.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from sync.private_files import ExposedFile, check_private, private_dir, write_private

from . import field_app, http_errors, ui
from .casework.daily import OncePerDay
from .casework.expiry import DailyExpiry
from .casework.retention import DailyRetention
from .config import Config, load_config
from .gateway import repair
from .gateway.gateway import Gateway
from .gateway.live_feeds import FeedWatcher, LiveFeeds
from .keys.kek import KekError, load_keks, write_new_key_file
from .people.sessions import Sessions
from .people.tokens import DeviceTokens
from .site import Site
from .web import (
    api_access_report,
    api_admin,
    api_consents,
    api_devices,
    api_directory,
    api_documents,
    api_reconciliation,
    api_reports,
    api_session,
    hygiene,
    observability,
    sync,
)
from .web.context import today
from .web.json_body import StrictJSONProvider
from .web.no_flask_session import NoFlaskSession
from .web.openapi import build_spec

BLUEPRINTS = [
    api_session.bp,
    api_admin.bp,
    api_devices.bp,
    api_directory.bp,
    api_documents.bp,
    api_consents.bp,
    api_access_report.bp,
    api_reconciliation.bp,
    api_reports.bp,
    sync.bp,
    field_app.bp,  # the reference field client at /app/ (docs/field-app.md)
]


def create_app(config: Config | None = None, site: Site | None = None) -> Flask:
    config = config or load_config()
    site = site or open_site(config)
    repair.at_start_up(site)  # writes a killed process left in flight (ADR 012)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key or _secret_key(config.data_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.behind_tls,  # TLS in front: the cookie never goes out plain
        MAX_CONTENT_LENGTH=config.max_request_size + 1,  # see hygiene.read_body
        JSON_SORT_KEYS=False,
    )
    app.json = StrictJSONProvider(app)  # no NaN or Infinity in any answer either
    app.json.sort_keys = False
    app.session_interface = NoFlaskSession()  # sessions live in the directory
    hygiene.install(app, config.max_request_size, config.behind_tls)
    observability.install(app, config.metrics_token)  # JSON request log, /metrics, probes
    app.extensions["sopu.site"] = site
    app.extensions["sopu.config"] = config
    app.extensions["sopu.tokens"] = DeviceTokens(
        site.directory, site.devices, config.device_token_ttl
    )
    app.extensions["sopu.sessions"] = Sessions(
        site.directory, config.session_lifetime, config.session_idle_timeout
    )
    app.extensions["sopu.gateway"] = Gateway(site)
    feeds = LiveFeeds(config.live_feeds_per_worker)
    app.extensions["sopu.live_feeds"] = feeds
    app.extensions["sopu.feed_watcher"] = FeedWatcher(site.directory, feeds)
    if config.trusted_proxies:  # the client address logins are throttled by; https or not
        hops = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    _expire_assignments_daily(app, site)
    _retention_daily(app, site, config)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    ui.register(app)
    http_errors.register(app)
    app.add_url_rule("/api/openapi.json", "openapi", lambda: jsonify(build_spec(app)))
    app.add_url_rule("/health", "health", lambda: jsonify({"ok": True}))
    return app


def _expire_assignments_daily(app: Flask, site: Site) -> None:
    """Before the first request of each day, end the assignments past their end date
    (`server.casework.expiry`). Tests move the day with the `SOPU_TODAY` callable."""
    _before_first_request_of_the_day(app, "sopu.expiry", DailyExpiry(site.cases, today))


def _retention_daily(app: Flask, site: Site, config: Config) -> None:
    """Before the first request of each day, destroy the cases whose retention ended
    (or only log them: `retention_daily = "report"`; `server.casework.retention`)."""
    check = DailyRetention(site.retention, today, config.retention_daily)
    _before_first_request_of_the_day(app, "sopu.retention", check)


def _before_first_request_of_the_day(app: Flask, name: str, job: OncePerDay) -> None:
    """Call `job` before every request but the probes (it works once a day)."""
    app.extensions[name] = job

    @app.before_request
    def daily_job() -> None:
        if request.endpoint not in observability.PROBES:  # probes touch no data
            job()


def open_site(config: Config) -> Site:
    """The Site of a configuration; a development KEK file is created if none exists."""
    if config.kek_file is not None and not Path(config.kek_file).exists():
        write_new_key_file(Path(config.kek_file))
    try:
        keks = load_keks(config.kek_file)
    except KekError as exc:
        raise SystemExit(str(exc)) from None
    return Site.for_config(config, keks)


def _secret_key(data_dir: Path) -> str:
    """A secret shared by all worker processes, created once, the owner's only.

    Sessions live in the directory, so it signs no session; it is still refused when
    others can read it, as the KEK is (`sync.private_files`)."""
    path = Path(data_dir) / "session.key"
    if not path.exists():
        private_dir(path.parent)
        with contextlib.suppress(FileExistsError):  # another worker process was first
            write_private(path, secrets.token_urlsafe(48), exclusive=True)
    try:
        check_private(path, "the session secret")
    except ExposedFile as exc:
        raise SystemExit(str(exc)) from None
    return path.read_text().strip()
