"""Fuzzing every `/sync/<db>` endpoint over real HTTP with a real device token.

Hypothesis sends garbage query parameters and bodies — JSON of random shapes, the
right shapes with wrong types, deep nesting, huge numbers, bad and non-ASCII revision
ids, invalid UTF-8 — to the live server. Whatever arrives, the answer is never a 5xx,
and every refusal is CouchDB-shaped JSON (`{"error", "reason"}`, both strings) that a
replicator can read. Bounded and derandomised: the same requests every run.
"""

from __future__ import annotations

import copy
import json
import random

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.tools.demo_data import note_doc
from tests.support.devices import device_session
from tests.support.live_server import serving
from tests.support.org import make_org
from tests.support.site import open_test_site

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# ---------------------------------------------------------------- strategies

huge = st.one_of(
    st.sampled_from([2**31, 2**53 + 1, 2**63, 2**64, 10**30, -(2**63) - 1]),
    st.integers(min_value=2**53, max_value=10**40),
    st.integers(max_value=-(2**53)),
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-10, 10)
    | huge
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
revs = st.one_of(
    st.builds(
        lambda n, h: f"{n}-{h}",
        st.integers(1, 5),
        st.text("0123456789abcdef", min_size=1, max_size=32),
    ),
    st.builds(lambda n: f"{n}-{'a' * 32}", huge),
    st.sampled_from(
        ["garbage", "1-", "-abc", "0-abc", "01-abc", "1-ABC", "²-1", "1e3-ab", "1-a b", ""]
    ),
    st.text(max_size=12),
)
maybe_revs = revs | json_values
KNOWN = "c0ffee" + "0" * 26  # a note of the device's case (the `org` fixture writes it)
CASE = "ca5e" + "0" * 28  # stands for the device's case id in bodies (replaced when sent)
doc_ids = st.sampled_from([KNOWN, "a" * 32, "_design/x", "_all_docs"]) | st.text(
    min_size=1, max_size=40
)
query_values = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 20_000).map(str),
    huge.map(str),
    st.sampled_from(
        ["", "true", "false", "1e3", "0x10", " 5", "+5", "NaN", "all", "[]", "{}", "²"]
    ),
    json_values.map(json.dumps),
)


@st.composite
def deep(draw) -> str:
    """JSON text nested far deeper than any limit (as text: json.dumps would recurse)."""
    depth = draw(st.integers(33, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opener * depth + "1" + closer * depth


def body_of(shaped: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """Bodies: the endpoint's shape with garbage inside, any JSON, deep nesting, or bytes."""
    broken = st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        deep().map(str.encode),
        shaped.map(lambda v: json.dumps(v).replace("1", "1e999", 1).encode()),
        st.binary(max_size=64),
        st.just(b'{"a": 1, "a": 2}'),
        st.just(b'{"a": "\\ud800"}'),
        st.just(b"[" + b"9" * 5000 + b"]"),
    )
    return shaped.map(lambda v: json.dumps(v).encode()) | broken  # half the shape


revs_diff_bodies = st.dictionaries(
    doc_ids, st.lists(maybe_revs, max_size=4) | json_values, max_size=4
)
bulk_get_bodies = st.fixed_dictionaries(
    {
        "docs": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": doc_ids | json_values,
                    "rev": maybe_revs,
                    "atts_since": st.lists(maybe_revs, max_size=2) | json_values,
                },
            )
            | json_values,
            max_size=4,
        )
    },
)
revision_paths = (
    st.fixed_dictionaries(
        {},
        optional={
            "start": huge | json_values,
            "ids": st.lists(maybe_revs, max_size=3) | json_values,
        },
    )
    | json_values
)
tombstones = st.fixed_dictionaries(  # a replicated deletion of a document the server holds
    {"_id": st.just(KNOWN) | doc_ids, "_deleted": st.just(True), "_revisions": revision_paths},
    optional={"_rev": maybe_revs},
)
envelopes = tombstones | st.fixed_dictionaries(
    {"_id": doc_ids | json_values},
    optional={
        "_rev": maybe_revs,
        "_deleted": json_values,
        "_revisions": revision_paths,
        "doc_type": st.sampled_from(["note", "case", "keyring"]) | json_values,
        "schema_version": huge | json_values,
        "case_id": st.just("b" * 32) | json_values,
        "key_version": huge | json_values,
        "nonce": st.just("AAECAwQFBgcICQoL") | json_values,
        "ciphertext": st.just("AAAA" * 20) | json_values,
        "merged_from": json_values,
    },
)
bulk_docs_bodies = st.fixed_dictionaries(
    {
        "docs": st.lists(envelopes | json_values, min_size=1, max_size=4) | json_values,
        "new_edits": st.booleans() | json_values,
    },
)

# Valid-looking bodies, each fuzzed by replacing or removing one or two of its parts: the
# right shape with a wrong type, a huge number or a bad revision in one place.
GOOD_REV, OLD_REV = "2-" + "b" * 32, "1-" + "a" * 32
TOMBSTONE = {
    "_id": KNOWN,
    "_rev": GOOD_REV,
    "_deleted": True,
    "_revisions": {"start": 2, "ids": ["b" * 32, "a" * 32]},
}
ENVELOPE = {
    "_id": KNOWN,
    "_rev": GOOD_REV,
    "_revisions": {"start": 2, "ids": ["b" * 32, "a" * 32]},
    "doc_type": "note",
    "schema_version": 3,
    "case_id": CASE,
    "key_version": 1,
    "nonce": "AAECAwQFBgcICQoL",
    "ciphertext": "AAAA" * 20,
}
TEMPLATES = {  # name: (endpoint, body)
    "revs_diff": ("_revs_diff", {KNOWN: [GOOD_REV, OLD_REV], "a" * 32: [OLD_REV]}),
    "bulk_get": ("_bulk_get", {"docs": [{"id": KNOWN, "rev": OLD_REV, "atts_since": [OLD_REV]}]}),
    "deletion": ("_bulk_docs", {"docs": [TOMBSTONE], "new_edits": False}),
    "envelope": ("_bulk_docs", {"docs": [ENVELOPE], "new_edits": False}),
    "edit": ("_bulk_docs", {"docs": [{**ENVELOPE, "_revisions": None}], "new_edits": True}),
}


def garbage_for(value) -> st.SearchStrategy:
    """Something wrong in place of `value`: for a number mostly a huge one, for a string
    mostly a bad revision id, otherwise any JSON of another shape."""
    if isinstance(value, int) and not isinstance(value, bool):
        return huge | json_values
    if isinstance(value, str):
        return revs | json_values
    return json_values | st.just([[[[1]]]])


def _parts(value, path=()):
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*path, key)
        yield from _parts(item, (*path, key))


@st.composite
def mutants(draw, template):
    body = copy.deepcopy(template)
    for path in draw(st.lists(st.sampled_from(list(_parts(template))), min_size=1, max_size=2)):
        parent = body
        for key in path[:-1]:
            fits = isinstance(parent, dict) and key in parent
            fits = fits or (isinstance(parent, list) and isinstance(key, int) and key < len(parent))
            parent = parent[key] if fits else None
        key = path[-1]
        if isinstance(parent, dict) and key in parent and draw(st.booleans()):
            del parent[key]
        elif (isinstance(parent, dict) and key in parent) or (
            isinstance(parent, list) and isinstance(key, int) and key < len(parent)
        ):
            parent[key] = draw(garbage_for(parent[key]))
    return body


params = {
    "changes": st.dictionaries(
        st.sampled_from(
            ["since", "limit", "style", "include_docs", "feed", "timeout", "heartbeat"]
        ),
        query_values,
        max_size=5,
    ),
    "doc": st.dictionaries(
        st.sampled_from(["rev", "revs", "open_revs", "latest"]),
        query_values | revs | revs.map(lambda r: json.dumps([r])),
        max_size=3,
    ),
}

# ---------------------------------------------------------------- the device


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """One organisation for the module: a worker, a case, a note with a known id."""
    tmp = tmp_path_factory.mktemp("sync-fuzz")
    site = open_test_site(tmp)
    org = make_org(tmp, site)
    org.worker("aino")
    case_id = org.case("own", "aino")
    note = note_doc(random.Random(1), case_id, org.workers["aino"]) | {"_id": KNOWN}
    assert org.site.records.write(case_id, [note])[0].get("ok")
    yield org
    site.close()


@pytest.fixture(scope="module")
def sync(org):
    """A requests session of an enrolled device, its database's URL, the known note."""
    with serving(org.app) as server:
        device, _ = device_session(server, "aino", label="fuzz")
        device.case_id = org.cases["own"]
        yield device, f"{server}/sync/{org.workers['aino']}", KNOWN


def couch_shaped(response: requests.Response) -> None:
    assert response.status_code < 500, (
        response.request.method,
        response.request.url,
        response.text,
    )
    if response.request.method == "HEAD":
        return
    lines = [line for line in response.text.splitlines() if line.strip()]  # longpoll beats
    body = json.loads(lines[-1])
    if response.status_code >= 400:
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), str) and isinstance(body.get("reason"), str), body


# ---------------------------------------------------------------- one test per endpoint


def test_changes(sync):
    device, db, _ = sync

    @given(query=params["changes"])
    @FUZZ
    def check(query):
        if query.get("feed") in ("longpoll", "continuous"):
            query["timeout"] = "100"  # a real wait would only slow the run down
        couch_shaped(device.get(f"{db}/_changes", params=query))
        couch_shaped(device.post(f"{db}/_changes", params=query))

    check()


def test_get_document(sync):
    device, db, doc_id = sync

    @given(query=params["doc"], target=st.sampled_from([doc_id, "a" * 32, "_local_x", "x y"]))
    @FUZZ
    def check(query, target):
        couch_shaped(device.get(f"{db}/{target}", params=query))

    check()


POSTED = {
    "_revs_diff": revs_diff_bodies,
    "_bulk_get": bulk_get_bodies,
    "_bulk_docs": bulk_docs_bodies,
}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_posted_bodies_with_a_part_broken(sync, template):
    """A valid-looking body with one or two of its parts replaced or removed."""
    endpoint, body = TEMPLATES[template]
    post_fuzzed(sync, endpoint, mutants(body).map(lambda v: json.dumps(v).encode()))


@pytest.mark.parametrize("endpoint", sorted(POSTED))
def test_posted_bodies_of_any_shape(sync, endpoint):
    """Random shapes and types, deep nesting, huge numbers, duplicate keys, bytes."""
    post_fuzzed(sync, endpoint, body_of(POSTED[endpoint]))


def post_fuzzed(sync, endpoint: str, bodies: st.SearchStrategy[bytes]) -> None:
    device, db, _ = sync

    @given(body=bodies, revs=st.sampled_from([None, "true", "maybe"]))
    @settings(FUZZ, max_examples=100)
    def check(body, revs):
        query = {"revs": revs} if revs else {}
        couch_shaped(
            device.post(
                f"{db}/{endpoint}",
                data=body.replace(CASE.encode(), device.case_id.encode()),
                params=query,
                headers={"Content-Type": "application/json"},
            )
        )

    check()


def test_local_documents(sync):
    device, db, _ = sync

    @given(
        local_id=st.text(min_size=1, max_size=20).filter(
            lambda s: "/" not in s and "?" not in s and "#" not in s
        ),
        body=body_of(st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
    )
    @FUZZ
    def check(local_id, body):
        couch_shaped(device.put(f"{db}/_local/{local_id}", data=body))
        couch_shaped(device.get(f"{db}/_local/{local_id}"))
        couch_shaped(device.delete(f"{db}/_local/{local_id}"))

    check()


def test_documents_written_one_by_one(sync):
    device, db, doc_id = sync

    @given(
        body=body_of(envelopes), rev=st.none() | revs, target=st.sampled_from([doc_id, "a" * 32])
    )
    @FUZZ
    def check(body, rev, target):
        query = {"rev": rev} if rev is not None else {}
        couch_shaped(device.put(f"{db}/{target}", data=body, params=query))
        couch_shaped(device.delete(f"{db}/{target}", params=query))

    check()


def test_database_and_commit(sync):
    device, db, _ = sync
    for method in ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "TRACE"):
        couch_shaped(device.request(method, db))
    couch_shaped(device.post(f"{db}/_ensure_full_commit", data=b"\xff" * 10))
