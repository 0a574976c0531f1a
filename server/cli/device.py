"""`sopu device …`: the reference offline device (`sync.device.Device`) on the command line.

What a field app does, typed by hand: enrol with a worker's login, pull the worker's
cases, write visits and notes offline, push, and see what the server merged. It lets
a developer or a trainer play one instructor's phone against a real server, and shows
exactly what travels: the device directory (`--home`, default `./device`) holds only
envelopes, the PIN-protected device key and the tokens. Plaintext exists only in
memory and on the terminal when a command is asked to show it; nothing is logged.

The PIN comes from `--pin`, or SOPU_DEVICE_PIN, or a prompt.
"""

from __future__ import annotations

import functools
import json
import socket
import textwrap
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import click
import requests

from mobile_schema import DocumentInvalid
from mobile_schema.visit import VISIT_KINDS
from sync.crypto import KeyUnavailable, WrongPassphrase
from sync.device import Device, DeviceWiped
from sync.remote import RemoteError
from sync.replicator import ReplicationResult
from sync.store import NotFound, StoreError, Unavailable

from ..tools.simulate import (
    FieldWorkError,
    case_documents,
    change,
    finalise,
    local_conflicts,
    new_note,
    new_visit,
    stamp,
)

REVOKED = (
    "this device was revoked and has been wiped: its documents, keys and tokens are "
    "deleted. Ask an administrator, then enrol it again."
)
WIDTH = 88


class _Handset:
    """The device in --home, opened with the PIN once per command and closed after."""

    def __init__(self, home: Path, pin: str | None):
        self.home = home
        self.pin = pin
        self.device: Device | None = None

    def enrolled(self) -> bool:
        return (self.home / "device.json").exists()

    def create(self) -> Device:
        """A fresh device for enrolment; the PIN is chosen now (asked twice)."""
        pin = self.pin or click.prompt(
            "Choose a device PIN", hide_input=True, confirmation_prompt=True
        )
        self.device = Device(self.home, pin)
        return self.device

    def open(self) -> Device:
        """The enrolled device, unlocked; clear errors if it is not enrolled or locked."""
        if not self.enrolled():
            raise click.ClickException(
                f"no device is enrolled in {self.home}: run `sopu device enrol SERVER USERNAME`"
            )
        pin = self.pin or click.prompt("Device PIN", hide_input=True)
        self.device = Device(self.home, pin)
        try:
            self.device.keys()
        except WrongPassphrase:
            raise click.ClickException("wrong PIN: the device key did not unlock") from None
        return self.device

    def wipe(self) -> None:
        if self.device is not None:
            self.device.wipe()

    def close(self) -> None:
        if self.device is not None:
            self.device.close()


pass_handset = click.make_pass_decorator(_Handset)


def _friendly(command):
    """Turn what can go wrong on a phone into one clear sentence (and exit status 1)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DeviceWiped:
            raise click.ClickException(REVOKED) from None
        except RemoteError as exc:
            raise click.ClickException(_refused(exc)) from None
        except (Unavailable, requests.RequestException) as exc:
            raise click.ClickException(f"cannot reach the server: {exc}") from None
        except NotFound as exc:
            raise click.ClickException(f"not on this device: {exc.reason}") from None
        except KeyUnavailable as exc:
            raise click.ClickException(f"{exc} (pull first?)") from None
        except (FieldWorkError, DocumentInvalid) as exc:
            raise click.ClickException(str(exc)) from None
        except StoreError as exc:
            raise click.ClickException(f"{exc.error}: {exc.reason}") from None

    return run


def _refused(exc: RemoteError) -> str:
    """The server's refusal; a revocation seen outside replication still wipes."""
    if exc.error == "device_revoked" or exc.body.get("wipe"):
        click.get_current_context().find_object(_Handset).wipe()
        return REVOKED
    if exc.error == "invalid_credentials":
        return "login failed: unknown username or wrong password"
    if exc.error == "unauthenticated":
        return "the server does not know this device any more (unauthenticated): enrol again"
    return f"the server refused: {exc.error}: {exc.reason}"


@click.group("device")
@click.option(
    "--home",
    default="device",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory with this device's envelopes, key and tokens.",
)
@click.option(
    "--pin",
    envvar="SOPU_DEVICE_PIN",
    help="PIN or passphrase of the device key (else SOPU_DEVICE_PIN, else asked).",
)
@click.pass_context
def device_group(ctx: click.Context, home: Path, pin: str | None) -> None:
    """A reference offline device: enrol, pull, write notes offline, push, reconcile."""
    ctx.obj = _Handset(home, pin)
    ctx.call_on_close(ctx.obj.close)


# ---------------------------------------------------------------- enrolment and sync


@device_group.command("enrol")
@click.argument("server")
@click.argument("username")
@click.option("--label", help="Name administrators see (default: 'sopu device on HOST').")
@click.option(
    "--kem",
    type=click.Choice(["x25519", "mlkem768-x25519"]),
    default="x25519",
    show_default=True,
    help="Key encapsulation for sealing case keys to this device (hybrid is post-quantum).",
)
@pass_handset
@_friendly
def enrol(handset: _Handset, server: str, username: str, label: str | None, kem: str) -> None:
    """Log in as USERNAME on SERVER (asks for the password) and enrol this device."""
    if handset.enrolled():
        raise click.ClickException(
            f"{handset.home} already holds an enrolled device; use another --home"
        )
    password = click.prompt(f"Password for {username}", hide_input=True)
    device = handset.create()
    label = label or f"sopu device on {socket.gethostname()}"
    state = device.enrol(server.rstrip("/"), username, password, label, kem)
    click.echo(
        f"Enrolled device {state['device_id']} ({label}, {kem}) for {username} "
        f"(worker {state['worker_id']}) on {state['server']}.\n"
        f"Next: `sopu device --home {handset.home} pull`."
    )


@device_group.command("pull")
@pass_handset
@_friendly
def pull(handset: _Handset) -> None:
    """Fetch the worker's cases, keys and changes from the server."""
    device = handset.open()
    _report("Pulled", device.pull())
    _reconcile_hint(device)


@device_group.command("push")
@pass_handset
@_friendly
def push(handset: _Handset) -> None:
    """Send what was written on this device to the server."""
    _report("Pushed", handset.open().push())


@device_group.command("sync")
@pass_handset
@_friendly
def sync(handset: _Handset) -> None:
    """Push, then pull (what the app does when it is back online)."""
    device = handset.open()
    pushed, pulled = device.sync()
    _report("Pushed", pushed)
    _report("Pulled", pulled)
    _reconcile_hint(device)


def _report(verb: str, result: ReplicationResult) -> None:
    click.echo(
        f"{verb}: {result.docs_read} changes looked at, {result.docs_written} documents "
        f"written, {len(result.errors)} refused."
    )
    for error in result.errors:
        click.echo(f"  refused {error.id}: {error.error}: {error.reason}", err=True)


def _reconcile_hint(device: Device) -> None:
    count = sum(len(d.get("reconciliation") or []) for d in _all_docs(device))
    if count:
        click.echo(f"{count} item(s) to reconcile: `sopu device reconcile`.")


# ---------------------------------------------------------------- reading


@device_group.command("cases")
@pass_handset
@_friendly
def cases(handset: _Handset) -> None:
    """List the cases on this device."""
    device = handset.open()
    by_case = case_documents(device)
    ids = sorted(set(device.keyrings()) | set(by_case))
    if not ids:
        click.echo("No cases on this device (pull first?).")
        return
    click.echo(f"{'CASE':<32}  {'FAMILY':<14} {'STATUS':<10} NOTES d/f  VISITS  TO RECONCILE")
    for case_id in ids:
        click.echo(_case_line(case_id, by_case.get(case_id, [])))


def _case_line(case_id: str, docs: list[dict]) -> str:
    case = next((d for d in docs if d["type"] == "case"), {})
    family = next((d for d in docs if d["type"] == "family"), {})
    notes = [d for d in docs if d["type"] == "note"]
    drafts = sum(1 for n in notes if n.get("state") == "draft")
    visits = sum(1 for d in docs if d["type"] == "visit")
    open_items = sum(len(d.get("reconciliation") or []) for d in docs)
    counts = f"{drafts}/{len(notes) - drafts}"
    return (
        f"{case_id:<32}  {family.get('display_name', '?'):<14.14} "
        f"{case.get('status', '?'):<10} {counts:<10} {visits:<7} {open_items}"
    )


@device_group.command("notes")
@click.argument("case")
@pass_handset
@_friendly
def notes(handset: _Handset, case: str) -> None:
    """List the notes of CASE (an id or its first characters), decrypted, oldest first."""
    device = handset.open()
    by_case = case_documents(device)
    case_id = _pick(by_case, case, "case")
    docs = by_case[case_id]
    ctx = CaseView(device, docs)
    found = sorted((d for d in docs if d["type"] == "note"), key=lambda d: d["occurred_at"])
    family = next((d.get("display_name") for d in docs if d["type"] == "family"), "?")
    click.echo(f"Notes of case {case_id} ({family}): {len(found)}")
    for note in found:
        click.echo("")
        click.echo(note_text(ctx, note))


class CaseView:
    """Who is who in one case. A device holds no names, only worker ids and the case's
    assignments; a caller that knows names (the demo) can pass them."""

    def __init__(self, device: Device, docs: list[dict], names: dict[str, str] | None = None):
        self.me = device.state()["worker_id"]
        self.device = device
        self.names = names or {}
        case = next((d for d in docs if d["type"] == "case"), {})
        self.roles = {a["worker_id"]: a["role"] for a in case.get("assignments", [])}

    def who(self, worker_id: str | None) -> str:
        if not worker_id:
            return "?"
        if worker_id in self.names:
            return self.names[worker_id]
        if worker_id == self.me:
            return "you"
        role = self.roles.get(worker_id, "worker").replace("_", " ")
        return f"{role} {worker_id[:8]}"


def note_text(ctx: CaseView, note: dict) -> str:
    kind = "amendment" if note.get("kind") == "amendment" else "note"
    lines = [
        f"{note['_id']}  {kind}, {note.get('state')}  {note['occurred_at']}  "
        f"last edited by {ctx.who(note.get('updated_by'))} at {note.get('updated_at')}"
    ]
    if note.get("amends"):
        lines.append(f"  amends note {note['amends']}")
        lines += _wrapped("Why", note.get("amendment_reason"))
    lines += _wrapped("Discussion", note.get("discussion"))
    lines += _wrapped("Client's view", note.get("client_view"))
    for action in note.get("agreed_actions") or []:
        lines += _wrapped("Agreed", action.get("text"))
    if note.get("state") == "final":
        by = ctx.who(note.get("finalised_by"))
        lines.append(f"  finalised by {by} at {note['finalised_at']}")
    lines += _warnings(ctx, note)
    return "\n".join(lines)


def _warnings(ctx: CaseView, doc: dict) -> list[str]:
    out = []
    items = len(doc.get("reconciliation") or [])
    if items:
        out.append(f"  ! {items} item(s) to reconcile: `sopu device reconcile`")
    others = local_conflicts(ctx.device, doc["_id"])
    if others:
        out.append(f"  ! {len(others)} other version(s) on this device: sync, the server merges")
    return out


def _wrapped(label: str, text: str | None) -> list[str]:
    if not text:
        return []
    body = textwrap.fill(text, WIDTH, initial_indent="    ", subsequent_indent="    ")
    return [f"  {label}:", body]


@device_group.command("reconcile")
@pass_handset
@_friendly
def reconcile(handset: _Handset) -> None:
    """List documents with open reconciliation items: both versions, both authors."""
    device = handset.open()
    shown = 0
    for case_id, docs in sorted(case_documents(device).items()):
        ctx = CaseView(device, docs)
        for doc in docs:
            for entry in doc.get("reconciliation") or []:
                if not shown:
                    click.echo("Items to reconcile (fix the field, then remove the item):")
                shown += 1
                click.echo("")
                click.echo(entry_text(ctx, case_id, doc, entry))
    if not shown:
        click.echo("Nothing to reconcile on this device.")


def entry_text(ctx: CaseView, case_id: str, doc: dict, entry: dict) -> str:
    lines = [f"{doc['type']} {doc['_id']} (case {case_id[:8]})  {entry['path']}  [{entry['kind']}]"]
    for label, side in (("earlier", "ours"), ("later", "theirs")):
        author = ctx.who(entry.get(f"{side}_by"))
        lines.append(f"  {label} version, by {author} at {entry.get(f'{side}_at')}:")
        lines.append(
            textwrap.fill(
                _shown(entry.get(side)), WIDTH, initial_indent="    ", subsequent_indent="    "
            )
        )
    return "\n".join(lines)


def _shown(value: str | None) -> str:
    """A side's value (stored as JSON text) as a person reads it."""
    try:
        decoded = json.loads(value) if value is not None else None
    except ValueError:
        return str(value)
    if decoded is None:
        return "(removed or empty)"
    return decoded if isinstance(decoded, str) else json.dumps(decoded, ensure_ascii=False)


@device_group.command("show")
@click.argument("doc_id")
@pass_handset
@_friendly
def show(handset: _Handset, doc_id: str) -> None:
    """Print one document (an id or its first characters), decrypted, as JSON."""
    device = handset.open()
    found = _pick((d["_id"] for d in _all_docs(device)), doc_id, "document")
    click.echo(json.dumps(device.read(found), indent=2, ensure_ascii=False))
    others = local_conflicts(device, found)
    if others:
        click.echo(f"other versions on this device, not yet merged: {', '.join(others)}", err=True)


# ---------------------------------------------------------------- writing (offline)


@device_group.command("new-note")
@click.argument("case")
@click.option("--text", required=True, help="What was discussed, written with the client.")
@click.option("--client-view", help="The client's own view, in their own words.")
@click.option("--visit", "visit", help="The visit this note belongs to (id or prefix).")
@pass_handset
@_friendly
def new_note_command(
    handset: _Handset, case: str, text: str, client_view: str | None, visit: str | None
) -> None:
    """Write a draft note in CASE, offline; push or sync to share it."""
    device = handset.open()
    by_case = case_documents(device)
    case_id = _pick(by_case, case, "case")
    visit_id = None
    if visit:
        visits = (d["_id"] for d in by_case[case_id] if d["type"] == "visit")
        visit_id = _pick(visits, visit, "visit")
    note = new_note(device, case_id, text, visit_id, client_view=client_view)
    click.echo(f"Draft note {note['_id']} written in case {case_id} (on this device only).")


@device_group.command("edit-note")
@click.argument("note_id")
@click.option("--text", required=True, help="The new discussion text (replaces the old).")
@pass_handset
@_friendly
def edit_note(handset: _Handset, note_id: str, text: str) -> None:
    """Replace the discussion of a draft note, offline."""
    device = handset.open()
    found = _pick(_ids_of(device, "note"), note_id, "note")
    note = change(device, found, lambda d: d.update(discussion=text))
    click.echo(f"Note {found} edited (revision {note['_rev'].split('-')[0]}); push to share it.")


@device_group.command("new-visit")
@click.argument("case")
@click.option("--kind", type=click.Choice(VISIT_KINDS), default="home", show_default=True)
@click.option("--at", "at", required=True, help="Start time, ISO 8601 (e.g. 2026-05-04T09:30).")
@pass_handset
@_friendly
def new_visit_command(handset: _Handset, case: str, kind: str, at: str) -> None:
    """Plan a visit in CASE, offline."""
    device = handset.open()
    case_id = _pick(case_documents(device), case, "case")
    visit = new_visit(device, case_id, kind, _instant(at))
    click.echo(
        f"Visit {visit['_id']} ({kind}, {visit['starts_at']}) planned in case {case_id} "
        "(on this device only)."
    )


def _instant(text: str) -> str:
    """An ISO time as the wire contract wants it; a time without zone is local time."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from None
    return stamp(when if when.tzinfo else when.astimezone())


@device_group.command("finalise")
@click.argument("note_id")
@pass_handset
@_friendly
def finalise_command(handset: _Handset, note_id: str) -> None:
    """Finalise a draft note: after this it never changes (corrections are amendments)."""
    device = handset.open()
    found = _pick(_ids_of(device, "note"), note_id, "note")
    finalise(device, found)
    click.echo(f"Note {found} is final (on this device; push to share it).")


# ---------------------------------------------------------------- helpers


def _all_docs(device: Device) -> list[dict]:
    return [d for docs in case_documents(device).values() for d in docs]


def _ids_of(device: Device, doc_type: str) -> list[str]:
    return [d["_id"] for d in _all_docs(device) if d["type"] == doc_type]


def _pick(ids: Iterable[str], given: str, what: str) -> str:
    """The one id that is `given` or starts with it."""
    matches = sorted({i for i in ids if i.startswith(given)})
    if given in matches:
        return given
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise click.ClickException(f"no {what} {given} on this device (pull first?)")
    raise click.ClickException(f"{what} {given} is ambiguous: {', '.join(matches[:5])}")
