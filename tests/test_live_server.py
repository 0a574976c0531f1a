"""The live-feed server (`sopu live-feeds`, server/live/app.py): waiting feeds on an
event loop, beside the gateway on the same site. A push through the gateway wakes the
live feeds of its case at once and no others, hundreds of feeds wait while the work
pool stays at its few threads, a revoked device's feed ends with the wipe answer, and
errors have the gateway's shapes."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
import requests
from aiohttp import web

from server.config import Config
from server.live.app import WORK_THREADS, build_app
from tests.support.devices import device_session
from tests.support.org import PASSWORD, pair_and_own_case
from tests.support.pouchdb_server import free_port
from tests.support.random_nodes import FeedRouter
from tests.test_gateway_pouchdb import phone
from tests.test_live_feeds import pouchdb_live_delivery_ms, push_note

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(org):
    """Aino and Bertil share a case; Kaisa has one of her own."""
    return pair_and_own_case(org)


@pytest.fixture
def live(org, tmp_path):
    """The live-feed server on `org`'s site, on its own event loop and port."""
    app = build_app(Config(data_dir=tmp_path / "live"), org.site, live_feeds=500)
    loop, port, ready = asyncio.new_event_loop(), free_port(), threading.Event()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    assert ready.wait(10)
    yield type("Live", (), {"url": f"http://127.0.0.1:{port}", "app": app})
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)


def feed_url(base: str, org, name: str) -> str:
    return f"{base}/sync/{org.workers[name]}/_changes"


def open_feed(live_url, gateway_session, org, name, **params):
    """A longpoll from the end of `name`'s feed, in a thread; (thread, box)."""
    since = gateway_session.get(feed_url(live_url, org, name)).json()["last_seq"]
    box: dict = {}

    def run() -> None:
        try:
            box["answer"] = gateway_session.get(
                feed_url(live_url, org, name),
                params={"feed": "longpoll", "since": since, "timeout": 20000, **params},
                timeout=60,
            )
        except requests.RequestException as exc:  # cut when the test's server stops
            box["error"] = exc
        box["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_a_push_through_the_gateway_wakes_the_live_feeds_of_its_case_only(org, server, live):
    aino, _ = device_session(server, "aino")
    kaisa, _ = device_session(server, "kaisa")
    bertil, _ = device_session(server, "bertil")
    waiting, got = open_feed(live.url, aino, org, "aino")
    other, other_got = open_feed(live.url, kaisa, org, "kaisa", timeout=2500)
    time.sleep(0.5)
    assert requests.get(f"{live.url}/healthz").json()["feeds"] == 2
    pushed = time.monotonic()
    note_id = push_note(server, bertil, org, org.cases["pair"])
    waiting.join(10)
    assert got["at"] - pushed < 1.0
    assert [row["id"] for row in got["answer"].json()["results"]] == [note_id]
    other.join(10)
    assert other_got["answer"].json()["results"] == []
    assert other_got["at"] - pushed > 1.5


def test_many_waiting_feeds_take_no_threads_and_the_gateway_serves_on(org, server, live):
    sessions = [device_session(server, "aino", f"phone {n}")[0] for n in range(60)]
    sessions += [device_session(server, "kaisa", f"phone {n}")[0] for n in range(60)]
    feeds = [
        open_feed(live.url, s, org, "aino" if n < 60 else "kaisa", timeout=8000)
        for n, s in enumerate(sessions)
    ]
    time.sleep(1.5)
    # 120 feeds wait on a server whose only threads are its event loop and a work pool
    # of WORK_THREADS: none of them holds a thread while it waits.
    assert requests.get(f"{live.url}/healthz").json()["feeds"] == 120 > WORK_THREADS
    started = time.monotonic()
    login = requests.post(f"{server}/api/login", json={"username": "bertil", "password": PASSWORD})
    assert login.status_code == 200 and time.monotonic() - started < 1.0
    bertil, _ = device_session(server, "bertil")
    push_note(server, bertil, org, org.cases["pair"])
    for n, (thread, box) in enumerate(feeds[:60]):
        thread.join(10)
        assert box["answer"].status_code == 200 and len(box["answer"].json()["results"]) == 1, n
    assert all(thread.is_alive() for thread, _ in feeds[60:])  # Kaisa's still wait


def test_a_revoked_device_s_live_feed_ends_with_the_wipe_answer(org, server, live):
    aino, _ = device_session(server, "aino")
    waiting, got = open_feed(live.url, aino, org, "aino", heartbeat=300)
    time.sleep(0.5)
    device_id = next(d["id"] for d in org.site.devices.of_worker(org.workers["aino"]))
    revoked = time.monotonic()
    org.site.devices.revoke(device_id, "admin", "lost", [org.cases["pair"]])
    waiting.join(10)
    assert got["at"] - revoked < 1.0
    last = json.loads(got["answer"].text.strip().splitlines()[-1])
    assert last["error"] == "device_revoked" and last["wipe"] is True
    again = aino.get(feed_url(live.url, org, "aino"), params={"feed": "longpoll"})
    assert again.status_code == 401 and again.json()["wipe"] is True


def test_errors_have_the_gateways_shapes(org, server, live):
    aino, _ = device_session(server, "aino")
    anonymous = requests.get(feed_url(live.url, org, "aino"), params={"feed": "longpoll"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    other = aino.get(feed_url(live.url, org, "bertil"), params={"feed": "longpoll"})
    assert other.status_code == 404
    bad = aino.get(feed_url(live.url, org, "aino"), params={"feed": "longpoll", "timeout": "x"})
    assert bad.status_code == 400 and bad.json()["error"] == "query_parse_error"


def test_pouchdb_in_live_sync_through_the_proxy_rule_waits_on_the_live_server(
    org, server, live, tmp_path
):
    """Unmodified PouchDB in live sync behind the routing of deploy/nginx-sopu.conf:
    its waiting feed is the live-feed server's, everything else the gateway's, and a
    push of its pair worker arrives within a second."""
    with FeedRouter(server, live.url) as router:
        aino = phone(tmp_path, router.url, "aino")
        assert aino.pull()["ok"]
        assert pouchdb_live_delivery_ms(org, server, aino, router.url) < 1000
        assert router.served[live.url] >= 1 and router.served[server] >= 3
