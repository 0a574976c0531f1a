"""Shared CLI plumbing: the configuration and the Site for commands that need them."""

from __future__ import annotations

import click

from ..config import Config, ConfigError, load_config
from ..keys.kek import KekError, load_keks
from ..site import Site


def config_of(ctx: click.Context) -> Config:
    try:
        return load_config(ctx.find_root().params.get("config"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def open_site(ctx: click.Context) -> Site:
    config = config_of(ctx)
    try:
        keks = load_keks(config.kek_file)
    except KekError as exc:
        raise click.ClickException(str(exc)) from None
    return Site.for_config(config, keks)
