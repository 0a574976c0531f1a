"""Live feeds (`_changes?feed=longpoll`) that wait without starving the server
(server/gateway/live_feeds.py): a push wakes the feeds of its case within a second
and no others, a worker process lets only so many feeds wait and tells the next
device when to come back, a device's newer feed ends its older one, and a revoked
device's waiting feed ends at once with the wipe answer."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time

import pytest
import requests

from server.tools.demo_data import note_doc
from sync.crypto import seal
from tests.support.devices import device_session
from tests.support.org import PASSWORD, pair_and_own_case
from tests.test_gateway_pouchdb import CLIENT, NODE, ROOT, phone

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(org):
    """Aino and Bertil share a case; Kaisa has one of her own."""
    return pair_and_own_case(org)


class Feed(threading.Thread):
    """One device's longpoll, from the end of its feed, in a thread of its own."""

    def __init__(self, server: str, session: requests.Session, worker_id: str, **params):
        super().__init__(daemon=True)
        self.url = f"{server}/sync/{worker_id}/_changes"
        self.session = session
        self.since = session.get(self.url).json()["last_seq"]
        self.params = {"feed": "longpoll", "since": self.since, "timeout": 20000, **params}
        self.answer: requests.Response | None = None
        self.ended_at = 0.0

    def run(self) -> None:
        self.answer = self.session.get(self.url, params=self.params, timeout=60)
        self.ended_at = time.monotonic()

    def opened(self) -> Feed:
        self.start()
        time.sleep(0.4)  # the request is waiting on the server
        return self

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.answer.text.splitlines() if line.strip()]


def device(server: str, name: str) -> requests.Session:
    session, _ = device_session(server, name)
    return session


def push_note(server: str, session: requests.Session, org, case: str) -> str:
    """A new note pushed through the gateway, sealed with the case's key."""
    note = note_doc(random.Random(7), case, org.workers["bertil"])
    envelope = seal(note, org.site.keys.current(case))
    url = f"{server}/sync/{org.workers['bertil']}/_bulk_docs"
    assert session.post(url, json={"docs": [envelope]}).status_code == 201
    return note["_id"]


def test_a_push_wakes_the_feeds_of_its_case_within_a_second_and_no_others(org, server):
    aino, bertil, kaisa = (device(server, n) for n in ("aino", "bertil", "kaisa"))
    waiting = Feed(server, aino, org.workers["aino"]).opened()
    other = Feed(server, kaisa, org.workers["kaisa"], timeout=3000).opened()

    pushed_at = time.monotonic()
    note_id = push_note(server, bertil, org, org.cases["pair"])
    waiting.join(timeout=10)
    assert waiting.ended_at - pushed_at < 1.0
    assert [row["id"] for row in waiting.answer.json()["results"]] == [note_id]

    other.join(timeout=10)
    assert other.answer.json()["results"] == []  # Kaisa's feed slept on to its timeout
    assert other.ended_at - pushed_at > 2.0


def test_a_worker_lets_only_so_many_feeds_wait_and_answers_the_next_with_retry_after(org, server):
    """The served app allows 2 waiting feeds (`live_feeds_per_worker`): a third device
    is told 503 `too_many_live_feeds` with `Retry-After`, and everyone else is served."""
    sessions = [device(server, n) for n in ("aino", "bertil", "kaisa")]
    held = [
        Feed(server, sessions[i], org.workers[n], timeout=4000).opened()
        for i, n in enumerate(("aino", "bertil"))
    ]
    third = Feed(server, sessions[2], org.workers["kaisa"])
    third.run()
    refused = third.answer
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "too_many_live_feeds"
    assert int(refused.headers["Retry-After"]) > 0

    started = time.monotonic()
    person = requests.Session()
    login = person.post(f"{server}/api/login", json={"username": "kaisa", "password": PASSWORD})
    assert login.status_code == 200 and time.monotonic() - started < 1.0
    normal = sessions[2].get(f"{server}/sync/{org.workers['kaisa']}/_changes")
    assert normal.status_code == 200  # a one-shot sync still works

    for feed in held:
        feed.join(timeout=10)
        assert feed.answer.status_code == 200
    again = Feed(server, sessions[2], org.workers["kaisa"], timeout=500)
    again.run()
    assert again.answer.status_code == 200  # places free again once the feeds answered


def test_a_newer_feed_of_a_device_ends_its_older_one(org, server):
    aino = device(server, "aino")
    older = Feed(server, aino, org.workers["aino"]).opened()
    asked_at = time.monotonic()
    newer = Feed(server, aino, org.workers["aino"], timeout=1500).opened()
    older.join(timeout=10)
    assert older.ended_at - asked_at < 1.5
    assert older.answer.status_code == 200 and older.answer.json()["results"] == []
    newer.join(timeout=10)
    assert newer.answer.status_code == 200


def test_revoking_a_device_ends_its_waiting_feed_with_the_wipe_answer(org, server):
    aino = device(server, "aino")
    me = aino.get(f"{server}/sync/{org.workers['aino']}/_local/none")  # any request
    assert me.status_code == 404
    device_id = next(d["id"] for d in org.site.devices.of_worker(org.workers["aino"]))
    waiting = Feed(server, aino, org.workers["aino"], heartbeat=300).opened()

    revoked_at = time.monotonic()
    org.site.devices.revoke(device_id, "admin", "lost", [org.cases["pair"]])
    waiting.join(timeout=10)
    assert waiting.ended_at - revoked_at < 1.0
    [last] = waiting.lines()
    assert last["error"] == "device_revoked" and last["wipe"] is True
    again = aino.get(f"{server}/sync/{org.workers['aino']}/_changes")
    assert again.status_code == 401 and again.json()["wipe"] is True


@pytest.mark.parametrize("feed", ["continuous", "eventsource"])
def test_a_continuous_feed_sends_each_change_as_it_comes_then_its_last_seq(org, server, feed):
    aino, bertil = device(server, "aino"), device(server, "bertil")
    waiting = Feed(server, aino, org.workers["aino"], feed=feed, timeout=2500).opened()
    first = push_note(server, bertil, org, org.cases["pair"])
    time.sleep(0.6)
    note = note_doc(random.Random(8), org.cases["pair"], org.workers["bertil"])
    envelope = seal(note, org.site.keys.current(org.cases["pair"]))
    bulk = f"{server}/sync/{org.workers['bertil']}/_bulk_docs"
    assert bertil.post(bulk, json={"docs": [envelope]}).status_code == 201
    waiting.join(timeout=10)
    assert waiting.answer.status_code == 200
    text = waiting.answer.text
    if feed == "eventsource":
        assert waiting.answer.headers["Content-Type"].startswith("text/event-stream")
        rows = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
        assert [line for line in text.splitlines() if line.startswith("id: ")]
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()][:-1]
    assert [row["id"] for row in rows] == [first, note["_id"]]  # two changes, as they came
    last = json.loads(text.strip().splitlines()[-1])
    assert last == {"last_seq": rows[-1]["seq"]}
    again = aino.get(waiting.url, params={"since": last["last_seq"]}).json()
    assert again["results"] == []  # the feed continues from where the stream ended


def test_pouchdb_in_live_sync_receives_a_push_of_its_pair_worker_within_a_second(
    org, server, tmp_path
):
    """Unmodified PouchDB running `sync(remote, {live: true, retry: true})`: a note
    Bertil pushes reaches Aino's PouchDB while it waits, with no sync started by hand."""
    aino = phone(tmp_path, server, "aino")
    assert aino.pull()["ok"]
    assert pouchdb_live_delivery_ms(org, server, aino, server) < 1000


def pouchdb_live_delivery_ms(org, server: str, aino, sync_url: str) -> float:
    """Aino's PouchDB in live sync against `sync_url`; once it waits, Bertil pushes a
    note through the gateway at `server`: milliseconds until the note is in PouchDB."""
    bertil = device(server, "bertil")
    note = note_doc(random.Random(9), org.cases["pair"], org.workers["bertil"])
    state = aino.state
    command = {
        "db_dir": str(aino.db_dir),
        "url": f"{sync_url}/sync/{state['worker_id']}",
        "token": state["access_token"],
        "action": "live_until",
        "id": note["_id"],
        "seconds": 20,
    }
    live = subprocess.Popen(
        [NODE, str(CLIENT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    live.stdin.write(json.dumps(command))
    live.stdin.close()
    live.stdin = None
    ready = threading.Event()

    def drain() -> None:  # PouchDB's log goes to stderr; a full pipe would stall it
        for line in live.stderr:
            if "LIVE-READY" in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert ready.wait(30), "PouchDB's live sync never caught up"
        time.sleep(0.5)  # its longpoll waits on the server
        pushed_ms = time.time() * 1000
        envelope = seal(note, org.site.keys.current(org.cases["pair"]))
        bulk = f"{server}/sync/{org.workers['bertil']}/_bulk_docs"
        assert bertil.post(bulk, json={"docs": [envelope]}).status_code == 201
        out = live.stdout.read()
        live.wait(timeout=60)
    finally:
        live.kill()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"], result
    return result["arrived_ms"] - pushed_ms
