"""`sopu demo`: the demo organisation, one pair visit played on two devices, a server.

One command shows what Sopu is for. It seeds the demo organisation into an embedded
store (`--data-dir`, default ./var-demo), serves it on 127.0.0.1, and plays a short
pair visit: Aino writes the meeting note with the family, both instructors' phones
sync, then each of them edits the same note offline (different sentences, and both
write the client's view). They sync, the server merges, and the merged note is
printed with its reconciliation item. Then Aino finalises the note while Bertil,
still offline, corrects it: his correction becomes an amendment. Finally the server
stays up for the supervisor's login (unless --no-serve).
"""

from __future__ import annotations

import random
import shutil
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from sync.device import Device
from sync.merge.text import sentences

from ..app import create_app, open_site
from ..config import Config
from ..site import Site
from ..tools.demo import DEMO_PASSWORD, seed_demo
from ..tools.demo_data import family_doc
from ..tools.fieldwork import case_documents, change, finalise, new_note, new_visit, stamp
from ..tools.simulate import serving
from .device import CaseView, entry_text, note_text

DEMO_PIN = "1357"
OPENING = (
    "Tapasimme perheen kotona. "
    "Äiti kertoi, että iltaisin on raskasta kun isä on vuorotöissä. "
    "Sovittiin, että kokeillaan kuvakortteja kahden viikon ajan."
)
AINO_SENTENCE = (
    "Äiti kertoi, että iltaisin on raskasta kun isä on vuorotöissä, ja nukkumaanmeno "
    "venyy usein yli kymmenen."
)
BERTIL_SENTENCE = "Vi kom överens om att Bertil tar med bildkorten till daghemmet på fredag."
FIRST_VIEW = "Äiti toivoo apua iltoihin."
AINO_VIEW = "Äiti toivoo apua iltoihin ja omaan jaksamiseensa."
BERTIL_VIEW = "Mamman önskar hjälp med kvällarna, inte med morgnarna."
BERTIL_FIX = "Seuraava kotikäynti on tiistaina klo 9."


@click.command("demo")
@click.option(
    "--data-dir",
    default="var-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its store, directory, KEK and the two phones.",
)
@click.option("--port", default=8000, show_default=True, type=int, help="0: any free port.")
@click.option("--no-serve", is_flag=True, help="Exit after the pair visit instead of serving.")
def demo_command(data_dir: Path, port: int, no_serve: bool) -> None:
    """Seed the demo organisation, play a pair visit edited offline on two devices,
    print the merged note, and keep serving on 127.0.0.1 (Ctrl-C stops)."""
    config = Config(data_dir=data_dir, kek_file=data_dir / "kek.key")
    site = open_site(config)
    try:
        logins = seed_demo(site)
        app = create_app(config, site=site)
        with serving(app, port=port) as (url, server):
            _pair_visit(site, url, data_dir / "devices")
            if not no_serve:
                _serve(url, data_dir, logins, server)
    finally:
        site.close()


def _serve(url: str, data_dir: Path, logins, server) -> None:
    """Keep the background server up until Ctrl-C."""
    supervisor = next(login for login in logins if login.role == "supervisor")
    click.echo("")
    click.echo(f"Sopu demo server on {url} (data in {data_dir}); Ctrl-C stops it.")
    click.echo(
        f"Supervisor login: {supervisor.username} / {supervisor.password} "
        f"({supervisor.display_name}); open items: {url}/api/reconciliation"
    )
    others = ", ".join(f"{x.username} ({x.role})" for x in logins if x is not supervisor)
    click.echo(f"Other logins, same password: {others}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped")


# ---------------------------------------------------------------- the pair visit


def _pair_visit(site: Site, url: str, phones: Path) -> None:
    aino, bertil = (site.accounts.by_username(u) for u in ("aino", "bertil"))
    case_id = _shared_case(site, aino["id"], bertil["id"])
    names = {aino["id"]: aino["display_name"], bertil["id"]: bertil["display_name"]}
    a = _phone(url, "aino", phones / "aino-phone")
    b = _phone(url, "bertil", phones / "bertil-phone")
    try:
        note_id = _write_together(a, b, case_id, bertil["id"])
        _edit_offline(a, b, note_id)
        _step("Both phones sync; the server merges the two versions.")
        _sync(b, a, b, a)
        _print_note(a, case_id, note_id, names, "The merged note on Aino's phone:")
        _finalise_race(a, b, note_id)
        _print_note(a, case_id, note_id, names, "The final note and its amendment:")
    finally:
        a.close()
        b.close()


def _shared_case(site: Site, aino: str, bertil: str) -> str:
    """A case both instructors work on (seed_demo makes one); created if missing."""
    shared = sorted(set(site.cases.of_worker(aino)) & set(site.cases.of_worker(bertil)))
    if shared:
        return shared[0]
    supervisor = site.accounts.by_username("esihenkilo")["id"]
    team = site.accounts.get(aino)["team_id"]
    family = family_doc(random.Random(7), supervisor)
    since = (date.today() - timedelta(days=30)).isoformat()
    first = {
        "service_task": "family_social_guidance",
        "pending_since": since,
        "referral": {"source": "parent_self", "received_on": since},
    }
    details = {k: family[k] for k in ("display_name", "members")}
    _family, case_id = site.families.create(team, details, first, supervisor)
    site.casework.assign(case_id, aino, "own_worker", supervisor)
    site.casework.assign(case_id, bertil, "pair_worker", supervisor)
    return case_id


def _phone(url: str, username: str, home: Path) -> Device:
    """A freshly enrolled phone (each run starts clean: the server may be on a new port)."""
    shutil.rmtree(home, ignore_errors=True)
    device = Device(home, DEMO_PIN)
    device.enrol(url, username, DEMO_PASSWORD, label=f"demo phone ({username})")
    device.pull()
    return device


def _write_together(a: Device, b: Device, case_id: str, pair_id: str) -> str:
    """At the family's home: Aino plans the visit and opens the note; both phones sync."""
    _step("Aino and Bertil visit the family. Aino opens the note on her phone:")
    starts = _ago(45)
    visit = new_visit(a, case_id, "home", starts, (pair_id,))
    note = new_note(a, case_id, OPENING, visit["_id"], _ago(40), client_view=FIRST_VIEW)
    click.echo(_indent(f"{OPENING}\nClient's view: {FIRST_VIEW}"))
    _sync(a, b)
    return note["_id"]


def _edit_offline(a: Device, b: Device, note_id: str) -> None:
    """No network: each edits a different sentence, and both rewrite the client's view."""
    _step("Offline, Aino rewrites the second sentence and the mother's view:")
    click.echo(_indent(f"{AINO_SENTENCE}\n{AINO_VIEW}"))
    change(a, note_id, lambda d: _set(d, 1, AINO_SENTENCE, AINO_VIEW), _ago(20))
    _step("Offline, Bertil rewrites the third sentence and the mother's view too:")
    click.echo(_indent(f"{BERTIL_SENTENCE}\n{BERTIL_VIEW}"))
    change(b, note_id, lambda d: _set(d, 2, BERTIL_SENTENCE, BERTIL_VIEW), _ago(15))


def _set(note: dict, index: int, sentence: str, view: str) -> None:
    parts = sentences(note["discussion"])
    space = parts[index][len(parts[index].rstrip()) :]
    parts[index] = sentence + space
    note.update(discussion="".join(parts), client_view=view)


def _finalise_race(a: Device, b: Device, note_id: str) -> None:
    """Aino finalises while Bertil, offline, still adds a sentence: an amendment."""
    _step("Aino finalises the note; Bertil, still offline, adds one more sentence:")
    click.echo(_indent(BERTIL_FIX))
    finalise(a, note_id, _ago(5))
    change(b, note_id, lambda d: d.update(discussion=f"{d['discussion']} {BERTIL_FIX}"), _ago(4))
    _sync(a, b, a, b)


def _sync(*order: Device) -> None:
    """Each device in `order` syncs (push, then pull)."""
    for device in order:
        device.sync()


def _print_note(device: Device, case_id: str, note_id: str, names: dict, title: str) -> None:
    docs = case_documents(device)[case_id]
    view = CaseView(device, docs, names)
    _step(title)
    shown = [d for d in docs if d["_id"] == note_id or d.get("amends") == note_id]
    for doc in sorted(shown, key=lambda d: (d.get("kind") == "amendment", d["updated_at"])):
        click.echo(note_text(view, doc))
        click.echo("")
    items = [(doc, e) for doc in shown for e in doc.get("reconciliation") or []]
    if items:
        click.echo("Items to reconcile:")
    for doc, entry in items:
        click.echo(entry_text(view, case_id, doc, entry))


def _ago(minutes: int) -> str:
    """A time `minutes` ago, so the story's edits happen in the order it tells them."""
    return stamp(datetime.now(UTC) - timedelta(minutes=minutes))


def _step(text: str) -> None:
    click.echo("")
    click.secho(text, bold=True)


def _indent(text: str) -> str:
    return "\n".join(
        textwrap.fill(line, 88, initial_indent="    ", subsequent_indent="    ")
        for line in text.splitlines()
    )
