"""Property: random offline histories through the gateway lose nothing.

Three devices (Aino's phone and tablet, Bertil's phone) keep editing stale leaves for
several rounds before pulling — text, items, values inside items and objects, a
lifecycle (finalising), item removals and document deletions — and push and pull in
random orders. After everyone has synced until nothing moves, every replica holds the
server's winning revision and body of every document, and every edit is present: in
the body, in a reconciliation item, or in an amendment. An edit is allowed to be gone
only if the device that removed it had seen it (it removed a sentence, an item or the
document it was in, or overwrote a value it could see): that is a later edit, not a
loss. A deletion that met edits it had not seen must have kept the document and left a
`deleted_edited` item naming the deleter.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile_schema import DocumentInvalid
from server.tools.demo_data import new_id, note_doc, visit_doc
from server.tools.fieldwork import FieldWorkError, change, delete, finalise
from sync.cases import database_name
from sync.device import Device
from sync.store import NotFound
from tests.support.live_server import serving
from tests.support.org import PASSWORD, make_org
from tests.support.site import open_test_site

DEVICES = ("a", "a2", "b")
ROUNDS_TO_CONVERGE = 6


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One server and three enrolled devices for every example (each gets a new case)."""
    tmp = tmp_path_factory.mktemp("merge-properties")
    site = open_test_site(tmp)
    org = make_org(tmp, site)
    org.worker("aino")
    org.worker("bertil")
    with serving(org.app) as server:
        devices = {}
        for name, worker in (("a", "aino"), ("a2", "aino"), ("b", "bertil")):
            dev = Device(tmp / name, passphrase="1357", scrypt_n=2**10)
            dev.enrol(server, worker, PASSWORD, label=name)
            devices[name] = dev
        yield org, devices
        for dev in devices.values():
            dev.close()
    site.close()


@dataclass
class Mark:
    """One edit: its unique token, the document, and whether a later edit by someone
    who had seen it may have removed it."""

    token: str
    doc_id: str
    device: str
    superseded: bool = False


@dataclass
class Story:
    org: object
    devices: dict
    case: str
    docs: dict[str, str]  # role -> doc id
    rng: random.Random
    marks: list[Mark] = field(default_factory=list)
    deletions: list[tuple[str, str]] = field(default_factory=list)  # (device, doc id)
    tokens: int = 0

    def token(self) -> str:
        self.tokens += 1
        return f"Q{self.tokens:05d}"

    def local(self, device: str, doc_id: str) -> dict | None:
        try:
            return self.devices[device].read(doc_id)
        except (NotFound, KeyError):
            return None

    def seen_by(self, device: str, doc_id: str) -> str:
        doc = self.local(device, doc_id)
        return json.dumps(doc, ensure_ascii=False) if doc else ""

    def supersede_what(self, device: str, doc_id: str, gone: str) -> None:
        """Marks `device` could see in `gone` (text it removed) are legitimately gone."""
        for mark in self.marks:
            if mark.doc_id == doc_id and mark.token in gone:
                mark.superseded = True


# ---------------------------------------------------------------- the operations


def op_append(story: Story, device: str, role: str, key: str) -> None:
    doc_id = story.docs[role]
    token = story.token()

    def update(doc):
        doc[key] = f"{(doc.get(key) or '').rstrip()} Lause {token}.".strip()

    _edit(story, device, doc_id, update, token)


def op_rewrite_sentence(story: Story, device: str, role: str, key: str) -> None:
    """Rewrite one sentence: its old words are gone (the device saw them), its new
    words carry a token."""
    doc_id = story.docs[role]
    token = story.token()

    def update(doc):
        sentences = [s for s in (doc.get(key) or "").split(". ") if s]
        if not sentences:
            doc[key] = f"Lause {token}."
            return
        i = story.rng.randrange(len(sentences))
        story.supersede_what(device, doc_id, sentences[i])
        sentences[i] = f"Uusi {token}"
        doc[key] = ". ".join(s.rstrip(".") for s in sentences) + "."

    _edit(story, device, doc_id, update, token)


def op_add_action(story: Story, device: str) -> None:
    token = story.token()
    item = {"id": new_id(), "text": f"Tehtävä {token}."}
    _edit(
        story,
        device,
        story.docs["note"],
        lambda d: d.setdefault("agreed_actions", []).append(item),
        token,
    )


def op_edit_action(story: Story, device: str) -> None:
    token = story.token()

    def update(doc):
        actions = doc.get("agreed_actions") or []
        if not actions:
            raise FieldWorkError("nothing to edit")
        action = story.rng.choice(actions)
        action["text"] = f"{action['text'].rstrip('.')} ja {token}."

    _edit(story, device, story.docs["note"], update, token)


def op_remove_action(story: Story, device: str) -> None:
    def update(doc):
        actions = doc.get("agreed_actions") or []
        if not actions:
            raise FieldWorkError("nothing to remove")
        gone = actions.pop(story.rng.randrange(len(actions)))
        story.supersede_what(device, story.docs["note"], json.dumps(gone, ensure_ascii=False))

    _edit(story, device, story.docs["note"], update, None)


def op_review_comment(story: Story, device: str) -> None:
    token = story.token()

    def update(doc):
        review = doc.get("client_review") or {"status": "read"}
        old = review.get("comment") or ""
        review["comment"] = f"{old} Kommentti {token}.".strip()
        doc["client_review"] = review

    _edit(story, device, story.docs["note"], update, token)


def op_participant(story: Story, device: str) -> None:
    token = story.token()
    person = {"id": new_id(), "kind": "external", "name": f"Tulkki {token}", "role": "tulkki"}
    _edit(story, device, story.docs["visit"], lambda d: d["participants"].append(person), token)


def op_location(story: Story, device: str, role: str) -> None:
    """A value (scalar): the device overwrites the value it can see."""
    token = story.token()
    doc_id = story.docs[role]

    def update(doc):
        story.supersede_what(device, doc_id, json.dumps(doc.get("location")))
        doc["location"] = f"Paikka {token}"

    _edit(story, device, doc_id, update, token)


def op_finalise(story: Story, device: str) -> None:
    doc = story.local(device, story.docs["note"])
    if doc is None or doc.get("state") == "final":
        return
    finalise(story.devices[device], story.docs["note"])


def op_delete(story: Story, device: str, role: str) -> None:
    doc_id = story.docs[role]
    doc = story.local(device, doc_id)
    if doc is None or doc.get("state") == "final":
        return
    story.supersede_what(device, doc_id, json.dumps(doc, ensure_ascii=False))
    delete(story.devices[device], doc_id)
    story.deletions.append((device, doc_id))


def _edit(story: Story, device: str, doc_id: str, update, token: str | None) -> None:
    if story.local(device, doc_id) is None:
        return  # deleted on this device
    try:
        change(story.devices[device], doc_id, update)
    except (FieldWorkError, DocumentInvalid):
        return  # a final note, nothing to do, too long: the device refuses, writes nothing
    if token:
        story.marks.append(Mark(token, doc_id, device))


OPERATIONS = {
    "append_discussion": lambda s, d: op_append(s, d, "note", "discussion"),
    "rewrite_discussion": lambda s, d: op_rewrite_sentence(s, d, "note", "discussion"),
    "append_client_view": lambda s, d: op_append(s, d, "note", "client_view"),
    "add_action": op_add_action,
    "edit_action": op_edit_action,
    "remove_action": op_remove_action,
    "review_comment": op_review_comment,
    "participant": op_participant,
    "location": lambda s, d: op_location(s, d, "visit"),
    "location2": lambda s, d: op_location(s, d, "visit2"),
    "finalise": op_finalise,
    "delete_visit": lambda s, d: op_delete(s, d, "visit"),
    "delete_visit2": lambda s, d: op_delete(s, d, "visit2"),
    "push": lambda s, d: _sync(s, d, "push"),
    "pull": lambda s, d: _sync(s, d, "pull"),
}


def _sync(story: Story, device: str, how: str) -> None:
    result = getattr(story.devices[device], how)()
    assert result.errors == [], [(e.id, e.error, e.reason) for e in result.errors]


# ---------------------------------------------------------------- the property

steps = st.lists(
    st.tuples(st.sampled_from(DEVICES), st.sampled_from(sorted(OPERATIONS))),
    min_size=6,
    max_size=24,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps, seed=st.integers(0, 2**16))
def test_random_stale_histories_through_the_gateway_lose_nothing(world, history, seed):
    org, devices = world
    story = _new_story(org, devices, seed)
    for device, name in history:
        OPERATIONS[name](story, device)
    _converge(story)
    server = _server_docs(story)
    _replicas_identical(story, server)
    _every_edit_present(story, server)
    _deletions_accounted_for(story, server)


def _new_story(org, devices, seed: int) -> Story:
    rng = random.Random(seed)
    label = f"case-{seed}-{new_id()[:6]}"
    case = org.case(label, "aino", "bertil", notes=0)
    author = org.workers["aino"]
    note = note_doc(rng, case, author)
    note.update(state="draft", discussion="Alku. Keski. Loppu.", agreed_actions=[])
    for key in ("finalised_by", "finalised_at"):
        note.pop(key, None)
    visits = [visit_doc(case, author, datetime(2026, 11, 23, 9 + n, tzinfo=UTC)) for n in range(2)]
    assert all(r["ok"] for r in org.site.records.write(case, [note, *visits]))
    for dev in devices.values():
        dev.pull()
    docs = {"note": note["_id"], "visit": visits[0]["_id"], "visit2": visits[1]["_id"]}
    return Story(org, devices, case, docs, rng)


def _converge(story: Story) -> None:
    for _ in range(ROUNDS_TO_CONVERGE):
        moved = 0
        for name in story.rng.sample(DEVICES, len(DEVICES)):
            pushed, pulled = story.devices[name].sync()
            assert pushed.errors == [], [(e.id, e.error, e.reason) for e in pushed.errors]
            moved += pushed.docs_written + pulled.docs_written
        if not moved:
            return
    raise AssertionError("the devices never stopped exchanging revisions")


def _server_docs(story: Story) -> dict[str, dict]:
    db = story.org.site.store.database(database_name(story.case))
    out = {}
    for row in db.all_docs(include_docs=True)["rows"]:
        if "ciphertext" in row["doc"]:
            out[row["id"]] = story.org.site.records.read(story.case, row["id"])
            assert "_conflicts" not in db.get(row["id"], conflicts=True)
    return out


def _replicas_identical(story: Story, server: dict[str, dict]) -> None:
    want = {i: json.dumps(d, sort_keys=True) for i, d in server.items()}
    for name, dev in story.devices.items():
        have = {}
        for row in dev.db.all_docs(include_docs=True)["rows"]:
            if row["doc"].get("case_id") == story.case and "ciphertext" in row["doc"]:
                have[row["id"]] = json.dumps(dev.read(row["id"]), sort_keys=True)
        assert have == want, name


def _every_edit_present(story: Story, server: dict[str, dict]) -> None:
    for mark in story.marks:
        if mark.superseded:
            continue
        doc = server.get(mark.doc_id)
        amendments = [d for d in server.values() if d.get("amends") == mark.doc_id]
        text = json.dumps([doc, *amendments], ensure_ascii=False)
        assert mark.token in text, f"{mark.token} by {mark.device} lost in {mark.doc_id}"


def _deletions_accounted_for(story: Story, server: dict[str, dict]) -> None:
    for device, doc_id in story.deletions:
        doc = server.get(doc_id)
        if doc is None:
            continue  # deleted, and every mark that was lost with it was the deleter's to drop
        worker = story.devices[device].state()["worker_id"]
        items = [
            i
            for i in doc.get("reconciliation") or []
            if i["kind"] == "deleted_edited" and worker in (i["ours_by"], i["theirs_by"])
        ]
        assert items, f"the deletion of {doc_id} by {device} left no trace"
