"""`sopu replicate`: copy databases between stores, e.g. to move a site to CouchDB.

    sopu replicate sqlite:///var/sopu https://admin:secret@couch:6984 --all

Store URLs carry credentials, so every message goes through `_Redactor` first: the
password never reaches the terminal or a log. Document contents are never printed,
only ids, revisions and the store's error strings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import click

from sync.replicator import DEFAULT_BATCH_SIZE, ReplicationResult, public_url, replicate
from sync.store import SQLITE_PREFIX, NotFound, Store, StoreError, Unavailable, open_store
from sync.store.sqlite import FILENAME as SQLITE_FILE


@click.command("replicate")
@click.argument("source")
@click.argument("target")
@click.option("--db", "db_name", metavar="NAME", help="Replicate this database.")
@click.option("--all", "all_dbs", is_flag=True, help="Replicate every database of SOURCE.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Changes per batch.",
)
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Also copy every archived ancestor revision (the history of corrections).",
)
def replicate_command(
    source: str, target: str, db_name: str | None, all_dbs: bool, batch_size: int, history: bool
) -> None:
    """Replicate from SOURCE to TARGET (store URLs: sqlite:///DIR or http(s)://HOST:PORT).

    A missing target database is created. Conflicts, deletions and (unless
    --no-history) every archived revision travel. Safe to interrupt and rerun: it
    resumes from its last checkpoint. Exits with status 1 if any document was refused.
    """
    if (db_name is None) == (not all_dbs):
        raise click.UsageError("give exactly one of --db NAME or --all")
    redact = _Redactor(source, target)
    _source_exists(source, redact)
    with redact.errors(), _opened(source) as src:
        names = _source_names(src, db_name, redact)  # check the source before the target
        started = time.monotonic()
        with _opened(target) as tgt:
            results = {name: _one(src, tgt, name, batch_size, history, redact) for name in names}
    _summary(results, time.monotonic() - started)
    if any(result.errors for result in results.values()):
        raise SystemExit(1)


def _source_names(src: Store, db_name: str | None, redact: _Redactor) -> list[str]:
    """The databases to copy; system databases (`_users`, `_replicator`) never travel."""
    available = src.list_databases()
    if db_name is None:
        return [name for name in available if not name.startswith("_")]
    if db_name not in available:
        raise click.ClickException(
            f"source database {db_name!r} does not exist in {redact.url(src.url)}"
        )
    return [db_name]


def _one(
    src: Store, tgt: Store, name: str, batch_size: int, history: bool, redact: _Redactor
) -> ReplicationResult:
    source_db, target_db = src.database(name), tgt.ensure_database(name)
    with click.progressbar(length=1, label=name, file=sys.stderr, show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        result = replicate(
            source_db, target_db, batch_size=batch_size, history=history, progress=progress
        )
    click.echo(
        f"{name}: {result.docs_read} changes read, {result.docs_written} documents and "
        f"{result.revisions_copied} revisions written, {len(result.errors)} refused"
    )
    for error in result.errors:
        click.echo(
            f"  refused {name}/{error.id} {error.rev}: {error.error}: {redact.text(error.reason)}",
            err=True,
        )
    return result


def _summary(results: dict[str, ReplicationResult], seconds: float) -> None:
    refused = sum(len(r.errors) for r in results.values())
    click.echo(
        f"replicated {len(results)} database(s) in {seconds:.1f} s: "
        f"{sum(r.docs_read for r in results.values())} changes read, "
        f"{sum(r.docs_written for r in results.values())} documents and "
        f"{sum(r.revisions_copied for r in results.values())} revisions written, "
        f"{refused} refused"
    )


def _source_exists(url: str, redact: _Redactor) -> None:
    """An embedded source store that is not there is a typo, not an empty site: opening
    it would create it (and the copy would report success)."""
    if not url.startswith(SQLITE_PREFIX):
        return  # a server's store: opening it fails clearly if it is unreachable
    path = Path(url[len(SQLITE_PREFIX) :])
    if not (path / SQLITE_FILE).is_file():
        raise click.ClickException(
            f"source store {redact.url(url)} does not exist (no {SQLITE_FILE} in {path})"
        )


@contextmanager
def _opened(url: str) -> Iterator[Store]:
    try:
        store = open_store(url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


class _Redactor:
    """Removes the passwords of the given store URLs from anything about to be printed."""

    def __init__(self, *urls: str):
        secrets = {urlsplit(url).password for url in urls if "://" in url} - {None, ""}
        self.secrets = sorted(
            {variant for s in secrets for variant in (s, unquote(s), quote(s, safe=""))},
            key=len,
            reverse=True,
        )

    def text(self, message: str) -> str:
        for secret in self.secrets:
            message = message.replace(secret, "***")
        return message

    def url(self, url: str) -> str:
        return self.text(public_url(url))

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn store and network failures into one clean, password-free message."""
        try:
            yield
        except click.ClickException as exc:
            exc.message = self.text(exc.message)
            raise
        except NotFound as exc:
            raise click.ClickException(f"not found: {self.text(exc.reason)}") from None
        except Unavailable as exc:
            raise click.ClickException(f"cannot reach the store: {self.text(exc.reason)}") from None
        except StoreError as exc:
            raise click.ClickException(f"{exc.error}: {self.text(exc.reason)}") from None
        except OSError as exc:  # includes requests' ConnectionError
            raise click.ClickException(f"cannot reach the store: {self.text(str(exc))}") from None
