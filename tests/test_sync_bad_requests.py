"""Every kind of bad request to `/sync` is a 400 with a specific code, over real HTTP.

Each of these answered 500 with a traceback in the log before (or was accepted, or
answered 404 for a malformed revision): a limit that is not an integer, a revision id
that is not `N-hex`, `_revs_diff` values of the wrong type, duplicate keys, bodies
nested thousands of levels deep, numbers JSON cannot carry. Now each is a 400 in
CouchDB's shape naming what is wrong, nothing is logged as an error, and a huge
`key_version` refuses only its own document while the rest of the batch is written.
"""

from __future__ import annotations

import json
import logging
import random

import pytest

from server.tools.demo_data import note_doc
from sync.crypto.envelope import seal
from tests.support.devices import device_session
from tests.support.live_server import serving
from tests.support.org import aino_with_a_case

pytestmark = pytest.mark.both_directories

DOC = "d0c" + "0" * 29  # replaced by a real document id of the device's case
REV = "1-" + "a" * 32
DEEP = "[" * 5000 + "]" * 5000
QPE, BAD_REV, INVALID = "query_parse_error", "bad_request", "invalid_input"

# (what, method, path under /sync/<db>, query, raw body, expected code)
BAD_REQUESTS = [
    ("limit=abc", "GET", "_changes", {"limit": "abc"}, None, QPE),
    ("limit empty", "GET", "_changes", {"limit": ""}, None, QPE),
    ("limit=1e3", "GET", "_changes", {"limit": "1e3"}, None, QPE),
    ("limit of 20 digits", "GET", "_changes", {"limit": "9" * 20}, None, QPE),
    ("limit=-1", "GET", "_changes", {"limit": "-1"}, None, QPE),
    ("limit over 10000", "GET", "_changes", {"limit": "10001"}, None, QPE),
    ("limit in other digits", "GET", "_changes", {"limit": "٣"}, None, QPE),
    ("timeout=abc", "GET", "_changes", {"feed": "longpoll", "timeout": "abc"}, None, QPE),
    ("heartbeat=abc", "GET", "_changes", {"feed": "longpoll", "heartbeat": "abc"}, None, QPE),
    ("timeout of 20 digits", "GET", "_changes", {"timeout": "9" * 20}, None, QPE),
    ("include_docs=maybe", "POST", "_changes", {"include_docs": "maybe"}, None, QPE),
    ("style unknown", "GET", "_changes", {"style": "everything"}, None, QPE),
    ("feed unknown", "GET", "_changes", {"feed": "sometimes"}, None, QPE),
    ("since in other digits", "GET", "_changes", {"since": "²-1"}, None, INVALID),
    ("since an object", "GET", "_changes", {"since": "{}"}, None, INVALID),
    ("open_revs=5", "GET", DOC, {"open_revs": "5"}, None, QPE),
    ("open_revs an object", "GET", DOC, {"open_revs": '{"a": 1}'}, None, QPE),
    ("open_revs=[1]", "GET", DOC, {"open_revs": "[1]"}, None, BAD_REV),
    ("open_revs garbage", "GET", DOC, {"open_revs": '["garbage"]'}, None, BAD_REV),
    ("rev garbage", "GET", DOC, {"rev": "garbage"}, None, BAD_REV),
    ("revs=maybe", "GET", DOC, {"revs": "maybe"}, None, QPE),
    ("revs_diff null", "POST", "_revs_diff", {}, json.dumps({DOC: None}), INVALID),
    ("revs_diff a string", "POST", "_revs_diff", {}, json.dumps({DOC: REV}), INVALID),
    ("revs_diff integers", "POST", "_revs_diff", {}, json.dumps({DOC: [1, 2]}), BAD_REV),
    ("revs_diff an object", "POST", "_revs_diff", {}, json.dumps({DOC: {"a": 1}}), INVALID),
    ("revs_diff garbage", "POST", "_revs_diff", {}, json.dumps({DOC: ["garbage"]}), BAD_REV),
    (
        "revs_diff huge position",
        "POST",
        "_revs_diff",
        {},
        json.dumps({DOC: ["9" * 30 + "-" + "a" * 32]}),
        BAD_REV,
    ),
    (
        "revs_diff duplicate keys",
        "POST",
        "_revs_diff",
        {},
        f'{{"{DOC}": ["{REV}"], "{DOC}": ["{REV}"]}}',
        INVALID,
    ),
    ("revs_diff deep", "POST", "_revs_diff", {}, f'{{"{DOC}": {DEEP}}}', INVALID),
    ("bulk_docs deep", "POST", "_bulk_docs", {}, f'{{"docs": {DEEP}}}', INVALID),
    ("bulk_get deep", "POST", "_bulk_get", {}, f'{{"docs": {DEEP}}}', INVALID),
    ("local deep", "PUT", "_local/checkpoint", {}, f'{{"history": {DEEP}}}', INVALID),
    ("bulk_docs deep objects", "POST", "_bulk_docs", {}, '{"a":' * 40 + "1" + "}" * 40, INVALID),
    ("new_edits a string", "POST", "_bulk_docs", {}, '{"docs": [], "new_edits": "x"}', INVALID),
    ("docs not a list", "POST", "_bulk_docs", {}, '{"docs": {}}', INVALID),
    ("NaN", "POST", "_bulk_docs", {}, '{"docs": [NaN]}', INVALID),
    ("1e999", "POST", "_bulk_docs", {}, '{"docs": [1e999]}', INVALID),
    ("5000-digit integer", "POST", "_bulk_docs", {}, '{"docs": [' + "9" * 5000 + "]}", INVALID),
    ("bulk_get entry a number", "POST", "_bulk_get", {}, '{"docs": [5]}', INVALID),
    ("bulk_get id a number", "POST", "_bulk_get", {}, '{"docs": [{"id": 5}]}', INVALID),
    (
        "bulk_get rev garbage",
        "POST",
        "_bulk_get",
        {},
        json.dumps({"docs": [{"id": DOC, "rev": "garbage"}]}),
        BAD_REV,
    ),
    ("bulk_get revs=maybe", "POST", "_bulk_get", {"revs": "maybe"}, '{"docs": []}', QPE),
    ("body not UTF-8", "POST", "_revs_diff", {}, b'{"\xff": []}', INVALID),
    ("lone surrogate", "PUT", "_local/checkpoint", {}, '{"a": "\\ud800"}', INVALID),
    ("local a list", "PUT", "_local/checkpoint", {}, "[1]", INVALID),
    ("DELETE rev garbage", "DELETE", DOC, {"rev": "garbage"}, None, BAD_REV),
    ("PUT rev garbage", "PUT", DOC, {"rev": "garbage"}, "{}", BAD_REV),
]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """One organisation and server for the module: none of these requests changes it."""
    with aino_with_a_case(tmp_path_factory.mktemp("bad-requests")) as org:
        yield org


@pytest.fixture(scope="module")
def device(org):
    with serving(org.app) as server:
        session, _ = device_session(server, "aino")
        session.db = f"{server}/sync/{org.workers['aino']}"
        yield session


def test_there_are_more_than_26_kinds():
    assert len(BAD_REQUESTS) > 26
    assert len({what for what, *_ in BAD_REQUESTS}) == len(BAD_REQUESTS)


@pytest.mark.parametrize(
    "method, path, query, body, code",
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_request_is_a_400_with_its_code(device, org, caplog, method, path, query, body, code):
    real_doc = org.docs["own"][2]
    path = path.replace(DOC, real_doc)
    if isinstance(body, str):
        body = body.replace(DOC, real_doc).encode()
    with caplog.at_level(logging.INFO):
        response = device.request(method, f"{device.db}/{path}", params=query, data=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"] == code, answer
    assert isinstance(answer["reason"], str) and answer["reason"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    if code == BAD_REV:
        assert real_doc in answer["reason"]  # names the document


def test_huge_key_version_refuses_that_document_and_writes_the_rest(device, org):
    case_id = org.cases["own"]
    key = org.site.keys.current(case_id)
    good, bad = (
        seal(note_doc(random.Random(n), case_id, org.workers["aino"]), key) for n in (7, 8)
    )
    bad["key_version"] = 10**30
    response = device.post(f"{device.db}/_bulk_docs", json={"docs": [bad, good]})
    assert response.status_code == 201
    refused, written = response.json()
    assert refused["code"] == "bad_envelope" and refused["id"] == bad["_id"]
    assert refused["problems"][0]["path"] == "/key_version"
    assert written.get("ok") is True and written["id"] == good["_id"]
    feed = device.get(f"{device.db}/_changes").json()
    assert good["_id"] in {row["id"] for row in feed["results"]}
    assert bad["_id"] not in {row["id"] for row in feed["results"]}
