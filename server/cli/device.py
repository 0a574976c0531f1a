"""`sopu device …`: the reference offline device (`sync.device.Device`) on the command line.

What a field app does, typed by hand: enrol with a worker's login, pull the worker's
cases, write and edit any document offline (every field of notes, visits, plans and
assessments, by the paths reconciliation items name them with), delete, finalise,
acknowledge reconciliation items, push, and see what the server merged. It lets a
developer or a trainer play one instructor's phone against a real server, and shows
exactly what travels: the device directory (`--home`, default `./device`) holds only
envelopes, the PIN-protected device key and the tokens. Plaintext exists only in
memory and on the terminal when a command is asked to show it; nothing is logged.
`show` and `notes` record each view as an access event (ids and a time only) that the
next push uploads into the family's access log, as a field app must.

The PIN comes from `--pin`, or SOPU_DEVICE_PIN, or a prompt. Long texts come from a
file (`@FILE`) or standard input (`@-`), see `edit_options`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import socket
import sys
import textwrap
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import click
import requests

from mobile_schema import DocumentInvalid
from mobile_schema import paths as p
from mobile_schema.access_event import MAX_VIEWED
from mobile_schema.base import open_items
from mobile_schema.visit import VISIT_KINDS
from sync.crypto import KeyUnavailable, WrongPassphrase
from sync.device import Device, DeviceWiped
from sync.remote import RemoteError
from sync.replicator import ReplicationResult
from sync.store import NotFound, StoreError, Unavailable

from ..tools.fieldwork import (
    CASE_DOCUMENT_TYPES,
    FieldWorkError,
    acknowledge,
    apply_edits,
    case_documents,
    case_of,
    change,
    delete,
    edit,
    finalise,
    local_conflicts,
    new_document,
    new_note,
    new_visit,
    replace,
    stamp,
)
from .edit_options import Inputs, edit_options

NO_PIN = "no device PIN given and no terminal to ask on: use --pin or set SOPU_DEVICE_PIN"
NO_PASSWORD = "no password given: type it at the prompt, or give it on standard input"
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
        pin = self.pin or _asked("Choose a device PIN", NO_PIN, confirmation_prompt=True)
        self.device = Device(self.home, pin)
        return self.device

    def open(self) -> Device:
        """The enrolled device, unlocked; clear errors if it is not enrolled or locked."""
        if not self.enrolled():
            raise click.ClickException(
                f"no device is enrolled in {self.home}: run `sopu device enrol SERVER USERNAME`"
            )
        pin = self.pin or _asked("Device PIN", NO_PIN)
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
            raise click.ClickException(unreachable(exc)) from None
        except NotFound as exc:
            raise click.ClickException(f"not on this device: {exc.reason}") from None
        except KeyUnavailable as exc:
            raise click.ClickException(f"{exc} (pull first?)") from None
        except (FieldWorkError, DocumentInvalid) as exc:
            raise click.ClickException(str(exc)) from None
        except StoreError as exc:
            raise click.ClickException(f"{exc.error}: {exc.reason}") from None

    return run


def unreachable(exc: Exception) -> str:
    """One line a worker can act on, not the HTTP library's internals."""
    if isinstance(exc, requests.exceptions.SSLError):
        why = "the TLS connection failed (certificate?)"
    elif isinstance(exc, requests.exceptions.Timeout):
        why = "it did not answer in time"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        why = "the connection was refused or the address is wrong"
    elif isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        why = "the address is not a URL such as https://sopu.example"
    elif isinstance(exc, Unavailable):
        why = exc.reason
    else:
        why = type(exc).__name__
    url = getattr(getattr(exc, "request", None), "url", None)
    where = f" at {url.split('/api/')[0].split('/sync/')[0]}" if url else ""
    return f"cannot reach the server{where}: {why}"


def _asked(prompt: str, missing: str, **options) -> str:
    """A secret typed at a hidden prompt, or the next line of standard input when it is
    not a terminal (scripts, tests); says what to do when there is neither."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException(missing)
        return line
    try:
        return click.prompt(prompt, hide_input=True, **options)
    except click.Abort:
        raise click.ClickException(missing) from None


def _refused(exc: RemoteError) -> str:
    """The server's refusal; a revocation seen outside replication still wipes."""
    if exc.error == "device_revoked" or exc.body.get("wipe"):
        click.get_current_context().find_object(_Handset).wipe()
        return REVOKED
    if exc.error == "invalid_credentials":
        return "login failed: unknown username or wrong password"
    if exc.error == "unauthenticated":
        return "the server does not know this device any more (unauthenticated): enrol again"
    if exc.error == "refresh_reused":
        return (
            "this device's tokens were revoked because its refresh token was used twice "
            "(a copy of the device?): tell an administrator, and enrol again with "
            "another --home"
        )
    if exc.error == "login_throttled":
        wait = exc.body.get("retry_after")
        return (
            f"too many failed logins from here: try again in {wait} s"
            if wait
            else ("too many failed logins from here: try again later")
        )
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
    """A reference offline device: enrol, pull, write and edit offline, push, reconcile."""
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
    server = server.rstrip("/")
    _check_server(server)  # before anyone types a password
    password = _asked(f"Password for {username}", NO_PASSWORD)
    with _removed_on_failure(handset.home):
        device = handset.create()
        label = label or f"sopu device on {socket.gethostname()}"
        state = device.enrol(server, username, password, label, kem)
    click.echo(
        f"Enrolled device {state['device_id']} ({label}, {kem}) for {username} "
        f"(worker {state['worker_id']}) on {state['server']}.\n"
        f"Next: `sopu device --home {handset.home} pull`."
    )


def _check_server(server: str) -> None:
    """Is SERVER reachable, and a Sopu server? (It publishes its API description.)"""
    answer = requests.get(f"{server}/api/openapi.json", timeout=15)
    if answer.status_code != 200 or "json" not in answer.headers.get("Content-Type", ""):
        raise click.ClickException(
            f"{server} does not look like a Sopu server "
            f"(GET /api/openapi.json answered {answer.status_code})"
        )


@contextlib.contextmanager
def _removed_on_failure(home: Path):
    """A failed enrolment leaves no half-made device behind (nor a directory it made)."""
    existed = home.exists()
    try:
        yield
    except BaseException:
        handset = click.get_current_context().find_object(_Handset)
        handset.close()
        handset.device = None
        if existed:
            (home / "device.json").unlink(missing_ok=True)
            shutil.rmtree(home / "store", ignore_errors=True)
        else:
            shutil.rmtree(home, ignore_errors=True)
        raise


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
    count = sum(len(open_items(d)) for d in _all_docs(device))
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
    pending = sum(len(open_items(d)) for d in docs)
    counts = f"{drafts}/{len(notes) - drafts}"
    return (
        f"{case_id:<32}  {family.get('display_name', '?'):<14.14} "
        f"{case.get('status', '?'):<10} {counts:<10} {visits:<7} {pending}"
    )


@device_group.command("notes")
@click.argument("case")
@pass_handset
@_friendly
def notes(handset: _Handset, case: str) -> None:
    """List the notes of CASE (an id or its first characters), decrypted, oldest first.

    The view is recorded on the device (an access event: the ids shown, never their
    content) and goes into the family's access log at the next push or sync."""
    device = handset.open()
    by_case = case_documents(device)
    case_id = _pick(by_case, case, "case")
    docs = by_case[case_id]
    ctx = CaseView(device, docs)
    found = sorted((d for d in docs if d["type"] == "note"), key=lambda d: d["occurred_at"])
    families = [d for d in docs if d["type"] == "family"]
    family = families[0].get("display_name") if families else "?"
    _viewed(device, case_id, [d["_id"] for d in found + families[:1]])
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
    items = len(open_items(doc))
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


CLEARING = (
    "Open items to reconcile. Clear one by fixing the field and removing the item\n"
    "(`sopu device edit DOC --set PATH=... --unset reconciliation/ITEM`), or by\n"
    "acknowledging it (`sopu device acknowledge DOC ITEM`), the only way on a final note."
)


@device_group.command("reconcile")
@pass_handset
@_friendly
def reconcile(handset: _Handset) -> None:
    """List open reconciliation items: both versions, both authors, and how to clear them."""
    device = handset.open()
    shown = 0
    for case_id, docs in sorted(case_documents(device).items()):
        ctx = CaseView(device, docs)
        for doc in docs:
            for entry in open_items(doc):
                if not shown:
                    click.echo(CLEARING)
                shown += 1
                click.echo("")
                click.echo(entry_text(ctx, case_id, doc, entry))
                click.echo(_clearing(doc, entry))
    if not shown:
        click.echo("Nothing to reconcile on this device.")


def entry_text(ctx: CaseView, case_id: str, doc: dict, entry: dict) -> str:
    where = entry["path"] or "(whole document)"
    lines = [
        f"{doc['type']} {doc['_id']} (case {case_id[:8]})  item {entry['id'][:8]}  "
        f"{where}  [{entry['kind']}]"
    ]
    for label, side in (("earlier", "ours"), ("later", "theirs")):
        author = ctx.who(entry.get(f"{side}_by"))
        lines.append(f"  {label} version, by {author} at {entry.get(f'{side}_at')}:")
        lines.append(
            textwrap.fill(
                _shown(entry.get(side)), WIDTH, initial_indent="    ", subsequent_indent="    "
            )
        )
    return "\n".join(lines)


def _clearing(doc: dict, entry: dict) -> str:
    """The commands that clear this item (a final note can only acknowledge it)."""
    doc_id, item = doc["_id"][:8], entry["id"][:8]
    ack = f"sopu device acknowledge {doc_id} {item}"
    if doc.get("type") == "note" and doc.get("state") == "final":
        return f"  to clear (final note): {ack}"
    fix = f"fix {entry['path']}, then " if entry["path"] else ""
    return f"  to clear: {fix}sopu device edit {doc_id} --unset reconciliation/{item}; or {ack}"


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
    """Print one document (an id or its first characters), decrypted, as JSON.

    The view is recorded on the device and goes into the family's access log at the
    next push or sync."""
    device = handset.open()
    found = _pick((d["_id"] for d in _all_docs(device)), doc_id, "document")
    doc = device.read(found)
    _viewed(device, case_of(device, found), [found])
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
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


@device_group.command("edit")
@click.argument("doc_id", metavar="DOC")
@edit_options(unset=True)
@pass_handset
@_friendly
def edit_command(
    handset: _Handset,
    doc_id: str,
    sets: tuple[str, ...],
    set_json: tuple[str, ...],
    add_json: tuple[str, ...],
    unset: tuple[str, ...],
    from_file: str | None,
) -> None:
    """Edit any field of DOC (an id or its first characters), offline, as one revision.

    PATH names a field as reconciliation items do, list items by their id or its first
    4+ characters (or index): client_review/status, agreed_actions/3f9a/text,
    goals/<goal>/ratings/<rating>/value. TEXT and JSON may be @FILE or @- (standard
    input); write a literal leading @ as @@. Applied in the order --set, --set-json,
    --add-json, --unset. --from-file FILE (- for standard input) replaces the whole
    content with that JSON object (e.g. `show` output, edited) and stands alone.
    """
    inputs = Inputs()
    edits = inputs.edits(sets, set_json, add_json, unset)
    if from_file and edits:
        raise click.ClickException(
            "--from-file replaces the whole content; it cannot be combined with "
            "--set, --set-json, --add-json or --unset"
        )
    if not from_file and not edits:
        raise click.ClickException(
            "nothing to change: give --set, --set-json, --add-json, --unset or --from-file"
        )
    body = inputs.body(from_file) if from_file else None
    device = _open_for(handset, inputs)
    found = _pick((d["_id"] for d in _all_docs(device)), doc_id, "document")
    before = device.read(found)
    if body is not None:
        after = replace(device, found, body)
        changed = _replaced(before, after)
    else:
        after = edit(device, found, edits)
        changed = _changed(edits, before, after)
    revision = after["_rev"].split("-")[0]
    click.echo(
        f"Edited {after['type']} {found} on this device, now revision {revision}; push to share it."
    )
    click.echo("\n".join(changed or ["  (no field changed)"]))


@device_group.command("new")
@click.argument("doc_type", metavar="TYPE", type=click.Choice(CASE_DOCUMENT_TYPES))
@click.argument("case")
@edit_options(unset=False)
@pass_handset
@_friendly
def new_command(
    handset: _Handset,
    doc_type: str,
    case: str,
    sets: tuple[str, ...],
    set_json: tuple[str, ...],
    add_json: tuple[str, ...],
    from_file: str | None,
) -> None:
    """Write a new document of TYPE in CASE, offline, from its fields.

    The fields come from --from-file FILE (a JSON object; - for standard input), then
    --set, --set-json and --add-json on top (as in `edit`; list items get ids). The
    device adds the id, type, case and stamps. Example: new plan CASE
    --set drawn_up_on=2026-05-04 --set review_on=2026-08-04 --add-json goals='{"title": "…"}'
    """
    inputs = Inputs()
    edits = inputs.edits(sets, set_json, add_json)
    start = inputs.body(from_file) if from_file else {}
    body = apply_edits(start, edits, f"the new {doc_type}")
    device = _open_for(handset, inputs)
    case_id = _pick(case_documents(device), case, "case")
    doc = new_document(device, case_id, doc_type, body)
    click.echo(f"Wrote {doc_type} {doc['_id']} in case {case_id} on this device; push to share it.")
    added = [line for line in _changed(edits, start, doc) if line.startswith("  added")]
    if added:
        click.echo("\n".join(added))


@device_group.command("delete")
@click.argument("doc_id", metavar="DOC")
@pass_handset
@_friendly
def delete_command(handset: _Handset, doc_id: str) -> None:
    """Delete DOC on this device (a final note cannot be: write an amendment)."""
    device = handset.open()
    found = _pick((d["_id"] for d in _all_docs(device)), doc_id, "document")
    doc_type = device.read(found)["type"]
    delete(device, found)
    click.echo(f"Deleted {doc_type} {found} on this device; push to share it.")


@device_group.command("acknowledge")
@click.argument("doc_id", metavar="DOC")
@click.argument("items", metavar="[ITEM]...", nargs=-1)
@pass_handset
@_friendly
def acknowledge_command(handset: _Handset, doc_id: str, items: tuple[str, ...]) -> None:
    """Acknowledge open reconciliation items of DOC in your name (all, or the ITEMs:
    ids or their first characters, as `reconcile` lists them). The document itself
    does not change, so this is how items on a final note are cleared."""
    device = handset.open()
    found = _pick((d["_id"] for d in _all_docs(device)), doc_id, "document")
    before = _open_ids(device.read(found))
    doc = acknowledge(device, found, items or None)
    acknowledged = before - _open_ids(doc)
    done = [i for i in doc.get("reconciliation") or [] if i["id"] in acknowledged]
    click.echo(
        f"Acknowledged {len(done)} item(s) on {doc['type']} {found} in your name; push to share it."
    )
    for item in done:
        click.echo(f"  item {item['id'][:8]}  {item['path'] or '(whole document)'}")


def _open_ids(doc: dict) -> set[str]:
    return {i["id"] for i in open_items(doc)}


def _open_for(handset: _Handset, inputs: Inputs) -> Device:
    """The device, unlocked; its PIN cannot come from standard input if the text did."""
    if inputs.stdin_used and handset.pin is None:
        raise click.ClickException(
            "standard input holds the content (@- or -): give the PIN with --pin or SOPU_DEVICE_PIN"
        )
    return handset.open()


def _changed(edits: list[tuple], before: dict, after: dict) -> list[str]:
    """What an edit did, one line per path (new list items with their ids)."""
    lines: dict[str, None] = {}
    for op, path, _value in edits:
        where = p.pointer(p.segments(path))
        if op == "append":
            for item_id in _new_item_ids(before, after, path):
                lines[f"  added    {where}/{item_id}"] = None
        else:
            lines[f"  {'set' if op == 'set' else 'removed':<8} {where}"] = None
    return list(lines)


def _new_item_ids(before: dict, after: dict, path: str) -> list[str]:
    def ids(doc: dict) -> list[str]:
        try:
            items = p.get(doc, path)
        except p.PathError:
            return []
        return [i["id"] for i in items if isinstance(i, dict) and "id" in i]

    old = set(ids(before))
    return [i for i in ids(after) if i not in old]


def _replaced(before: dict, after: dict) -> list[str]:
    """The fields a replacement changed (stamps and revision aside)."""
    skip = {"_rev", "schema_version", "updated_at", "updated_by"}
    keys = sorted((set(before) | set(after)) - skip)
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return [f"  {'removed' if k not in after else 'set':<8} /{k}" for k in changed]


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


def _viewed(device: Device, case_id: str, doc_ids: list[str]) -> None:
    """The worker opened these client documents: an access event the next sync pushes
    into the family's access log (before they are shown, so no view goes unrecorded).
    A long case file is more documents than one event names: one event per 200."""
    ids = sorted(set(doc_ids))
    for start in range(0, len(ids), MAX_VIEWED):
        device.record_view(case_id, ids[start : start + MAX_VIEWED])


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
