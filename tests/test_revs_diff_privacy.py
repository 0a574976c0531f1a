"""`_revs_diff` never tells a device what other cases hold.

A document of a case the device never held is answered exactly as one that does not
exist — every revision missing — whether the revision asked about exists or not.
Documents of a case the device held before (it was delivered them, then the case was
taken away) are still compared, so the device does not re-send what it only received.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.devices import device_session

pytestmark = pytest.mark.both_directories

MADE_UP = "1-" + "f" * 32


@pytest.fixture
def org(org):
    org.worker("aino")
    org.worker("bertil")
    org.case("own", "aino")
    org.case("theirs", "bertil", seed=2)
    org.case("was_mine", "aino", seed=3)
    return org


def enrolled(server: str, username: str) -> requests.Session:
    return device_session(server, username)[0]


def test_other_cases_answer_as_documents_that_do_not_exist(server, org):
    device = enrolled(server, "aino")
    db = f"{server}/sync/{org.workers['aino']}"
    theirs = org.docs["theirs"][2]
    real = org.site.store.database(f"case-{org.cases['theirs']}").get(theirs)["_rev"]
    unknown = "e" * 32
    diff = device.post(
        f"{db}/_revs_diff",
        json={theirs: [real], unknown: [real], "a" * 32: [MADE_UP]},
    ).json()
    # the revision that exists and the one that does not look the same
    assert diff[theirs] == {"missing": [real]} == diff[unknown]
    assert diff["a" * 32] == {"missing": [MADE_UP]}
    both = device.post(f"{db}/_revs_diff", json={theirs: [real, MADE_UP]}).json()
    assert both == {theirs: {"missing": [real, MADE_UP]}}


def test_a_case_held_before_is_still_compared(server, org):
    device = enrolled(server, "aino")
    db = f"{server}/sync/{org.workers['aino']}"
    feed = device.get(f"{db}/_changes", params={"include_docs": "true"}).json()
    held = org.docs["was_mine"][2]
    assert held in {row["id"] for row in feed["results"]}  # delivered to this device
    case_id = org.cases["was_mine"]
    [assignment] = org.site.cases.assignments(case_id)
    org.site.cases.end_assignment(assignment["id"], "admin")
    rev = org.site.store.database(f"case-{case_id}").get(held)["_rev"]
    diff = device.post(f"{db}/_revs_diff", json={held: [rev, MADE_UP]}).json()
    assert diff == {held: {"missing": [MADE_UP]}}  # what it received is not "missing"
    # another device of the same worker never held the case: it learns nothing
    other = enrolled(server, "aino")
    assert other.post(f"{db}/_revs_diff", json={held: [rev]}).json() == {held: {"missing": [rev]}}


def test_bulk_get_serves_made_up_deletions_only_of_cases_this_device_held(server, org):
    from server.gateway.tombstones import tombstone_rev

    device = enrolled(server, "aino")
    db = f"{server}/sync/{org.workers['aino']}"
    device.get(f"{db}/_changes", params={"include_docs": "true"})  # this device held it
    case_id = org.cases["was_mine"]
    held = org.docs["was_mine"][2]
    [assignment] = org.site.cases.assignments(case_id)
    org.site.cases.end_assignment(assignment["id"], "admin")
    leaf = org.site.store.database(f"case-{case_id}").get(held)["_rev"]
    ask = {"docs": [{"id": held, "rev": tombstone_rev(leaf)}]}
    [found] = device.post(f"{db}/_bulk_get", json=ask).json()["results"]
    assert found["docs"][0]["ok"]["_deleted"] is True  # the purge it must receive
    theirs = org.docs["theirs"][2]
    rev = org.site.store.database(f"case-{org.cases['theirs']}").get(theirs)["_rev"]
    probe = {"docs": [{"id": theirs, "rev": tombstone_rev(rev)}]}
    [answer] = device.post(f"{db}/_bulk_get", json=probe).json()["results"]
    assert answer["docs"][0]["error"]["error"] == "not_found"  # learns nothing of it
    [other] = enrolled(server, "aino").post(f"{db}/_bulk_get", json=ask).json()["results"]
    assert other["docs"][0]["error"]["error"] == "not_found"
