"""`sopu audit verify` and `sopu audit anchor`: proving the hash-chained logs intact."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from sync.private_files import write_private

from ..log_verification import AnchorInvalid, LogVerification
from .common import open_site


@click.group()
def audit() -> None:
    """The hash-chained logs (audit, access, disclosure): verify them, anchor them."""


@audit.command("verify")
@click.option(
    "--anchor",
    "anchor_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An anchor from `sopu audit anchor`: prove nothing up to it changed.",
)
@click.pass_context
def verify_command(ctx: click.Context, anchor_file: Path | None) -> None:
    """Walk every log's chain; report each one's first broken or missing link.

    Exit status 1 if any link is broken, or an anchored head no longer stands.
    """
    anchor = _read_anchor(anchor_file) if anchor_file else None
    site = open_site(ctx)
    try:
        logs = LogVerification(site.directory, site.audit)
        breaks, lengths = logs.verify(), logs.lengths()
        anchored = logs.check_anchor(anchor) if anchor is not None else []
        recorded = _recorded_breaks(logs, anchored)
    except AnchorInvalid as exc:
        raise click.ClickException(f"{anchor_file}: {exc}") from None
    finally:
        site.close()
    for table, found in breaks.items():
        if found is None:
            click.echo(f"{table}: intact ({lengths[table]} rows)")
        else:
            click.echo(f"{table}: BROKEN at seq {found.seq}: {found.problem} ({found.explanation})")
    for found in anchored:
        click.echo(
            f"{found.table}: ANCHOR at seq {found.seq}: {found.problem} ({found.explanation})"
        )
    for found in recorded:
        click.echo(
            f"{found.table}: RECORDED ANCHOR at seq {found.seq}: {found.problem}"
            f" ({found.explanation})"
        )
    if anchor is not None and not anchored:
        when = anchor.get("anchored_at") if isinstance(anchor, dict) else None
        click.echo(f"anchor {when}: every anchored head stands" if when else
                   "anchor: every anchored head stands")  # fmt: skip
    if anchored or recorded or any(breaks.values()):
        ctx.exit(1)


def _recorded_breaks(logs: LogVerification, already: list) -> list:
    """Heads of the anchors recorded in the directory that no longer stand (each once,
    and not again when the given anchor file found it)."""
    found = []
    for anchor in logs.recorded_anchors():
        for item in logs.check_anchor(anchor):
            if item not in found and item not in already:
                found.append(item)
    return found


def _read_anchor(path: Path) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path}: not an anchor file ({exc})") from None


@audit.command("anchor")
@click.option(
    "--file",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the anchor to this file (store it outside the site).",
)
@click.option("--actor", default=lambda: getpass.getuser(), show_default="current user")
@click.pass_context
def anchor_command(ctx: click.Context, out_file: Path | None, actor: str) -> None:
    """Print (as JSON) and record each log's head: seq and hash.

    Keep the output somewhere the site's administrators cannot change it; later,
    `sopu audit verify --anchor FILE` proves nothing up to these heads changed.
    """
    if out_file is not None and not out_file.parent.is_dir():  # before anything is recorded
        raise click.ClickException(f"{out_file}: no such directory {out_file.parent}")
    site = open_site(ctx)
    try:
        anchor = LogVerification(site.directory, site.audit).anchor(actor)
    finally:
        site.close()
    text = json.dumps(anchor, indent=2)
    click.echo(text)  # recorded now: print it whatever becomes of the file
    if out_file is not None:
        try:
            write_private(out_file, text + "\n")
        except OSError as exc:
            raise click.ClickException(
                f"{out_file}: not written ({exc.strerror}); the anchor printed above was"
                " recorded, keep that copy"
            ) from None
