"""Every number a device sends to `/sync` is bounded, over real HTTP.

A push is answered per document: an envelope with an absurd `key_version` or
`schema_version`, a `_rev` or `_revisions.start` of twenty digits, a plaintext with an
integer too long to parse, each refuses only its own document while the rest of the
batch is written. Query parameters and request-level bodies out of range are 400s;
unknown CouchDB parameters (`batch_size`, `revs_limit`, …) are ignored, never a 500.
`_local` checkpoints are small and few per device. No body with NaN or Infinity is
taken on any route, and no answer ever carries them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random

import pytest
import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.people import throttle
from server.tools.demo_data import note_doc
from sync.crypto.encoding import b64encode, plaintext_bytes
from sync.crypto.envelope import aad, seal
from sync.store.errors import Unavailable
from tests.support.devices import device_session
from tests.support.live_server import serving
from tests.support.org import PASSWORD, aino_with_a_case

HUGE = "9" * 21
REV = "1-" + "a" * 32
BAD_KEY_VERSIONS = [10**40, -1, 0, 2**63, 1.5, True, "1", None, [1]]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with aino_with_a_case(tmp_path_factory.mktemp("input-bounds")) as org:
        yield org


@pytest.fixture(scope="module")
def server(org):
    with serving(org.app) as url:
        yield url


@pytest.fixture(scope="module")
def device(org, server):
    session, _ = device_session(server, "aino")
    session.db = f"{server}/sync/{org.workers['aino']}"
    return session


@pytest.fixture
def no_errors_logged(caplog):
    """Nothing a client sends may end in an error log line (a 500 logs one)."""
    with caplog.at_level(logging.INFO):
        yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


_seed = iter(range(10_000, 100_000))


def sealed_note(org, **plaintext_changes) -> dict:
    case_id = org.cases["own"]
    doc = note_doc(random.Random(next(_seed)), case_id, org.workers["aino"])
    doc.update(plaintext_changes)
    return seal(doc, org.site.keys.current(case_id))


def sealed_raw(org, changes: dict) -> dict:
    """An envelope whose plaintext JSON says what `changes` say, where `"BIG"` is an
    integer of 5000 digits and `"NAN"` is NaN (neither of which `json.dumps` writes),
    with the envelope's routing fields agreeing with the plaintext."""
    case_id, key = org.cases["own"], org.site.keys.current(org.cases["own"])
    doc = note_doc(random.Random(next(_seed)), case_id, org.workers["aino"])
    doc.update(changes)
    text = plaintext_bytes(doc).replace(b'"BIG"', b"9" * 5000).replace(b'"NAN"', b"NaN")
    nonce = os.urandom(12)
    bound = aad(case_id, doc["_id"], doc["type"], doc["schema_version"], key.version)
    envelope = seal({**doc, "schema_version": 1}, key)
    envelope["schema_version"] = doc["schema_version"]
    envelope["nonce"] = b64encode(nonce)
    envelope["ciphertext"] = b64encode(AESGCM(key.key).encrypt(nonce, text, bound))
    return envelope


def fed_ids(device) -> set[str]:
    return {row["id"] for row in device.get(f"{device.db}/_changes").json()["results"]}


def push(device, docs: list, new_edits: bool = True) -> requests.Response:
    return device.post(f"{device.db}/_bulk_docs", json={"docs": docs, "new_edits": new_edits})


# ---------------------------------------------------------------- per document


@pytest.mark.parametrize("value", BAD_KEY_VERSIONS, ids=repr)
def test_a_bad_key_version_refuses_only_its_document(device, org, value, no_errors_logged):
    good, bad = sealed_note(org), sealed_note(org)
    bad["key_version"] = value
    before = sealed_note(org)
    response = push(device, [before, bad, good])
    assert response.status_code == 201, response.text
    first, refused, written = response.json()
    assert refused["id"] == bad["_id"] and refused["error"] == "forbidden"
    assert refused["code"] in ("bad_envelope", "key_unavailable")
    assert first.get("ok") is True and written.get("ok") is True
    assert {before["_id"], good["_id"]} <= fed_ids(device)
    assert bad["_id"] not in fed_ids(device)


@pytest.mark.parametrize("value", [10**40, 2**63, 0, -1, 1.5, "1", True])
def test_a_bad_envelope_schema_version_refuses_only_its_document(device, org, value):
    good, bad = sealed_note(org), sealed_note(org)
    bad["schema_version"] = value
    response = push(device, [bad, good])
    assert response.status_code == 201, response.text
    refused, written = response.json()
    assert refused["id"] == bad["_id"] and refused["code"] == "bad_envelope"
    assert refused["problems"][0]["path"] == "/schema_version"
    assert written.get("ok") is True and good["_id"] in fed_ids(device)


@pytest.mark.parametrize(
    "changes",
    [
        {"schema_version": 10**40},
        {"schema_version": int(HUGE)},
        {"state": 10**40},
        {"text": 10**40},
        {"extra": "BIG"},
        {"extra": "NAN"},
    ],
    ids=["schema_version 1e40", "schema_version 21 digits", "state", "text", "5000 digits", "NaN"],
)
def test_absurd_numbers_inside_the_ciphertext_refuse_only_their_document(
    device, org, changes, no_errors_logged
):
    """The plaintext is parsed by the server once decrypted: it is a document of the
    contract or refused, per document (an integer Python cannot parse included)."""
    good, bad = sealed_note(org), sealed_raw(org, changes)
    response = push(device, [bad, good])
    assert response.status_code == 201, response.text
    refused, written = response.json()
    assert refused["id"] == bad["_id"] and refused["error"] == "forbidden"
    assert refused["code"] in ("bad_envelope", "doc_validation", "envelope_malformed")
    assert written.get("ok") is True and good["_id"] in fed_ids(device)


@pytest.mark.parametrize("rev", [f"{HUGE}-abc", "0-abc", "-1-abc", "1.5-abc", "1-" + "a" * 200])
def test_a_bad_rev_refuses_only_its_document(device, org, rev, no_errors_logged):
    good, bad = sealed_note(org), sealed_note(org)
    bad["_rev"] = rev
    response = push(device, [bad, good])
    assert response.status_code == 201, response.text
    refused, written = response.json()
    assert refused["id"] == bad["_id"] and refused["code"] == "bad_request"
    assert written.get("ok") is True and good["_id"] in fed_ids(device)


@pytest.mark.parametrize("start", [10**40, 2**63, 0, -1, 1.5, "1", True, None])
def test_a_bad_revisions_start_refuses_only_its_document(device, org, start, no_errors_logged):
    """Replicated pushes (`new_edits: false`) answer only refusals."""
    good, bad = sealed_note(org), sealed_note(org)
    good["_rev"], good["_revisions"] = REV, {"start": 1, "ids": ["a" * 32]}
    bad["_rev"], bad["_revisions"] = REV, {"start": start, "ids": ["a" * 32]}
    response = push(device, [bad, good], new_edits=False)
    assert response.status_code == 201, response.text
    [refused] = response.json()
    assert refused["id"] == bad["_id"] and refused["code"] == "bad_request"
    assert good["_id"] in fed_ids(device) and bad["_id"] not in fed_ids(device)


def test_a_huge_rev_on_put_and_delete_is_a_400(device, org, no_errors_logged):
    doc_id = org.docs["own"][2]
    for method in ("PUT", "DELETE"):
        response = device.request(
            method, f"{device.db}/{doc_id}", params={"rev": f"{HUGE}-abc"}, json={}
        )
        assert response.status_code == 400 and response.json()["error"] == "bad_request"


# ---------------------------------------------------------------- request level

QUERIES = [
    ("_changes", {"limit": HUGE}),
    ("_changes", {"limit": "10001"}),
    ("_changes", {"timeout": HUGE, "feed": "longpoll"}),
    ("_changes", {"heartbeat": HUGE, "feed": "longpoll"}),
    ("_changes", {"heartbeat": "-1", "feed": "longpoll"}),
    ("_changes", {"since": f"{HUGE}-1"}),
    ("_changes", {"since": f"1-{HUGE}"}),
    ("_changes", {"since": "-1-1"}),
    ("_changes", {"since": "1.5"}),
    ("_changes", {"since": HUGE}),
    ("_bulk_get", {"revs": HUGE}),
    ("DOC", {"open_revs": json.dumps([f"{HUGE}-abc"])}),
    ("DOC", {"open_revs": json.dumps([REV] * 1001)}),
    ("DOC", {"rev": f"{HUGE}-abc"}),
    ("DOC", {"revs": HUGE}),
]


# `<cursor>-<n>-<nonce>`: the nonce is exactly 16 hex digits and ends the token.
MALFORMED_SINCE = ["1-1-" + "g" * 16, "1-1-abc", "1-1-" + "a" * 16 + "-1"]


def _refused_query(device, org, path: str, query: dict) -> None:
    path = path.replace("DOC", org.docs["own"][2])
    method = "POST" if path == "_bulk_get" else "GET"
    response = device.request(method, f"{device.db}/{path}", params=query, json={"docs": []})
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("query_parse_error", "invalid_input", "bad_request")


@pytest.mark.parametrize("path, query", QUERIES, ids=[json.dumps(q)[:60] for _, q in QUERIES])
def test_query_numbers_out_of_range_are_a_400(device, org, path, query, no_errors_logged):
    _refused_query(device, org, path, query)


@pytest.mark.parametrize("since", MALFORMED_SINCE)
def test_a_since_token_with_a_malformed_nonce_is_a_400(device, org, since, no_errors_logged):
    _refused_query(device, org, "_changes", {"since": since})


def test_a_token_like_since_that_this_server_never_issued_restarts_the_feed(device, org):
    """Within the bounds (`<18 digits>-<9 digits>`) an unknown token is a fresh start."""
    everything = fed_ids(device)
    since = "9" * 18 + "-" + "9" * 9
    response = device.get(f"{device.db}/_changes", params={"since": since})
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == everything


@pytest.mark.parametrize(
    "name", ["batch_size", "revs_limit", "atts_since", "conflicts", "seq_interval"]
)
def test_couchdb_parameters_the_server_does_not_use_are_ignored(device, name, no_errors_logged):
    for path in ("_changes", "_bulk_get"):
        method = "POST" if path == "_bulk_get" else "GET"
        response = device.request(
            method, f"{device.db}/{path}", params={name: HUGE}, json={"docs": []}
        )
        assert response.status_code == 200, (path, response.text)


BODIES = [
    ("_revs_diff", {"DOC": [f"{HUGE}-abc"]}),
    ("_revs_diff", {"DOC": [10**40]}),
    ("_revs_diff", {"DOC": ["0-abc"]}),
    ("_bulk_get", {"docs": [{"id": "DOC", "rev": f"{HUGE}-abc"}]}),
    ("_bulk_get", {"docs": [{"id": "DOC", "rev": 10**40}]}),
    ("_bulk_get", {"docs": [{"id": "DOC", "atts_since": [f"{HUGE}-abc"]}]}),
    ("_bulk_get", {"docs": [{"id": "DOC", "atts_since": 10**40}]}),
    ("_bulk_get", {"docs": [{"id": 10**40}]}),
    ("_bulk_docs", {"docs": [], "new_edits": 10**40}),
]


@pytest.mark.parametrize("path, body", BODIES, ids=[json.dumps(b)[:60] for _, b in BODIES])
def test_body_numbers_out_of_range_are_a_400(device, org, path, body, no_errors_logged):
    raw = json.dumps(body).replace("DOC", org.docs["own"][2])
    response = device.post(
        f"{device.db}/{path}", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("invalid_input", "bad_request")


# ---------------------------------------------------------------- _local documents


def test_a_checkpoint_is_stored_and_read_back(device):
    body = {"session_id": "s", "last_seq": "12-3", "history": [{"last_seq": "12-3"}] * 50}
    put = device.put(f"{device.db}/_local/bounds-ok", json=body)
    assert put.status_code == 201
    got = device.get(f"{device.db}/_local/bounds-ok").json()
    assert got["history"] == body["history"] and got["_rev"] == put.json()["rev"]


def test_a_large_local_document_is_refused_and_the_old_one_kept(device):
    small = {"last_seq": "1-1"}
    assert device.put(f"{device.db}/_local/bounds-big", json=small).status_code == 201
    response = device.put(f"{device.db}/_local/bounds-big", json={"x": "a" * 70_000})
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "local_document_too_large"
    assert "65536" in response.json()["reason"]
    assert device.get(f"{device.db}/_local/bounds-big").json()["last_seq"] == "1-1"
    fresh = device.put(f"{device.db}/_local/bounds-big2", json={"x": "a" * 70_000})
    assert fresh.status_code == 413
    assert device.get(f"{device.db}/_local/bounds-big2").status_code == 404


def test_local_documents_per_device_are_limited(org, server):
    phone, _ = device_session(server, "aino", label="checkpoints")
    db = f"{server}/sync/{org.workers['aino']}"
    for n in range(100):
        assert phone.put(f"{db}/_local/c{n}", json={"n": n}).status_code == 201
    refused = phone.put(f"{db}/_local/one-more", json={"n": 100})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "too_many_local_documents"
    assert phone.get(f"{db}/_local/one-more").status_code == 404
    assert phone.put(f"{db}/_local/c7", json={"n": 7.5}).status_code == 201  # an update
    assert phone.delete(f"{db}/_local/c0").status_code == 200
    assert phone.put(f"{db}/_local/one-more", json={"n": 100}).status_code == 201
    other, _ = device_session(server, "aino", label="other")  # per device, not per worker
    assert other.put(f"{db}/_local/c0", json={"n": 0}).status_code == 201


# ---------------------------------------------------------------- NaN and Infinity

NON_JSON = ["NaN", "Infinity", "-Infinity", "1e999"]


@pytest.mark.parametrize("number", NON_JSON)
def test_sync_bodies_with_non_standard_numbers_are_refused(device, org, number, no_errors_logged):
    doc_id = org.docs["own"][2]
    bodies = [
        ("POST", "_revs_diff", f'{{"{doc_id}": ["{REV}", {number}]}}'),
        ("POST", "_bulk_get", f'{{"docs": [{{"id": "{doc_id}", "rev": {number}}}]}}'),
        ("POST", "_bulk_docs", f'{{"docs": [{{"_id": "{doc_id}", "key_version": {number}}}]}}'),
        ("PUT", "_local/nan", f'{{"last_seq": {number}}}'),
        ("PUT", doc_id, f'{{"key_version": {number}}}'),
    ]
    for method, path, body in bodies:
        response = device.request(
            method, f"{device.db}/{path}", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == "invalid_input"
        assert number not in response.text or "is not JSON" in response.text
        json.loads(response.text, parse_constant=_refuse)
    assert device.get(f"{device.db}/_local/nan").status_code == 404


@pytest.mark.parametrize("number", NON_JSON)
def test_api_bodies_with_non_standard_numbers_are_refused(server, number, no_errors_logged):
    login = requests.post(
        f"{server}/api/login",
        data=f'{{"username": "aino", "password": {number}}}',
        headers={"Content-Type": "application/json"},
    )
    assert login.status_code == 400 and login.json()["error"] == "invalid_input"
    person = requests.Session()
    person.post(f"{server}/api/login", json={"username": "aino", "password": PASSWORD})
    person.headers["Origin"] = server  # a same-origin request, wherever CSRF is checked
    observation = person.post(
        f"{server}/api/observations",
        data=f'{{"phenomenon": "x", "count": {number}}}',
        headers={"Content-Type": "application/json"},
    )
    assert observation.status_code == 400 and observation.json()["error"] == "invalid_input"


def test_a_push_answer_never_carries_nan(device, org):
    """What the server echoes of a refused document stays standard JSON."""
    bad = sealed_note(org)
    bad["key_version"] = 1e300
    bad["schema_version"] = 1e300
    response = push(device, [bad])
    assert response.status_code == 201
    answer = json.loads(response.text, parse_constant=_refuse)
    assert answer[0]["id"] == bad["_id"] and "error" in answer[0]


def _refuse(name: str):
    raise AssertionError(f"the answer holds {name}, which is not JSON")


def test_no_number_in_any_answer_is_nan(org):
    """The app's JSON encoder refuses NaN: a NaN slipping into an answer is a bug to
    see (a 500), never invalid JSON handed to a device."""
    with org.app.app_context(), pytest.raises(ValueError):
        org.app.json.dumps({"n": math.nan})


# ---------------------------------------------------------------- Retry-After


def test_every_429_and_503_says_when_to_retry(org, server, monkeypatch):
    """Login throttling on the API and the login page, a store outage on `/sync`, the
    readiness probe: each names its wait, so no client hammers the server."""
    phone, _ = device_session(server, "aino", label="outage")
    monkeypatch.setattr(throttle, "BASE_DELAY", 600.0)  # still locked for the page's try
    org.worker("ritva")
    for _ in range(3):
        requests.post(f"{server}/api/login", json={"username": "ritva", "password": "wrong"})
    api = requests.post(f"{server}/api/login", json={"username": "ritva", "password": PASSWORD})
    assert api.status_code == 429 and int(api.headers["Retry-After"]) >= 1
    browser = requests.Session()
    form = browser.get(f"{server}/login").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    page = browser.post(
        f"{server}/login", data={"csrf_token": token, "username": "ritva", "password": PASSWORD}
    )
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1

    store = type(org.site.store)

    def down(*args, **kwargs):
        raise Unavailable("connection refused")

    for name in ("database", "list_databases"):
        monkeypatch.setattr(store, name, down)
    org.app.extensions["sopu.gateway"]._handles.clear()
    pulled = phone.get(f"{server}/sync/{org.workers['aino']}/_changes")
    assert pulled.status_code == 503 and pulled.json()["error"] == "store_unavailable"
    assert pulled.headers["Retry-After"] == "5"
    ready = requests.get(f"{server}/readyz")
    assert ready.status_code == 503 and int(ready.headers["Retry-After"]) >= 1
