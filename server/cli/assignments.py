"""`sopu assignments expire`: end the assignments whose end date has passed."""

from __future__ import annotations

from datetime import date

import click

from ..casework.expiry import ACTOR
from .common import open_site


@click.group()
def assignments() -> None:
    """Assignments of workers to cases."""


@assignments.command("expire")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to expire for (default: today). Assignments ending before it end.",
)
@click.pass_context
def expire_command(ctx: click.Context, today) -> None:
    """End every assignment past its end date and rotate its case's key.

    The web app does this itself on the first request of each day; run this daily
    from cron (or a systemd timer) so it also happens on days nobody syncs.
    """
    day = today.date() if today else date.today()
    site = open_site(ctx)
    try:
        ended = site.cases.expire_due(ACTOR, day)
    finally:
        site.close()
    cases = len({a["case_id"] for a in ended})
    click.echo(f"ended {len(ended)} expired assignments in {cases} cases (as of {day})")
    for item in ended:
        click.echo(f"  {item['id']}  case {item['case_id']}  last day {item['end_date']}")
