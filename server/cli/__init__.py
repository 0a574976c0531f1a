"""The `sopu` command line: one group, one module per area of work."""

from __future__ import annotations

import click

from .assignments import assignments
from .audit import audit
from .backup import backup_command, restore_command
from .demo import demo_command
from .device import device_group
from .keys import keys
from .live import live_feeds_command
from .merge import merge
from .replicate import replicate_command
from .retention import retention
from .schema import schema
from .serve import seed_demo_command, serve_command
from .simulate import simulate_command
from .store import store


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sopu", prog_name="sopu")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="SOPU_CONFIG",
    help="TOML configuration file (default: SOPU_* environment variables and ./var).",
)
def cli(config: str | None) -> None:
    """Sopu: sync backend for offline field work in family social guidance."""


cli.add_command(schema)
cli.add_command(keys)
cli.add_command(assignments)
cli.add_command(retention)
cli.add_command(audit)
cli.add_command(merge)
cli.add_command(serve_command)
cli.add_command(seed_demo_command)
cli.add_command(replicate_command)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(device_group)
cli.add_command(simulate_command)
cli.add_command(demo_command)
cli.add_command(store)
cli.add_command(live_feeds_command)


def main() -> None:
    cli(prog_name="sopu")
