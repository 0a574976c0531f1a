"""`sopu simulate`: field days of pair work on a throwaway server, then the verdict.

The report answers one question with numbers: after offline pair work, random sync
orders and cut-off pushes, is every edit still there (in the merged document, its
reconciliation items or an amendment), and does every device hold the same thing as
the server? With --json the last line of output is one JSON object, for CI.
"""

from __future__ import annotations

import json

import click

from ..tools.simulate import Report, simulate


@click.command("simulate")
@click.option(
    "--workers",
    type=click.IntRange(2, 200),
    default=4,
    show_default=True,
    help="Instructors, paired two by two; each gets one or two devices.",
)
@click.option(
    "--families",
    type=click.IntRange(1, 1000),
    default=6,
    show_default=True,
    help="Families, each with one case worked by a pair.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 60),
    default=2,
    show_default=True,
    help="Working days: morning, midday and evening syncs, pair work offline between.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same story.")
@click.option("--json", "as_json", is_flag=True, help="End with one line of JSON (the report).")
def simulate_command(workers: int, families: int, days: int, seed: int, as_json: bool) -> None:
    """Simulate field days: instructors in pairs edit the same notes offline on Python
    devices against a server on 127.0.0.1 (temporary, embedded store), then check that
    no edit was lost and every replica converged. Exit status 1 if not."""
    report = simulate(workers, families, days, seed, lambda line: click.echo(line, err=True))
    _print(report)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    if report.edits_present != report.edits_made or not report.replicas_identical:
        raise SystemExit(1)


def _print(report: Report) -> None:
    share = report.edits_present / report.edits_made if report.edits_made else 1.0
    click.echo(f"edits made:              {report.edits_made}")
    click.echo(f"edits present:           {report.edits_present} ({share:.1%})")
    click.echo(
        f"edits superseded:        {report.edits_superseded} "
        "(removed later by someone who had seen them: not counted above)"
    )
    click.echo(f"deletions kept back:     {report.deletions_kept} (an edit met them: an item)")
    click.echo(
        f"conflicts:               {report.conflicts} ({report.unresolved_conflicts} left unmerged)"
    )
    click.echo(
        f"auto-merged:             {report.auto_merged_conflicts} of {report.conflicts} "
        f"({report.auto_merged:.1%}): no reconciliation item needed"
    )
    click.echo(
        f"kept as amendments:      {report.amended_conflicts} (edits that met a finalisation)"
    )
    click.echo(f"reconciliation items:    {report.reconciliation_items}")
    click.echo(f"amendment notes:         {report.amendments}")
    click.echo(f"pushes cut off, retried: {report.interruptions}")
    click.echo(f"pushes refused:          {report.refused}")
    click.echo(f"replicas identical:      {'yes' if report.replicas_identical else 'no'}")
    click.echo(f"quiescent at the end:    {'yes' if report.quiescent else 'no'}")
    click.echo(f"time:                    {report.seconds} s")
    for line in report.missing[:10]:
        click.echo(f"  missing: {line}")
    for line in report.mismatches[:10]:
        click.echo(f"  differs from the server: {line}")
