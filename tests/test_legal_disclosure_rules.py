"""The pure rules of the legal record: when a consent allows a disclosure
(`server.legal.disclosures`) and which period and entries an access report holds
(`server.legal.access_report`), as properties over generated consents, days and
events."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import errors
from server.casework.consents import state_on
from server.legal import access_report as report
from server.legal.disclosures import (
    HELSINKI,
    STATUTES,
    check_basis,
    consent_problem,
    same_service,
)

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
ANY_DAY = st.dates()
SERVICES = st.sampled_from(["Päiväkoti Vaahtera", "Neuvola Solrosen", "Koulu Kaisla"])
ID = "c" * 32


@st.composite
def consents(draw):
    start = draw(DAYS)
    end = draw(st.none() | st.dates(min_value=start, max_value=date(2029, 12, 31)))
    withdrawn = draw(st.none() | st.datetimes(min_value=datetime(2024, 1, 1),
                                              max_value=datetime(2029, 12, 31)))  # fmt: skip
    doc = {"_id": ID, "type": "consent", "service_name": draw(SERVICES), "scope": "x",
           "valid_from": start.isoformat()}  # fmt: skip
    if end:
        doc["valid_to"] = end.isoformat()
    if withdrawn:
        doc["withdrawn_at"] = withdrawn.replace(tzinfo=HELSINKI).isoformat()
    return doc


def spelled_otherwise(name: str, data) -> str:
    """The same name in another case and spacing."""
    words = [data.draw(st.sampled_from([w, w.upper(), w.lower()])) for w in name.split()]
    return data.draw(st.sampled_from(["  ", " ", "\t"])).join(words) + " "


@given(consents(), DAYS, SERVICES, st.data())
def test_a_consent_allows_exactly_what_it_says(consent, day, recipient, data):
    if data.draw(st.booleans()):
        recipient = spelled_otherwise(consent["service_name"], data)
    problem = consent_problem(consent, ID, recipient, day)
    withdrawn = consent.get("withdrawn_at")
    withdrawn_day = withdrawn and datetime.fromisoformat(withdrawn).date()
    if withdrawn and withdrawn_day <= day:
        expected = errors.ConsentWithdrawn
    elif consent["valid_from"] > day.isoformat():
        expected = errors.ConsentNotYetValid
    elif consent.get("valid_to") and consent["valid_to"] < day.isoformat():
        expected = errors.ConsentExpired
    elif not same_service(consent["service_name"], recipient):
        expected = errors.ConsentOutOfScope
    else:
        expected = None
    assert type(problem) is expected if expected else problem is None
    if problem is not None:
        assert ID in problem.message and problem.details["consent_id"] == ID
    # What the case page calls "in force" today always allows its own service today
    # (a withdrawal later that day aside, which the page already shows as withdrawn).
    if state_on(consent, day) == "valid":
        assert consent_problem(consent, ID, consent["service_name"], day) is None


def test_a_missing_or_foreign_document_is_a_missing_consent():
    assert type(consent_problem(None, ID, "x", date(2026, 1, 1))) is errors.ConsentMissing
    note = {"type": "note", "_id": ID}
    assert type(consent_problem(note, ID, "x", date(2026, 1, 1))) is errors.ConsentMissing


def test_the_basis_needs_what_it_names():
    check_basis("consent", ID, None)
    check_basis("client", None, None)
    for code in STATUTES:
        check_basis("statute", None, code)
    with pytest.raises(errors.UnknownStatute):
        check_basis("statute", None, "SHL 41 §")
    wrong = [("consent", None, None), ("client", ID, None), ("consent", ID, "LSL_25"),
             ("gossip", None, None)]  # fmt: skip
    for basis, consent_id, statute in wrong:
        with pytest.raises(errors.InvalidInput):
            check_basis(basis, consent_id, statute)


@given(ANY_DAY)
def test_the_default_period_is_the_two_years_up_to_today(today):
    start, end = report.parse_period(None, None, today)
    assert end == today and start <= today
    assert 365 * 2 <= (today - start).days <= 366 * 2 or start == date.min
    later = today + timedelta(days=400) if today < date(9000, 1, 1) else today
    assert report.parse_period(None, today.isoformat(), later)[0] == start


@given(DAYS, DAYS)
def test_a_period_is_forwards_or_refused(a, b):
    if a <= b:
        assert report.parse_period(a.isoformat(), b.isoformat(), b) == (a, b)
    else:
        with pytest.raises(errors.InvalidPeriod):
            report.parse_period(a.isoformat(), b.isoformat(), b)


EVENTS = st.builds(
    report.Event,
    kind=st.sampled_from(["read", "delivered", "changed", "viewed"]),
    at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)).map(
        lambda d: d.replace(microsecond=0).isoformat() + "Z"
    ),
    worker_id=st.sampled_from(["a" * 32, "b" * 32]),
    case_id=st.just("d" * 32),
    doc_ids=st.lists(st.sampled_from(["1" * 32, "2" * 32]), min_size=1, max_size=2).map(tuple),
)


@given(st.lists(EVENTS, max_size=30), DAYS, DAYS)
def test_entries_are_the_period_s_oldest_first_with_who_and_documents(events, a, b):
    start, end = min(a, b), max(a, b)
    made = report.assemble(
        events, start, end,
        lambda w: report.Person(w, w[:1].upper(), "worker"),
        lambda c, d: report.DocRef(d, "note", "2026-01-01"),
        lambda w, c, day: "own_worker",
    )  # fmt: skip
    inside = [e for e in events if start.isoformat() <= report.event_day(e) <= end.isoformat()]
    assert len(made.entries) == len(inside)
    keys = [(e.day, e.device_at or e.at) for e in made.entries]
    assert keys == sorted(keys)
    assert all(e.basis == "own_worker" and e.documents for e in made.entries)
    assert sum(sum(r["counts"].values()) for r in made.summary()) == len(made.entries)
