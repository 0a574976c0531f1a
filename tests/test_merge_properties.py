"""Property tests of the merge: random concurrent edit histories on several replicas.

Every edit carries a unique token (in the text it writes, or as the id of the item it
adds); scalar edits are tracked by value. After the leaves are merged, every token and
every replica's last value of every scalar it changed must be in the merged document,
in its reconciliation entries, or in an amendment: no edit is ever lost. Replicas that
receive the leaves in different orders must end with identical bodies, and the merge
must be symmetric, give a side back when merged with itself, and produce documents the
wire contract accepts.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile_schema import validate_document
from mobile_schema.examples import example
from sync.merge import merge, merge_all, merge_text
from sync.merge.text import sentences
from sync.revisions import canonical_json

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime.fromisoformat("2026-05-04T10:00:00+03:00")
WORKERS = [f"{0xA0 + i:032x}" for i in range(4)]
TOKEN = re.compile(r"T[0-9]{4}Q")
NOTE_TEXT = (
    "Keskusteltiin aamuista. Äiti kertoi, että aamut ovat raskaita. Eetu nukkuu huonosti.\n\n"
    "Sovittiin kuvakorteista. Vi pratade om kvällarna. Seuraava käynti sovitaan myöhemmin."
)
REVIEW_STATUSES = ("not_reviewed", "read", "agrees", "disagrees")


class Replica:
    """One device's copy of the document and what its worker did to it."""

    def __init__(self, doc: dict, worker: str, tokens: list[int]) -> None:
        self.doc = copy.deepcopy(doc)
        self.worker = worker
        self.at = T0
        self.tokens = tokens  # shared counter, so tokens are unique across replicas
        self.frozen = doc.get("state") == "final"

    def token(self) -> str:
        self.tokens[0] += 1
        return f"T{self.tokens[0]:04d}Q"

    def item_id(self) -> str:
        self.tokens[0] += 1
        return f"{self.tokens[0]:032x}"

    def stamp(self, minutes: int) -> None:
        self.at += timedelta(minutes=minutes)
        self.doc.update(updated_by=self.worker, updated_at=self.at.isoformat(timespec="seconds"))


# ------------------------------------------------------------------ text edits


def text_edit(data, replica: Replica, holder: dict, key: str) -> None:
    """Insert, rewrite, delete or append one sentence of `holder[key]`."""
    parts = sentences(holder.get(key) or "")
    op = data.draw(st.sampled_from(["insert", "rewrite", "delete", "append"]))
    index = data.draw(st.integers(0, max(len(parts) - 1, 0)))
    if op == "append" or not parts:
        sep = " " if parts and parts[-1][-1:] != " " else ""
        parts.append(f"{sep}Lisäys {replica.token()}.")
    elif op == "insert":
        parts.insert(index, f"Uusi lause {replica.token()}. ")
    elif op == "rewrite":
        tail = parts[index][len(parts[index].rstrip()) :]
        parts[index] = f"Muutettu lause {replica.token()}.{tail}"
    else:
        del parts[index]
    holder[key] = "".join(parts)


def list_edit(data, replica: Replica, holder: dict, key: str, make_item, text_key: str) -> None:
    """Add, edit or remove one item of a list merged by id."""
    items = holder.setdefault(key, [])
    op = data.draw(st.sampled_from(["add", "edit", "remove"] if items else ["add"]))
    if op == "add":
        items.append(make_item(replica))
        return
    index = data.draw(st.integers(0, len(items) - 1))
    if op == "remove":
        del items[index]
    else:
        text_edit(data, replica, items[index], text_key)


# ------------------------------------------------------------------ documents


def base_note(final: bool) -> dict:
    doc = example("note")
    doc.update(discussion=NOTE_TEXT, updated_at=T0.isoformat(timespec="seconds"))
    if final:
        doc.update(finalised_at=doc["updated_at"])
    else:
        doc.update(state="draft")
        for key in ("finalised_by", "finalised_at"):
            doc.pop(key)
    return doc


def new_action(replica: Replica) -> dict:
    return {"id": replica.item_id(), "text": f"Tehtävä {replica.token()}."}


def note_edit(data, replica: Replica) -> None:
    what = data.draw(st.sampled_from(["discussion", "client_view", "actions", "review", "final"]))
    if what in ("discussion", "client_view"):
        text_edit(data, replica, replica.doc, what)
    elif what == "actions":
        list_edit(data, replica, replica.doc, "agreed_actions", new_action, "text")
    elif what == "review":
        review = dict(replica.doc.get("client_review") or {})
        review["status"] = data.draw(st.sampled_from(REVIEW_STATUSES))
        replica.doc["client_review"] = review
    else:
        replica.frozen = True
        replica.doc.update(state="final", finalised_by=replica.worker)


def base_plan() -> dict:
    doc = example("plan")
    doc["updated_at"] = T0.isoformat(timespec="seconds")
    second = copy.deepcopy(doc["goals"][0])
    second.update(id="4" * 32, title="Vertaistuki", parent_view="Haluan jutella muiden kanssa.")
    second["ratings"][0]["id"] = "5" * 32
    doc["goals"].append(second)
    return doc


def new_goal(replica: Replica) -> dict:
    return {"id": replica.item_id(), "title": f"Tavoite {replica.token()}"}


def plan_edit(data, replica: Replica) -> None:
    goals = replica.doc["goals"]
    what = data.draw(st.sampled_from(["goals", "view", "rating", "new_rating", "review_on"]))
    if what == "review_on":
        replica.doc["review_on"] = data.draw(st.sampled_from(["2026-07-20", "2026-08-01"]))
    elif what == "goals" or not goals:
        list_edit(data, replica, replica.doc, "goals", new_goal, "worker_view")
    else:
        goal = goals[data.draw(st.integers(0, len(goals) - 1))]
        if what == "view":
            view = data.draw(st.sampled_from(["parent_view", "child_view"]))
            text_edit(data, replica, goal, view)
        elif what == "new_rating" or not goal.get("ratings"):
            rating = {"id": replica.item_id(), "rated_on": "2026-05-04", "value": 5}
            goal.setdefault("ratings", []).append(rating | {"rated_by": "parent"})
        else:
            rating = goal["ratings"][data.draw(st.integers(0, len(goal["ratings"]) - 1))]
            rating["value"] = data.draw(st.integers(0, 10))


@st.composite
def histories(draw, doc_type: str | None = None):
    """(base, leaves): replicas that each edited the base concurrently."""
    data = draw(st.data())
    doc_type = doc_type or draw(st.sampled_from(["note", "plan"]))
    final_base = doc_type == "note" and draw(st.integers(0, 9)) == 0
    base = base_note(final_base) if doc_type == "note" else base_plan()
    edit = note_edit if doc_type == "note" else plan_edit
    tokens = [0]
    leaves = []
    for worker in WORKERS[: draw(st.integers(2, 4))]:
        replica = Replica(base, worker, tokens)
        for _ in range(draw(st.integers(1, 4))):
            if replica.frozen and not final_base:
                break
            edit(data, replica)
            replica.stamp(draw(st.integers(1, 90)))
            if replica.doc.get("state") == "final" and not final_base:
                replica.doc["finalised_at"] = replica.doc["updated_at"]
        leaves.append(replica.doc)
    return base, leaves


# ------------------------------------------------------------------ what must survive


def tokens_in(doc: dict) -> set[str]:
    """Every edit token in the document, its reconciliation entries included."""
    return set(TOKEN.findall(json.dumps(doc, ensure_ascii=False)))


def scalars(doc: dict) -> dict[str, object]:
    """Path → value of the tracked scalar fields (item paths by id)."""
    out: dict[str, object] = {}
    if "review_on" in doc:
        out["/review_on"] = doc["review_on"]
    if isinstance(doc.get("client_review"), dict):
        out["/client_review/status"] = doc["client_review"].get("status")
    for goal in doc.get("goals") or []:
        for rating in goal.get("ratings") or []:
            out[f"/goals/{goal['id']}/ratings/{rating['id']}/value"] = rating["value"]
    return out


def recorded(doc: dict) -> set[tuple[str, str]]:
    """(path, canonical JSON) of every value kept in a reconciliation entry."""
    out = set()
    for entry in doc.get("reconciliation") or []:
        out.add((entry["path"], entry["ours"]))
        out.add((entry["path"], entry["theirs"]))
    return out


def assert_nothing_lost(base: dict, leaves: list[dict], result) -> None:
    docs = [result.doc, *result.extra_docs]
    present = set().union(*(tokens_in(d) for d in docs))
    for leaf in leaves:
        missing = tokens_in(leaf) - present
        assert not missing, f"edits lost: {sorted(missing)}"
    kept = [scalars(d) for d in docs]
    entries = set().union(*(recorded(d) for d in docs))
    before = scalars(base)
    for leaf in leaves:
        for path, value in scalars(leaf).items():
            if before.get(path, object()) == value:
                continue
            as_json = canonical_json(value).decode()
            assert any(k.get(path) == value for k in kept) or (path, as_json) in entries, (
                f"{path} = {value!r} lost"
            )


def assert_valid(result) -> None:
    assert validate_document(result.doc) == result.doc
    for extra in result.extra_docs:
        validate_document(extra)
        assert extra["kind"] == "amendment" and extra["amends"] == result.doc["_id"]


def fold(base: dict, leaves: list[dict]):
    """Pairwise merges in exactly the given order (not the canonical one)."""
    doc, extras = leaves[0], []
    for leaf in leaves[1:]:
        result = merge(base, doc, leaf)
        doc = result.doc
        extras.extend(result.extra_docs)
    return type(result)(doc, extra_docs=tuple(extras))


# ------------------------------------------------------------------ properties


@SETTINGS
@given(history=histories(), order=st.randoms(use_true_random=False))
def test_replicas_that_merge_the_same_leaves_end_identical_and_lose_nothing(history, order):
    base, leaves = history
    results = []
    for _ in range(3):  # each replica received the leaves in its own order
        arrived = list(leaves)
        order.shuffle(arrived)
        results.append(merge_all(base, arrived))
    bodies = {canonical_json([r.doc, list(r.extra_docs)]) for r in results}
    assert len(bodies) == 1
    assert_valid(results[0])
    assert_nothing_lost(base, leaves, results[0])


@SETTINGS
@given(history=histories(), order=st.randoms(use_true_random=False))
def test_any_pairwise_merge_order_loses_nothing(history, order):
    base, leaves = history
    arrived = list(leaves)
    order.shuffle(arrived)
    result = fold(base, arrived)
    assert validate_document(result.doc) == result.doc
    for extra in result.extra_docs:
        validate_document(extra)
    assert_nothing_lost(base, leaves, result)


@SETTINGS
@given(history=histories())
def test_merge_is_symmetric_to_the_byte(history):
    base, leaves = history
    one, two = leaves[0], leaves[1]
    assert canonical_json(merge(base, one, two).doc) == canonical_json(merge(base, two, one).doc)
    assert merge(base, one, two) == merge(base, two, one)


@SETTINGS
@given(history=histories())
def test_merging_a_side_with_itself_or_its_base_gives_it_back(history):
    base, leaves = history
    if base.get("state") == "final":
        return  # an edit of a final note is never taken as it is: it becomes an amendment
    for leaf in leaves:
        assert merge(base, leaf, leaf).doc == leaf
        assert merge(base, base, leaf).doc == leaf
        assert merge(base, leaf, base).doc == leaf
        assert merge(None, leaf, copy.deepcopy(leaf)).doc == leaf
        again = merge_all(base, [*leaves, leaf])  # a leaf seen twice counts once
        assert again == merge_all(base, leaves)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from("abc åäö.!?…”\"' \n\t")))
def test_sentences_give_back_every_character(text):
    assert "".join(sentences(text)) == text
    assert merge_text(text, text + " x.", text).text == text + " x."
