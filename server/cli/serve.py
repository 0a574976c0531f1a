"""`sopu serve` and `sopu seed-demo`: run the server, fill it with a demo organisation."""

from __future__ import annotations

import click

from ..app import create_app, open_site
from ..tools.demo import seed_demo
from .common import config_of


@click.command("seed-demo")
@click.option("--store", "store_url", help="Store URL (default: the configured one).")
@click.pass_context
def seed_demo_command(ctx: click.Context, store_url: str | None) -> None:
    """Create a demo organisation (team, supervisor, instructors, families) and print
    the logins. Safe to run again."""
    config = config_of(ctx)
    if store_url:
        config.store_url = store_url
    site = open_site(config)
    try:
        logins = seed_demo(site)
    finally:
        site.close()
    click.echo("Demo organisation ready. Logins (all fictional):")
    for login in logins:
        click.echo(
            f"  {login.role:<10} {login.username:<12} password: {login.password}"
            f"   ({login.display_name})"
        )


@click.command("serve")
@click.option("--store", "store_url", help="Store URL: sqlite:///DIR (default) or http(s)://…")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def serve_command(ctx: click.Context, store_url: str | None, host: str, port: int) -> None:
    """Run the server (development server; use gunicorn in production, see README)."""
    config = config_of(ctx)
    if store_url:
        config.store_url = store_url
    app = create_app(config)
    click.echo(
        f"Sopu on http://{host}:{port}  store: {config.store_url}  "
        f"(API description: /api/openapi.json)"
    )
    app.run(host=host, port=port, threaded=True)
