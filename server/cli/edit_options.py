"""Edits typed on the command line: `--set PATH=TEXT`, `--set-json PATH=JSON`,
`--add-json PATH=JSON`, `--unset PATH` and `--from-file FILE`, as `sopu device` reads them.

A field app edits any field of a document; so does `sopu device`, with the paths the
merge names fields by (`mobile_schema.paths`). One shell argument holds at most
128 KiB, less than a long note in Finnish, so any TEXT or JSON may be `@FILE` (that
file, UTF-8) or `@-` (standard input, once per command); a literal leading `@` is
written `@@`. A single line break ending such a text is dropped, as `$(cat FILE)`
would, because editors and `echo` add one the worker never wrote. Every mistake is
one line naming the option and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

STDIN = "-"
FROM_STDIN = "@-"


def edit_options(unset: bool = True):
    """The options of a command that writes fields (`unset` too, for an edit)."""
    options = [
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="PATH=TEXT",
            help="Set a text field, e.g. client_review/comment=... (TEXT may be @FILE or @-).",
        ),
        click.option(
            "--set-json",
            "set_json",
            multiple=True,
            metavar="PATH=JSON",
            help="Set any field to a JSON value, e.g. goals/<id>/ratings/<id>/value=7.",
        ),
        click.option(
            "--add-json",
            "add_json",
            multiple=True,
            metavar="PATH=JSON",
            help='Add an item to a list, e.g. agreed_actions=\'{"text": "..."}\' (id added).',
        ),
    ]
    if unset:
        options.append(
            click.option(
                "--unset",
                multiple=True,
                metavar="PATH",
                help="Remove a field or a list item, e.g. reconciliation/<item id>.",
            )
        )
    options.append(
        click.option(
            "--from-file",
            metavar="FILE",
            help="A JSON object of the document's fields (- for standard input).",
        )
    )

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


class Inputs:
    """Reads option values, files and standard input (which can be read only once)."""

    def __init__(self) -> None:
        self.stdin_used = False

    def edits(self, sets=(), set_json=(), add_json=(), unset=()) -> list[tuple]:
        """The edits, in this order: --set, --set-json, --add-json, --unset (so an object
        can be set and one of its fields dropped in one command)."""
        out: list[tuple] = [("set", *self.text_pair("--set", a)) for a in sets]
        out += [("set", *self.json_pair("--set-json", a)) for a in set_json]
        out += [("append", *self.json_pair("--add-json", a)) for a in add_json]
        out += [("remove", path, None) for path in unset]
        return out

    def text_pair(self, option: str, argument: str) -> tuple[str, str]:
        path, raw = _split(option, argument)
        text = self.content(option, path, raw)
        from_file = raw.startswith("@") and not raw.startswith("@@")
        return path, _without_final_newline(text) if from_file else text

    def json_pair(self, option: str, argument: str) -> tuple[str, object]:
        path, raw = _split(option, argument)
        return path, _parsed(f"{option} {path}", self.content(option, path, raw))

    def body(self, source: str) -> dict:
        """The JSON object in FILE (or standard input for `-`): a document's fields."""
        where = "standard input" if source == STDIN else source
        text = self._stdin("--from-file") if source == STDIN else _file("--from-file", source)
        body = _parsed(f"--from-file {where}", text)
        if not isinstance(body, dict):
            raise click.ClickException(
                f"--from-file {where}: expected one JSON object (a document's fields), "
                f"not {type(body).__name__}"
            )
        return body

    def content(self, option: str, path: str, raw: str) -> str:
        """The value itself, or what `@FILE` / `@-` hold; `@@...` is a literal `@...`."""
        if raw.startswith("@@"):
            return raw[1:]
        if raw == FROM_STDIN:
            return self._stdin(f"{option} {path}")
        if raw.startswith("@"):
            return _file(f"{option} {path}", raw[1:])
        return raw

    def _stdin(self, what: str) -> str:
        if self.stdin_used:
            raise click.ClickException(f"{what}: standard input can be read only once")
        self.stdin_used = True
        try:
            return click.get_binary_stream("stdin").read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{what}: standard input is not UTF-8 ({exc})") from None


def _split(option: str, argument: str) -> tuple[str, str]:
    path, equals, raw = argument.partition("=")
    if not equals or not path.strip("/"):
        shown = argument if len(argument) <= 60 else argument[:57] + "..."
        raise click.ClickException(
            f"{option} {shown!r}: expected PATH=VALUE, e.g. {option} client_review/status=read"
        )
    return path, raw


def _file(what: str, name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{what}: {name} is not UTF-8 text") from None
    except OSError as exc:
        raise click.ClickException(f"{what}: cannot read {name}: {exc.strerror or exc}") from None


def _parsed(what: str, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{what}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def _without_final_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text
