"""The rules deciding which device-side views the access log takes (server.legal.device_views)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mobile_schema import validate_document
from mobile_schema.examples import example
from server.legal import device_views as rules

ids = st.text("0123456789abcdef", min_size=32, max_size=32)
revs = st.builds(
    lambda n, h: f"{n}-{h}",
    st.integers(1, 5),
    st.text("0123456789abcdef", min_size=32, max_size=32),
)


@st.composite
def claims(draw):
    """A pushed event and the facts the server found about it, honest or not."""
    worker, device, case, other_case = draw(ids), draw(ids), draw(ids), draw(ids)
    viewed = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    doc_cases = {
        d: draw(st.sampled_from([case, case, other_case]))
        for d in viewed
        if draw(st.integers(0, 5))  # now and then one the server does not know
    }
    event = {
        "_id": draw(ids),
        "type": "access_event",
        "device_id": draw(st.sampled_from([device, device, draw(ids)])),
        "updated_by": draw(st.sampled_from([worker, worker, draw(ids)])),
        "doc_ids": viewed,
    }
    facts = rules.Facts(
        worker_id=worker,
        device_id=device,
        held=draw(st.booleans()),
        doc_cases=doc_cases,
        recorded_rev=draw(st.none() | revs),
        is_document=draw(st.integers(0, 9)) == 0,
    )
    return event, case, draw(revs), draw(st.booleans()), facts


@given(claims())
def test_an_event_is_accepted_exactly_when_every_rule_holds(claim):
    event, case, rev, first, facts = claim
    honest = (
        not facts.is_document
        and facts.recorded_rev is None
        and first
        and event["updated_by"] == facts.worker_id
        and event["device_id"] == facts.device_id
        and facts.held
        and all(facts.doc_cases.get(d) == case for d in event["doc_ids"])
    )
    verdict = rules.refusal(event, case, rev, first, facts)
    assert (verdict is None) == honest
    if verdict is not None:
        assert verdict.code in {
            rules.IMMUTABLE,
            rules.NOT_YOURS,
            rules.NOT_HELD,
            rules.UNKNOWN_DOCUMENT,
            rules.CASE_MISMATCH,
            rules.TYPE_CHANGED,
        }
        assert verdict.reason  # a sentence the device can show


@given(claims())
def test_once_recorded_an_event_id_takes_nothing_new(claim):
    event, case, rev, first, facts = claim
    recorded = rules.Facts(**{**facts.__dict__, "recorded_rev": rev + "0", "is_document": False})
    assert not rules.again(rev, recorded)
    assert rules.refusal(event, case, rev, first, recorded).code == rules.IMMUTABLE
    assert rules.edit_refusal(event["_id"], recorded.recorded_rev).code == rules.IMMUTABLE
    assert rules.edit_refusal(event["_id"], None) is None  # no event: the usual checks


@given(claims())
def test_the_same_revision_again_is_harmless(claim):
    _event, _case, rev, _first, facts = claim
    assert rules.again(rev, rules.Facts(**{**facts.__dict__, "recorded_rev": rev}))


def test_first_revisions_as_replicated_and_as_new_edits():
    assert rules.first_revision("1-ab", {"start": 1, "ids": ["ab"]})
    assert not rules.first_revision("2-cd", {"start": 2, "ids": ["cd", "ab"]})
    assert rules.first_revision("1-ab", None)
    assert not rules.first_revision("3-ab", None)


def test_the_example_event_names_ids_and_a_time_only():
    event = validate_document(example("access_event"))
    contents = {k: v for k, v in event.items() if k not in ("type", "viewed_at", "doc_ids")}
    assert all(
        isinstance(v, int) or len(v) == 32 or v.startswith("2026-") for v in contents.values()
    )
    assert all(len(d) == 32 for d in event["doc_ids"])


def test_the_event_in_the_protocol_text_is_valid():
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "PROTOCOL.md").read_text("utf-8")
    section = text[text.index("### Device-side views") :]
    block = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    assert validate_document(json.loads(block))["type"] == "access_event"
