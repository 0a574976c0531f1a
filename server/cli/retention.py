"""`sopu retention due` and `sopu retention shred --due`: destroying what the law says
must no longer be kept (crypto-shredding, `server.casework.retention`)."""

from __future__ import annotations

import getpass
from datetime import date

import click

from ..casework.retention import DueCase
from ..site import Site
from .common import open_site

TODAY = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to count to (default: today).",
)


@click.group()
def retention() -> None:
    """Retention of closed cases, counted from their closure, per service task."""


@retention.command("due")
@TODAY
@click.pass_context
def due_command(ctx: click.Context, today) -> None:
    """List the cases whose retention has ended: they must be destroyed."""
    day = today.date() if today else date.today()
    site = open_site(ctx)
    try:
        due = site.retention.due(day)
        _table(site, due)
    finally:
        site.close()
    its = "its" if len(due) == 1 else "their"
    click.echo(f"{cases(len(due))} past {its} retention (as of {day})")


@retention.command("shred")
@click.option("--due", "due_flag", is_flag=True, help="Every case whose retention has ended.")
@click.option("--yes", is_flag=True, help="Destroy without asking (cron).")
@TODAY
@click.option("--actor", default=lambda: getpass.getuser(), show_default="current user")
@click.pass_context
def shred_command(ctx: click.Context, due_flag: bool, yes: bool, today, actor: str) -> None:
    """Crypto-shred the cases whose retention has ended, keeping the statutory record.

    A dry run unless confirmed (type the number of cases) or given --yes. Every copy of
    a destroyed case — store, backups, devices — becomes unreadable, forever.
    """
    if not due_flag:
        raise click.UsageError("say which cases: --due (every case whose retention has ended)")
    day = today.date() if today else date.today()
    if day > date.today():  # destroying is forever: never count to a day not yet come
        raise click.BadParameter(
            f"{day} is in the future; shred counts to today at the latest "
            "(see what will be due with `sopu retention due --today`)",
            param_hint="--today",
        )
    site = open_site(ctx)
    try:
        due = site.retention.due(day)
        _table(site, due)
        if not due:
            click.echo(f"no case is past its retention (as of {day}); nothing to destroy")
            return
        if not yes and not _confirmed(len(due)):
            click.echo(f"dry run: {cases(len(due))} would be destroyed; nothing was destroyed")
            return
        with click.progressbar(length=len(due), label="destroying cases", file=None) as bar:
            done = site.retention.shred_due(actor, day, lambda n, _t: bar.update(1))
    finally:
        site.close()
    click.echo(
        f"destroyed {cases(len(done))}; each is recorded in case_destructions and the audit log"
    )


def _confirmed(count: int) -> bool:
    which = "this case" if count == 1 else f"these {count} cases"
    click.echo(
        f"This makes every copy of {which} unreadable, forever (store, backups, devices).",
        err=True,
    )
    try:
        typed = click.prompt(
            f"Type {count} to destroy them (anything else: dry run)",
            err=True,
            default="",
            show_default=False,
        )
    except click.Abort:  # no answer (end of input): a dry run
        return False
    return typed.strip() == str(count)


def _table(site: Site, due: list[DueCase]) -> None:
    if not due:
        return
    teams = {row["id"]: row["name"] for row in site.directory.query("SELECT id, name FROM teams")}
    rows = [
        (c.case_id, teams.get(c.team_id, c.team_id or "—"), c.closed_on.isoformat(),
         c.rule.label, c.due_since.isoformat())
        for c in due
    ]  # fmt: skip
    header = ("case", "team", "closed on", "rule", "due since")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cases(count: int) -> str:
    """`count` cases, in words ("1 case", "2 cases")."""
    return f"{count} case" if count == 1 else f"{count} cases"
