"""`sopu live-feeds`: the live-feed server (server/live/app.py) beside the gateway."""

from __future__ import annotations

import click

from .common import config_of, open_site


@click.command("live-feeds")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option(
    "--max-feeds",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Live feeds this process holds at once; more are 503 too_many_live_feeds.",
)
@click.pass_context
def live_feeds_command(ctx: click.Context, host: str, port: int, max_feeds: int) -> None:
    """Serve `_changes?feed=longpoll|continuous|eventsource` on an event loop, so
    waiting devices hold no gunicorn thread; the reverse proxy sends those requests here
    (deploy/nginx-sopu.conf)."""
    from aiohttp import web

    from ..live.app import build_app

    site = open_site(ctx)
    try:
        app = build_app(config_of(ctx), site, max_feeds)
        click.echo(f"Sopu live feeds on http://{host}:{port}")
        # On stop, waiting feeds end within 5 s; their devices re-ask (retry: true).
        web.run_app(app, host=host, port=port, print=None, access_log=None, shutdown_timeout=5)
    finally:
        site.close()
