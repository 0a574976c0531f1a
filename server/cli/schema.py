"""`sopu schema`: the wire contract for app developers and for checking files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mobile_schema import problems_of
from mobile_schema.examples import all_examples
from mobile_schema.json_schema import export_all


@click.group()
def schema() -> None:
    """Export and check the wire contract (mobile_schema)."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path) -> None:
    """Write one JSON Schema per document type, plus the envelope, into DIRECTORY.

    A valid example of each type goes into DIRECTORY/examples/ beside them.
    """
    files = export_all()
    files.update({f"examples/{t}.json": doc for t, doc in all_examples().items()})
    for filename, body in files.items():
        target = directory / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
    click.echo(f"wrote {len(files)} files to {directory}")


@schema.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--envelope", is_flag=True, help="Check the files as encrypted envelopes.")
def validate(files: tuple[str, ...], envelope: bool) -> None:
    """Validate JSON documents (one object or an array of them per FILE).

    Prints one line per problem (document id, field path, code, message) and exits
    with status 1 if any document is invalid.
    """
    total = bad = 0
    for name in files:
        for index, doc in enumerate(_documents(name)):
            problems = problems_of(doc, envelope=envelope)
            total += 1
            bad += bool(problems)
            for problem in problems:
                click.echo(f"{name}[{index}] {problem}")
    click.echo(f"{total - bad} valid, {bad} invalid", err=True)
    if bad:
        raise SystemExit(1)


def _documents(name: str) -> list:
    try:
        data = json.loads(Path(name).read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{name}: not valid JSON: {exc}") from None
    return data if isinstance(data, list) else [data]
