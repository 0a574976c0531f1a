"""The worker's feed: priority of today's visits, longpoll, limits and resumable tokens."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from server.tools.demo_data import note_doc, visit_doc
from sync.crypto import DeviceKeys
from tests.support.live_server import serving
from tests.support.org import PASSWORD

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(org):
    org.worker("aino")
    return org


def tokens_for(org):
    client = org.app.test_client()
    client.post("/api/login", json={"username": "aino", "password": PASSWORD})
    return client.post(
        "/api/devices",
        json={"label": "phone", "public_key": DeviceKeys.generate().public().to_json()},
    ).json


def feed(org, tokens, **params):
    response = org.app.test_client().get(
        f"/sync/{org.workers['aino']}/_changes",
        query_string=params,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 200, response.json
    return response.json


def test_cases_with_visits_today_and_tomorrow_come_first(org):
    labels = [f"c{n}" for n in range(5)]
    for n, label in enumerate(labels):
        org.case(label, "aino", notes=2, seed=n)
    now = datetime.now(UTC)
    for n, label in enumerate(labels):
        when = now + timedelta(days=1) if label == "c3" else now + timedelta(days=30 + n)
        org.site.records.write(
            org.cases[label], [visit_doc(org.cases[label], org.workers["aino"], when)]
        )
    tokens = tokens_for(org)
    results = feed(org, tokens, style="all_docs")["results"]
    rings = {r["id"] for r in results[:5]}
    client_rows = [r for r in results if r["id"] not in rings]
    first_case = client_rows[: len(org.docs["c3"]) + 1]
    case_of = org.site.heads.case_of([r["id"] for r in first_case])
    assert set(case_of.values()) == {org.cases["c3"]}


def test_limit_pages_through_everything_once_and_every_seq_resumes(org):
    for n in range(3):
        org.case(f"c{n}", "aino", notes=4, seed=n)
    tokens = tokens_for(org)
    everything = {r["id"] for r in feed(org, tokens)["results"]}
    seen, since = [], 0
    for _ in range(50):
        page = feed(org, tokens, since=since, limit=4)
        seen += [r["id"] for r in page["results"]]
        if not page["results"]:
            break
        since = page["last_seq"]
    assert sorted(seen) == sorted(everything)
    # A mid-page seq is a valid since: nothing before it comes again, nothing is lost.
    full = feed(org, tokens)["results"]
    middle = full[7]["seq"]
    rest = [r["id"] for r in feed(org, tokens, since=middle)["results"]]
    assert set(rest) == {r["id"] for r in full[8:]}


def test_noop_sync_returns_the_same_token_and_writes_nothing(org):
    org.case("c", "aino")
    tokens = tokens_for(org)
    last = feed(org, tokens)["last_seq"]
    cursors = org.site.directory.one("SELECT COUNT(*) AS n FROM sync_cursors")["n"]
    again = feed(org, tokens, since=last)
    assert again == {"results": [], "last_seq": last}
    assert org.site.directory.one("SELECT COUNT(*) AS n FROM sync_cursors")["n"] == cursors


def test_a_token_from_before_cursor_nonces_still_resumes_where_it_was(org):
    """Phones in the field hold tokens written before cursors had nonces (`<id>-<n>`);
    their rows have none. Such a token resumes from its own position: no resync, and
    a note written since is the only result."""
    case = org.case("c", "aino")
    tokens = tokens_for(org)
    cursor_id, n, _nonce = feed(org, tokens)["last_seq"].split("-")
    with org.site.directory.transaction() as con:
        con.execute("UPDATE sync_cursors SET nonce = NULL WHERE id = ?", (int(cursor_id),))
    legacy = f"{cursor_id}-{n}"
    assert feed(org, tokens, since=legacy) == {"results": [], "last_seq": legacy}
    note = note_doc(random.Random(2), case, org.workers["aino"])
    org.site.records.write(case, [note])
    assert [r["id"] for r in feed(org, tokens, since=legacy)["results"]] == [note["_id"]]


def test_malformed_since_is_a_clear_400(org):
    tokens = tokens_for(org)
    response = org.app.test_client().get(
        f"/sync/{org.workers['aino']}/_changes?since=banana",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 400 and "since" in response.json["reason"]


def test_longpoll_waits_for_a_change_and_times_out_with_heartbeats(org):
    case = org.case("c", "aino")
    tokens = tokens_for(org)
    last = feed(org, tokens)["last_seq"]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    with serving(org.app) as base:
        url = f"{base}/sync/{org.workers['aino']}/_changes"
        started = time.monotonic()
        idle = requests.get(
            url,
            headers=headers,
            timeout=30,
            params={"feed": "longpoll", "since": last, "timeout": 1500, "heartbeat": 500},
        )
        assert 1.4 <= time.monotonic() - started < 10
        assert idle.text.startswith("\n")  # heartbeats kept the connection alive
        assert idle.json()["results"] == []

        note = note_doc(random.Random(1), case, org.workers["aino"])
        writer = threading.Timer(0.7, lambda: org.site.records.write(case, [note]))
        writer.start()
        started = time.monotonic()
        woken = requests.get(
            url,
            headers=headers,
            timeout=30,
            params={"feed": "longpoll", "since": last, "timeout": 20000},
        )
        writer.join()
        assert time.monotonic() - started < 10
        assert [r["id"] for r in woken.json()["results"]] == [note["_id"]]
