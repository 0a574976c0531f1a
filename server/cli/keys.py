"""`sopu keys`: key-encryption keys, their rotation, and crypto-shredding of a case."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from ..keys.kek import KekError, prepend_kek, write_new_key_file
from .common import config_of, open_site


@click.group()
def keys() -> None:
    """Manage the key-encryption key (KEK) and case keys."""


def _kek_path(ctx: click.Context, file: Path | None) -> Path:
    path = file or config_of(ctx).kek_file
    if path is None:
        raise click.ClickException("no KEK file configured: give --file or set SOPU_KEK_FILE")
    return Path(path)


@keys.command("new-kek")
@click.option("--file", type=click.Path(dir_okay=False, path_type=Path), help="Key file.")
@click.pass_context
def new_kek(ctx: click.Context, file: Path | None) -> None:
    """Create a key file holding one fresh KEK (mode 0600). Keep it off the data disk."""
    path = _kek_path(ctx, file)
    try:
        write_new_key_file(path)
    except KekError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {path}")


@keys.command("add-kek")
@click.option("--file", type=click.Path(dir_okay=False, path_type=Path), help="Key file.")
@click.pass_context
def add_kek(ctx: click.Context, file: Path | None) -> None:
    """Put a fresh KEK first in the key file; then run `sopu keys rotate-kek`."""
    kid = prepend_kek(_kek_path(ctx, file))
    click.echo(f"new current KEK {kid}; now run: sopu keys rotate-kek")


@keys.command("rotate-kek")
@click.option("--actor", default=lambda: getpass.getuser(), show_default="current user")
@click.pass_context
def rotate_kek(ctx: click.Context, actor: str) -> None:
    """Rewrap every case key under the current (first) KEK. Safe to interrupt and rerun."""
    site = open_site(ctx)
    try:
        total = len(
            site.directory.query(
                "SELECT 1 FROM case_keys WHERE kek_id != ?", (site.keys.keks.current_id,)
            )
        )
        with click.progressbar(length=total, label="rewrapping case keys", file=None) as bar:
            done = site.keys.rotate_kek(actor, lambda n, _t: bar.update(1))
        in_use = site.keys.keks_in_use()
    finally:
        site.close()
    click.echo(f"rewrapped {done} case keys; KEKs in use: {_in_use(in_use)}")
    if len(in_use) <= 1:
        click.echo("older KEKs can now be removed from the key file")


@keys.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Which KEKs wrap how many case keys."""
    site = open_site(ctx)
    try:
        click.echo(f"current KEK: {site.keys.keks.current_id}")
        click.echo(f"case keys by KEK: {_in_use(site.keys.keks_in_use())}")
    finally:
        site.close()


@keys.command("shred")
@click.argument("case_id")
@click.option("--actor", default=lambda: getpass.getuser(), show_default="current user")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def shred(ctx: click.Context, case_id: str, actor: str, yes: bool) -> None:
    """Destroy every key of CASE_ID: all copies of the case become unreadable, forever."""
    site = open_site(ctx)
    try:
        site.cases.get(case_id)
        if not yes:
            click.echo(
                f"This makes every copy of case {case_id} unreadable, forever "
                "(store, backups, devices).",
                err=True,
            )
            typed = click.prompt(
                "Type the case id to confirm", err=True, default="", show_default=False
            )
            if typed.strip() != case_id:
                raise click.ClickException("not confirmed; nothing was destroyed")
        destroyed = site.keys.shred(case_id, actor)
        site.retention.forget_shredded(case_id)  # its index rows, quarantine, keyrings
    except Exception as exc:
        if isinstance(exc, click.ClickException):
            raise
        raise click.ClickException(str(exc)) from None
    finally:
        site.close()
    click.echo(f"case {case_id}: {destroyed} key versions destroyed; recorded in the audit log")


def _in_use(in_use: dict[str, int]) -> str:
    return ", ".join(f"{kid} ({n})" for kid, n in sorted(in_use.items())) or "none"
