"""The field app's data modules (api.mjs, keystore.mjs, replica.mjs) in headless
Chromium against the real server and its /app/ route: a demo worker logs in, enrols a
key generated in the browser, pulls her bundle into IndexedDB and reads it decrypted;
a note she writes (online, then offline) reaches the server; an expired access token
is refreshed on the way; and a revoked device wipes its database and its key.

The page is the app's manifest (same origin, no app code running), so only the
modules under test touch IndexedDB; each step is a `page.evaluate` importing them.
The numbered tests are one device's life and run in order on one page."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from sync.device import Device
from tests.support.web import demo_web, session

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")
PIN = "2468"
WORDS = "Isä kertoi omin sanoin: iltaisin on jo rauhallisempaa."
OFFLINE_WORDS = "Kirjattu ilman verkkoa: sovittiin kuvakorteista."
MODULES = """
  const js = '/app/static/js/';
  const {Api} = await import(js + 'api.mjs');
  const {generateDeviceKeys} = await import(js + 'crypto.mjs');
  const ks = await import(js + 'keystore.mjs');
  const {Replica, newId, now} = await import(js + 'replica.mjs');
"""


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    if not (ROOT / "server" / "field_app" / "static" / "vendor" / "vendor.js").exists():
        subprocess.run(["bash", "scripts/build_app.sh"], cwd=ROOT, check=True)
    with demo_web(tmp_path_factory.mktemp("field-app-replica")) as served:
        yield served


@pytest.fixture(scope="module")
def context(browser, web):
    context = browser.new_context(locale="fi-FI")
    yield context
    context.close()


@pytest.fixture(scope="module")
def page(context, web):
    page = context.new_page()
    page.goto(f"{web.url}/app/manifest.webmanifest")
    return page


@pytest.fixture(scope="module")
def reference(web, tmp_path_factory):
    """Aino's Python reference device: what the server holds for her, decrypted."""
    device = Device(tmp_path_factory.mktemp("aino-python") / "phone", PIN, scrypt_n=2**10)
    device.enrol(web.url, "aino", "sopu-demo-2026", "Ainon toinen puhelin")
    return device


def run(page, body: str, arg=None):
    """Run an async function body with the modules imported; `arg` is `arg` in it."""
    return page.evaluate(f"async (arg) => {{ {MODULES} {body} }}", arg)


def wait_for(page, condition: str, timeout: float = 30.0):
    """Wait until the JS expression over `window.sopu` holds; return its state."""
    page.wait_for_function(condition, timeout=timeout * 1000)
    return page.evaluate("() => window.sopu.state")


def _block_after(marker: str) -> str:
    start = PROTOCOL.index(marker)
    return re.search(r"```(?:json)?\n(.*?)```", PROTOCOL[start:], re.S).group(1).strip()


def server_docs(reference: Device, with_rev: bool = False) -> dict[str, dict]:
    """id → the document as the server holds it now (without the envelope's `_rev`,
    unless `with_rev`)."""
    reference.pull()
    return {
        d["_id"]: {k: v for k, v in d.items() if with_rev or k != "_rev"}
        for d in reference.documents()
    }


OPEN_REPLICA = """
  const device = await ks.loadDevice();
  const secret = await ks.unwrapSecret(device.wrapped, arg.pin);
  window.sopu = {states: [], state: null, wipes: 0};
  const replica = await Replica.open({device, secret, api: new Api(),
                                      onWipe: () => { window.sopu.wipes += 1; }});
  window.sopu.replica = replica;
  replica.start({onState: (s) => { window.sopu.states.push(s); window.sopu.state = s; }});
"""


def test_0_the_browser_opens_the_documented_examples_with_webcrypto(page):
    """Chromium's WebCrypto (not only node's) runs the protocol's worked examples."""
    envelope = json.loads(_block_after("Envelope:\n"))
    document = json.loads(_block_after("key version 1; document:"))
    private_hex = re.search(r"Device X25519 private key \(hex\): `([0-9a-f]+)`", PROTOCOL)
    opened = run(
        page,
        """
        const c = await import('/app/static/js/crypto.mjs');
        const unhex = (h) => new Uint8Array(h.match(/../g).map((b) => parseInt(b, 16)));
        const secret = unhex(arg.private);
        const key = await c.openSealedKey(arg.sealed, 'x25519', secret,
          'd0e1f2a3b4c5d6e7f8091a2b3c4d5e6f', arg.envelope.case_id, 1);
        const keys = new Map([[`${arg.envelope.case_id}:1`, await c.importCaseKey(key)]]);
        const fresh = await c.generateDeviceKeys('x25519');
        const again = await c.publicKeyOf('x25519', fresh.secret);
        return {key: Array.from(key), doc: await c.openEnvelope(arg.envelope, keys),
                public: await c.publicKeyOf('x25519', secret),
                freshMatches: JSON.stringify(again) === JSON.stringify(fresh.publicKey)};
        """,
        {
            "envelope": envelope,
            "sealed": _block_after("0x00…0x1f of the envelope example):"),
            "private": private_hex.group(1),
        },
    )
    assert opened["key"] == list(range(32))
    assert opened["doc"] == document
    assert opened["public"]["x25519"] == "/Y9omMiy7MJT/lUYmLROh1Cg6iwhdDlk9n0ruJZI3Vg="
    assert opened["freshMatches"]


def test_1_enrol_in_the_browser_keeps_only_the_wrapped_key(page, web):
    enrolled = run(
        page,
        """
        const api = new Api();
        const account = await api.login('aino', 'sopu-demo-2026');
        const {publicKey, secret} = await generateDeviceKeys('mlkem768-x25519');
        const answer = await api.enrol('Ainon selain', publicKey);
        const wrapped = await ks.wrapSecret(secret, arg.pin);
        await ks.saveDevice({server: location.origin, workerId: account.id,
          username: account.username, deviceId: answer.device_id, kem: publicKey.kem, wrapped,
          tokens: {access_token: answer.access_token, refresh_token: answer.refresh_token,
                   expires_at: Date.now() + answer.expires_in * 1000}});
        await api.logout();
        const secretHex = Array.from(secret, (b) => b.toString(16).padStart(2, '0')).join('');
        let wrong = null;
        try { await ks.unwrapSecret(wrapped, '0000'); } catch (e) { wrong = e.name; }
        return {account, deviceId: answer.device_id, stored: await ks.loadDevice(), secretHex,
                wrong};
        """,
        {"pin": PIN},
    )
    assert enrolled["account"]["username"] == "aino"
    assert enrolled["wrong"] == "WrongPinError"
    stored = enrolled["stored"]
    assert stored["deviceId"] == enrolled["deviceId"]
    assert stored["workerId"] == web.worker("aino")["id"]
    # The record holds the secret only under the PIN: its bytes appear nowhere in it.
    assert enrolled["secretHex"] not in json.dumps(stored)
    assert set(stored["wrapped"]) == {"kem", "kdf", "nonce", "ciphertext"}
    assert stored["kem"] == stored["wrapped"]["kem"] == "mlkem768-x25519"  # what the app uses
    devices = web.site.devices.of_worker(web.worker("aino")["id"])
    assert [d["label"] for d in devices if d["id"] == enrolled["deviceId"]] == ["Ainon selain"]


def test_2_the_first_pull_brings_the_bundle_readable_in_memory(page, reference):
    run(page, OPEN_REPLICA, {"pin": PIN})
    state = wait_for(page, "() => window.sopu.state && window.sopu.state.state === 'idle'")
    expected = server_docs(reference)
    docs = run(page, "return await window.sopu.replica.documents();")
    # Each read at the revision the server holds (`_rev`: the base of an edit of it).
    assert {d["_id"]: d for d in docs} == server_docs(reference, with_rev=True)
    expected = {i: {k: v for k, v in d.items() if k != "_rev"} for i, d in expected.items()}
    assert {d["type"] for d in docs} >= {"family", "case", "note", "visit", "plan"}
    states = page.evaluate("() => window.sopu.states.map((s) => s.state)")
    assert states[0] == "pulling", states
    # Idle only once everything arrived; the progress counts documents, not keyrings.
    first_idle = page.evaluate("() => window.sopu.states.find((s) => s.state === 'idle')")
    assert first_idle["pulled"] == first_idle["total"] == len(expected)
    assert state["total"] == len(expected) and state["pulled"] == len(expected)
    assert state["unsynced"] == 0
    one = next(d for d in docs if d["type"] == "note")
    assert run(page, "return await window.sopu.replica.get(arg);", one["_id"]) == one


NEW_NOTE = """
  const cases = (await window.sopu.replica.documents()).filter((d) => d.type === 'case');
  const note = {_id: newId(), type: 'note', schema_version: 3, case_id: cases[0]._id,
    kind: 'entry', occurred_at: now(), discussion: arg.words,
    client_view: 'Meillä menee paremmin.', written_with_client: true, state: 'draft'};
  const saved = await window.sopu.replica.save(note);
  return {saved, unsynced: await window.sopu.replica.unsyncedCount()};
"""


def test_3_a_new_note_is_sealed_locally_and_pushed(page, reference, web):
    written = run(page, NEW_NOTE, {"words": WORDS})
    note = written["saved"]
    assert note["updated_by"] == web.worker("aino")["id"]
    wait_for(page, "() => window.sopu.state.unsynced === 0 && window.sopu.state.state === 'idle'")
    on_server = server_docs(reference)[note["_id"]]
    assert on_server["discussion"] == WORDS
    assert on_server["updated_by"] == web.worker("aino")["id"]
    # What IndexedDB holds of it is the envelope only.
    raw = run(page, "return await window.sopu.replica.local.get(arg);", note["_id"])
    assert raw["doc_type"] == "note" and "discussion" not in raw
    assert "rauhallisempaa" not in json.dumps(raw)


def test_4_an_expired_access_token_is_refreshed_and_saved(page, reference, web):
    device_id = page.evaluate("() => window.sopu.replica.device.deviceId")
    before = run(page, "return (await ks.loadDevice()).tokens;")
    with web.site.directory.transaction() as con:
        con.execute(
            "UPDATE device_tokens SET expires_at = ? WHERE device_id = ? AND kind = 'access'",
            ("2000-01-01T00:00:00+00:00", device_id),
        )
    written = run(page, NEW_NOTE, {"words": "Token vanheni kesken käynnin."})
    wait_for(page, "() => window.sopu.state.unsynced === 0 && window.sopu.state.state === 'idle'")
    assert server_docs(reference)[written["saved"]["_id"]]["discussion"].startswith("Token")
    after = run(page, "return (await ks.loadDevice()).tokens;")
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]


def test_5_offline_a_note_is_kept_counted_and_pushed_when_the_network_returns(
    page, context, reference
):
    context.set_offline(True)
    try:
        wait_for(page, "() => window.sopu.state.state === 'offline'")
        written = run(page, NEW_NOTE, {"words": OFFLINE_WORDS})
        assert written["unsynced"] == 1
        # The app is closed and opened again with no network: the keys come from the
        # keyrings in IndexedDB, the note and the count of what waits are still there.
        run(page, "window.sopu.replica.stop();")
        run(page, OPEN_REPLICA, {"pin": PIN})
        state = wait_for(page, "() => window.sopu.state && window.sopu.state.state === 'offline'")
        assert state["unsynced"] == 1
        reopened = run(page, "return await window.sopu.replica.get(arg);", written["saved"]["_id"])
        assert reopened["discussion"] == OFFLINE_WORDS
    finally:
        context.set_offline(False)
    wait_for(page, "() => window.sopu.state.unsynced === 0 && window.sopu.state.state === 'idle'")
    assert server_docs(reference)[written["saved"]["_id"]]["discussion"] == OFFLINE_WORDS


def test_5b_a_push_the_server_refuses_is_named_and_no_longer_waits(page, reference):
    bad = NEW_NOTE.replace("kind: 'entry'", "kind: 'gossip'")
    written = run(page, bad, {"words": "Tätä ei hyväksytä."})
    assert written["unsynced"] == 1
    state = wait_for(
        page,
        "() => window.sopu.state.denied.length === 1 && window.sopu.state.unsynced === 0",
    )
    [refused] = state["denied"]
    assert refused["id"] == written["saved"]["_id"]
    assert refused["code"] == "doc_validation" and "/kind" in refused["reason"]
    assert written["saved"]["_id"] not in server_docs(reference)


def test_5c_an_edit_made_before_a_pull_brought_a_newer_revision_loses_neither(page, reference, web):
    """The note is open in the browser when the pair worker's edit of it arrives: the
    browser's save goes on the revision it was made on, beside the newer one, and the
    server merges the two - both workers' words are in the note, on both devices."""
    written = run(page, NEW_NOTE, {"words": "Aamut sujuvat."})
    note_id = written["saved"]["_id"]
    wait_for(page, "() => window.sopu.state.unsynced === 0 && window.sopu.state.state === 'idle'")
    opened = run(page, "return await window.sopu.replica.get(arg);", note_id)
    server_docs(reference)
    theirs = reference.read(note_id)
    theirs["client_view"] = "Äiti: meillä on nyt selkeämpi iltarutiini."
    reference.write(theirs, theirs["case_id"])
    reference.push()
    poll(
        page,
        "return (await window.sopu.replica.get(arg.id))._rev !== arg.rev;",
        {"id": note_id, "rev": opened["_rev"]},
    )
    edited = {**opened, "discussion": "Aamut sujuvat. Illat ovat rauhallisempia."}
    run(page, "await window.sopu.replica.save(arg);", edited)
    merged = poll(
        page,
        """
        const doc = await window.sopu.replica.get(arg);
        const leaves = await window.sopu.replica.local.get(arg, {open_revs: 'all'});
        const live = leaves.filter((l) => l.ok && !l.ok._deleted).length;
        return live === 1 && doc.discussion.includes('Illat') && doc.client_view ? doc : null;
        """,
        note_id,
    )
    assert merged["client_view"] == theirs["client_view"]
    assert merged["discussion"] == edited["discussion"]
    on_server = server_docs(reference)[note_id]
    assert on_server["client_view"] == theirs["client_view"]
    assert on_server["discussion"] == edited["discussion"]


def poll(page, body: str, arg=None, timeout: float = 30.0):
    """Run `body` until it returns something truthy (the live feed brings changes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := run(page, body, arg):
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {body}")


def test_6_a_case_taken_away_is_purged_and_its_keys_dropped(page, web, reference):
    aino = web.worker("aino")["id"]
    [assignment, *_] = web.site.directory.query(
        "SELECT id, case_id FROM assignments WHERE worker_id = ? AND ended_at IS NULL"
        " ORDER BY case_id",
        (aino,),
    )
    lost = assignment["case_id"]
    # What the server holds of the case is purged (a refused local-only write is not
    # the server's to delete: it stays, unreadable once the keys are gone).
    on_server = server_docs(reference)
    held = [i for i, d in on_server.items() if d.get("case_id") == lost or i == lost]
    assert lost in held and len(held) > 1
    web.site.cases.end_assignment(assignment["id"], "admin")
    left = poll(
        page,
        """
        const r = window.sopu.replica;
        const docs = await r.documents();
        if (docs.some((d) => arg.held.includes(d._id))) return null;
        const rows = (await r.local.allDocs({keys: arg.held})).rows;
        return {keys: [...r.keys.keys()].filter((k) => k.startsWith(arg.lost + ':')),
                deleted: rows.map((row) => row.value && row.value.deleted), others: docs.length};
        """,
        {"held": held, "lost": lost},
    )
    assert left["keys"] == []
    assert set(left["deleted"]) == {True}
    readable = run(page, "return (await window.sopu.replica.documents()).map((d) => d._id);")
    assert not set(readable) & set(held)
    assert left["others"] > 0  # her other cases stay


def test_6b_a_case_closed_leaves_the_device_at_the_next_sync(page, web, reference):
    """Closing a case ends every assignment: the next sync deletes its documents on the
    device and drops its keys, as for any case taken away."""
    aino = web.worker("aino")["id"]
    open_cases = [
        c for c in web.site.cases.of_worker(aino) if web.site.cases.get(c)["status"] == "active"
    ]
    closing = open_cases[0]
    held = [i for i, d in server_docs(reference).items() if d.get("case_id") == closing]
    assert held
    supervisor = web.site.accounts.by_username("esihenkilo")["id"]
    web.site.casework.close(closing, date.today(), "goals_met", supervisor)
    left = poll(
        page,
        """
        const r = window.sopu.replica;
        const ids = (await r.documents()).map((d) => d._id);
        if (ids.some((id) => arg.held.includes(id))) return null;
        return {keys: [...r.keys.keys()].filter((k) => k.startsWith(arg.closing + ':')),
                others: ids.length};
        """,
        {"held": held, "closing": closing},
    )
    assert left["keys"] == []
    assert left["others"] > 0


def test_7_revocation_wipes_the_database_and_the_device(page, web):
    device_id = page.evaluate("() => window.sopu.replica.device.deviceId")
    supervisor = session(web, "esihenkilo")
    revoked = supervisor.post(
        f"{web.url}/api/devices/{device_id}/revoke", json={"reason": "puhelin kadonnut"}
    )
    assert revoked.status_code == 200, revoked.text
    state = wait_for(page, "() => window.sopu.state.state === 'wiped'")
    assert state["unsynced"] == 0
    left = run(
        page,
        """
        const names = (await indexedDB.databases()).map((d) => d.name);
        return {names, device: await ks.loadDevice(), wipes: window.sopu.wipes};
        """,
    )
    assert left["device"] is None
    assert left["wipes"] == 1
    assert not [n for n in left["names"] if "sopu-replica" in n or "sopu-device" in n]


def test_an_acknowledgement_alone_is_told_apart_from_an_edit(page):
    """save() keeps the stamps of a revision that only acknowledges items (a final
    note must stay byte for byte the finaliser's), and restamps every other one."""
    verdicts = run(
        page,
        """
        const {onlyAcknowledged} = await import('/app/static/js/replica.mjs');
        const item = {id: 'a1', path: '/discussion', kind: 'text', ours: '"x"', theirs: '"y"'};
        const note = {_id: 'n', type: 'note', state: 'final', discussion: 'x y',
                      updated_at: '2026-11-22T10:00:00Z', reconciliation: [item]};
        const ack = {id: 'k', by: 'w', at: '2026-11-23T08:00:00Z'};
        const acked = {...note, _rev: '3-abc', reconciliation: [{...item, acknowledged: [ack]}]};
        return [onlyAcknowledged(note, acked),
                onlyAcknowledged(note, {...acked, discussion: 'x y z'}),
                onlyAcknowledged(note, {...note}),
                onlyAcknowledged(null, acked)];
        """,
    )
    assert verdicts == [True, False, False, False]
