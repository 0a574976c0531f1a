"""Strict JSON request bodies (`server.web.json_body`) and the `/sync` query checks
(`server.web.sync_input`): pure functions, tested directly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import InvalidInput, InvalidQuery, InvalidRevisionId
from server.web import sync_input
from server.web.json_body import MAX_DEPTH, check_depth, parse_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), inner, max_size=3)
    ),
    max_leaves=20,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
@settings(max_examples=300)
def test_the_scanner_measures_the_true_depth_of_any_document(value):
    data = json.dumps(value).encode()
    check_depth(data, depth(value))
    if depth(value):
        with pytest.raises(InvalidInput, match="deeper than"):
            check_depth(data, depth(value) - 1)
    assert parse_json(data) == value


def test_32_levels_are_fine_33_are_not():
    assert parse_json(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode()) is not None
    with pytest.raises(InvalidInput, match="nested deeper than 32 levels"):
        parse_json(("[" * 33 + "]" * 33).encode())
    with pytest.raises(InvalidInput, match="deeper than"):
        parse_json(b'{"a":' * 33 + b"1" + b"}" * 33)


def test_brackets_and_quotes_inside_strings_are_not_structure():
    text = json.dumps({"a": "[[[[{{{{" * 20, "b": 'say \\"[\\"', "c": "\\\\", "d": ["]"]})
    assert parse_json(text.encode())["a"].startswith("[[[[")


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "expected a JSON request body"),
        (b'{"a": 1, "a": 2}', 'duplicate key "a"'),
        (b"[NaN]", "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b"[1e999]", "out of range"),
        (b"[" + b"9" * 5000 + b"]", "out of range"),
        (b'["\\ud800"]', "lone UTF-16 surrogate"),
        (b'["\xff"]', "not UTF-8"),
        (b"[[[[[[[[[[", "brackets do not pair up"),
        (b"[" * 100_000, "brackets do not pair up"),
        (b'{"a": }', "malformed JSON body"),
    ],
)
def test_what_is_refused(body, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        parse_json(body)
    assert refused.value.code == "invalid_input"


def test_a_surrogate_pair_escape_is_a_character():
    assert parse_json(b'["\\ud83d\\ude00"]') == ["\U0001f600"]


def test_changes_options_are_bounded_and_typed():
    options = sync_input.changes_options(
        {"limit": "0", "timeout": "120000", "heartbeat": "true", "feed": "longpoll"}
    )
    assert (options.limit, options.timeout_ms, options.heartbeat_ms) == (0, 60_000, 60_000)
    assert sync_input.changes_options({"limit": "10000"}).limit == 10_000
    assert sync_input.changes_options({}).since == 0
    with pytest.raises(InvalidQuery) as refused:
        sync_input.changes_options({"limit": "10001"})
    assert refused.value.code == "query_parse_error"
    assert refused.value.details == {"parameter": "limit"}


def test_revision_ids_are_checked_with_their_document():
    assert sync_input.open_revs({"open_revs": '["1-ab", "2-cd"]'}, "doc") == ["1-ab", "2-cd"]
    assert sync_input.open_revs({"open_revs": "all"}, "doc") == "all"
    for bad in ("01-ab", "1-AB", "1e3-ab", "1-", "x", "1234567890-ab", "1-" + "a" * 129):
        with pytest.raises(InvalidRevisionId, match='document "doc"') as refused:
            sync_input.revs_diff_body({"doc": [bad]})
        assert refused.value.code == "bad_request"
