"""`sopu merge sweep`: resolve conflicts found in the stores."""

from __future__ import annotations

import click

from ..casework.merging import sweep
from ..gateway import repair
from .common import open_site


@click.group()
def merge() -> None:
    """Merge concurrent edits (the gateway does this on push; the sweeper catches the rest)."""


@merge.command("sweep")
@click.pass_context
def sweep_command(ctx: click.Context) -> None:
    """Find conflicting documents in every case database and merge them; first, index
    documents a crash left out of the gateway's bookkeeping (docs/adr/012); last,
    rebuild the note index of the team overview (`casework/note_states`)."""
    site = open_site(ctx)
    try:
        repaired = repair.everything(site)
        total = site.directory.one("SELECT COUNT(*) AS n FROM cases")["n"]
        with click.progressbar(length=total, label="sweeping cases") as bar:
            merged = sweep(site, lambda done, _total: bar.update(1))
        noted = site.notes.rebuild()  # the note index, from what the stores now hold
    finally:
        site.close()
    click.echo(
        f"indexed {repaired.documents} documents missing from the index; "
        f"settled {repaired.settled} interrupted writes"
    )
    click.echo(f"re-read the notes of {noted} cases for the note index")
    collisions = sum(r.collisions for r in merged)
    amendments = sum(len(r.amendments) for r in merged)
    click.echo(
        f"merged {len(merged)} documents; {collisions} items to reconcile; "
        f"{amendments} amendments written"
    )
