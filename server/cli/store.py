"""`sopu store follow`: make writes that reached the store without Sopu visible to the
devices' feeds (server/gateway/store_follower.py)."""

from __future__ import annotations

import time

import click

from ..gateway.store_follower import follow_once
from .common import open_site


@click.group()
def store() -> None:
    """The case store as seen from outside Sopu."""


@store.command("follow")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron or a timer).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=10.0,
    show_default=True,
    help="Seconds between passes.",
)
@click.pass_context
def follow_command(ctx: click.Context, once: bool, interval: float) -> None:
    """Read each case database's own changes and move the heads of the cases that
    changed outside Sopu, so every node's feed delivers those writes."""
    site = open_site(ctx)
    try:
        while True:
            followed = follow_once(site)
            click.echo(
                f"checked {followed.cases} case databases; {followed.changed} changed since"
                f" the last pass; {followed.documents} documents newly indexed"
            )
            if once:
                return
            time.sleep(interval)
    finally:
        site.close()
