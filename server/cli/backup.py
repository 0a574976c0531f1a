"""`sopu backup DIR` and `sopu restore DIR` (see `server.backup`)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import backup as backups
from ..gateway import repair
from .common import config_of, open_site


@click.command("backup")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def backup_command(ctx: click.Context, target: Path) -> None:
    """Copy the directory and the embedded store into TARGET (a new directory) while
    the server runs. The KEK is never copied: keep it apart from the backups."""
    try:
        backups.backup(config_of(ctx), target, click.echo)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup complete: {target}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--replace", is_flag=True,
    help="Move the current directory and store aside (*.before-restore-<time>) first.",
)  # fmt: skip
@click.pass_context
def restore_command(ctx: click.Context, source: Path, replace: bool) -> None:
    """Restore the backup in SOURCE to the configured data directory. Stop the server
    first; start it again afterwards. Devices carry on and push what they wrote since."""
    config = config_of(ctx)
    try:
        restored = backups.restore(config, source, replace)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for path in restored.moved_aside:
        click.echo(f"moved aside: {path}")
    click.echo(f"restored the backup taken at {restored.manifest['taken_at']}")
    site = open_site(ctx)  # migrates a backup from an older version; needs the KEK
    try:
        indexed = repair.everything(site).documents
        missing = sorted(set(restored.manifest["kek_ids"]) - set(site.keys.keks.keks))
    finally:
        site.close()
    click.echo(f"indexed {indexed} documents the directory copy did not know yet")
    if missing:
        raise click.ClickException(
            "the key file lacks KEK(s) " + ", ".join(missing) + " that wrap case keys of"
            " this backup: add the old key line(s) to kek_file before starting the server"
        )
    click.echo("start the server; devices resume from their checkpoints")
