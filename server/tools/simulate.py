"""A field-day simulator: instructors in pairs, offline edits, and no edit lost.

`simulate()` starts a real server on the embedded store in a temporary directory, on
127.0.0.1, creates instructors in pairs and families with cases, enrols reference
Python devices (`sync.device.Device`) over HTTP, and plays whole working days: visits
and notes written offline, the same note edited by a pair on two devices (different
sentences, the same sentence, one finalising while the other edits), ratings changed
on both devices, participants added, devices syncing in random orders, pushes cut off
midway and retried. At the end every device syncs until nothing moves.

Every edit carries a unique marker (`[T000042]` in a sentence, or a fresh item id), so
the simulator can check that DESIGN.md's promise holds: *no edit is ever lost or
silently hidden*. An edit counts as present when the server's winning revision of its
document holds it (in the body or in a `reconciliation` entry) or an amendment of the
document does. A loser revision hidden behind a CouchDB conflict does not count: that
is exactly the loss the server-side merge exists to prevent.

The devices do their field work with `fieldwork` (`new_note`, `change`, `finalise`,
...), the same helpers `sopu device` and `sopu demo` use. Nothing here logs plaintext.
"""

from __future__ import annotations

import contextlib
import json
import random
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from mobile_schema import CURRENT_VERSION
from sync.cases import database_name
from sync.crypto import CaseKey, open_envelope
from sync.device import Device
from sync.merge.text import sentences
from sync.remote import RemoteDatabase
from sync.store import Unavailable

from ..app import create_app
from ..config import Config
from ..keys.kek import KekRing, new_kek_line
from ..site import Site
from . import pairwork
from .demo_data import GIVEN, PHRASES, family_doc, new_id
from .fieldwork import case_documents, change, finalise, new_note, new_visit, stamp

ACTOR = "simulate"
PASSWORD = "simulated field day"
DEVICE_PIN = "2468"
FAST_SCRYPT = 2**10  # simulated devices only: unlocking a key must not dominate the run
ADDITIONS = [
    "ja asiasta sovittiin yhdessä",
    "vanhemmat olivat samaa mieltä",
    "och pappan höll med",
    "tätä seurataan seuraavalla käynnillä",
    "lapsi osallistui keskusteluun",
    "vi kom överens om nästa steg",
]
ACTIONS = [
    "Äiti soittaa neuvolaan",
    "Ohjaaja tuo kuvakortit",
    "Pappan kontaktar skolan",
    "Kokeillaan iltarutiinia viikon ajan",
]
MAX_ROUNDS = 8  # sync rounds at the end before giving up on quiescence
INTERRUPT_SHARE = 0.4  # pushes cut off in the evening


# ---------------------------------------------------------------- devices that lose the network


class SimDevice(Device):
    """A reference device whose next push can be cut off, with case keys cached."""

    def __init__(self, home: Path, name: str, worker: str):
        super().__init__(home, DEVICE_PIN, scrypt_n=FAST_SCRYPT)
        self.name = name
        self.worker = worker
        self.drop_next: str | None = None  # "midway" or "answer_lost"
        self._key_cache: dict[tuple[str, int], CaseKey] = {}

    def remote(self) -> RemoteDatabase:
        plain = super().remote()
        if self.drop_next is None:
            return plain
        mode, self.drop_next = self.drop_next, None
        return _Dropping(plain, mode)

    def case_key(self, case_id: str, version: int | None = None, rings=None) -> CaseKey:
        """Opening a sealed key is costly (HPKE); a key version never changes."""
        if version is None:
            return super().case_key(case_id, version, rings)
        if (case_id, version) not in self._key_cache:
            self._key_cache[(case_id, version)] = super().case_key(case_id, version, rings)
        return self._key_cache[(case_id, version)]

    def wipe(self) -> None:
        self._key_cache.clear()
        super().wipe()


class _Dropping(RemoteDatabase):
    """The device's remote, but the next `_bulk_docs` loses the connection: `midway`
    sends half the batch first, `answer_lost` sends it all and loses the answer."""

    def __init__(self, plain: RemoteDatabase, mode: str):
        super().__init__(plain.url, plain._token, plain.timeout, plain.http)
        self.mode: str | None = mode

    def bulk_docs(self, docs: list, new_edits: bool = True) -> list:
        mode, self.mode = self.mode, None
        if mode is None:
            return super().bulk_docs(docs, new_edits)
        sent = docs if mode == "answer_lost" else docs[: len(docs) // 2]
        if sent:
            super().bulk_docs(sent, new_edits)
        raise Unavailable(f"simulated network loss during a push ({mode})")


# ---------------------------------------------------------------- a server for a while


class _Quiet(WSGIRequestHandler):
    """No request log on the terminal: the simulator and the demo print their own story."""

    def log(self, *args) -> None:
        pass


@contextlib.contextmanager
def serving(app, host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, object]]:
    """Serve `app` from a background thread; yields (base URL, the werkzeug server)."""
    server = make_server(host, port, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}", server
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def temporary_server() -> Iterator[tuple[Site, str, Path]]:
    """A throwaway site (embedded store, fresh KEK in memory) served on 127.0.0.1."""
    with tempfile.TemporaryDirectory(prefix="sopu-simulate-") as tmp:
        root = Path(tmp)
        keks = KekRing.from_lines([new_kek_line()], "simulate")
        site = Site.open(f"sqlite:///{root / 'store'}", root / "directory.sqlite3", keks)
        try:
            app = create_app(Config(data_dir=root / "var", secret_key="simulate"), site=site)
            with serving(app) as (url, _server):
                yield site, url, root
        finally:
            site.close()


def server_documents(site: Site, case_id: str) -> dict[str, dict]:
    """The server's winning revision of every document of a case, decrypted."""
    rows = site.store.database(database_name(case_id)).all_docs(include_docs=True)["rows"]
    return {
        r["id"]: open_envelope(r["doc"], site.keys.lookup) for r in rows if "ciphertext" in r["doc"]
    }


# ---------------------------------------------------------------- what is tracked


@dataclass
class Edit:
    """One edit and its marker; `check` overrides the plain "marker is there" test."""

    token: str
    case_id: str
    doc_id: str
    what: str
    check: Callable[[dict | None, list[dict]], bool] | None = None
    deletion: bool = False  # the check also answers for a deleted document
    value_of: tuple[str, str] | None = None  # (doc, path) of a value this edit set
    day: int = 0

    def present(self, doc: dict | None, amendments: list[dict]) -> bool:
        if self.check is not None:
            return (doc is not None or self.deletion) and self.check(doc, amendments)
        found = [d for d in (doc, *amendments) if d is not None]
        return any(self.token in json.dumps(d, ensure_ascii=False) for d in found)


@dataclass
class Conflict:
    """A document edited on two devices in one offline stretch, and what it held before."""

    case_id: str
    doc_id: str
    entries_before: set[str]
    amendments_before: set[str]


@dataclass
class Report:
    edits_made: int = 0
    edits_present: int = 0
    edits_superseded: int = 0  # removed later by someone who had seen them
    deletions_kept: int = 0  # deletions an edit met: the document stays, with an item
    conflicts: int = 0
    auto_merged_conflicts: int = 0
    amended_conflicts: int = 0  # an edit that met a finalisation became an amendment
    unresolved_conflicts: int = 0
    reconciliation_items: int = 0
    amendments: int = 0
    replicas_identical: bool = False
    interruptions: int = 0
    refused: int = 0
    quiescent: bool = False
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def auto_merged(self) -> float:
        """Share of conflicts resolved with no reconciliation entry (an amendment made
        from an edit that met a finalisation needs none, so it counts as merged)."""
        return round(self.auto_merged_conflicts / self.conflicts, 3) if self.conflicts else 1.0

    def to_json(self) -> dict:
        return {
            "edits_made": self.edits_made,
            "edits_present": self.edits_present,
            "edits_superseded": self.edits_superseded,
            "deletions_kept": self.deletions_kept,
            "auto_merged": self.auto_merged,
            "reconciliation_items": self.reconciliation_items,
            "replicas_identical": self.replicas_identical,
            "conflicts": self.conflicts,
            "auto_merged_conflicts": self.auto_merged_conflicts,
            "amended_conflicts": self.amended_conflicts,
            "unresolved_conflicts": self.unresolved_conflicts,
            "amendments": self.amendments,
            "interruptions": self.interruptions,
            "refused": self.refused,
            "quiescent": self.quiescent,
            "seconds": self.seconds,
            "missing": self.missing[:20],
        }


# ---------------------------------------------------------------- the organisation


@dataclass
class Worker:
    username: str
    id: str
    devices: list[SimDevice] = field(default_factory=list)


@dataclass
class CaseWork:
    """A family's case worked by a pair, with its plan and today's visit and note."""

    case_id: str
    own: Worker
    pair: Worker
    plan_id: str
    goal_ids: list[str]
    assessment_id: str = ""
    child_id: str = ""
    visit_id: str = ""
    note_id: str = ""
    action_id: str = ""
    scratch_id: str = ""
    rating_id: str = ""
    rating_goal: str = ""


class Simulation:
    """The world of one run: the server, the people, their devices and what they did."""

    def __init__(self, site: Site, url: str, root: Path, seed: int, progress):
        self.site, self.url, self.root = site, url, root
        self.rng = random.Random(seed)
        self.progress = progress
        self.workers: list[Worker] = []
        self.cases: list[CaseWork] = []
        self.edits: list[Edit] = []
        self.conflicts: list[Conflict] = []
        self.report = Report()
        self._tokens = 0
        self._clock = datetime.now(UTC)
        self.day = 0

    # ------------------------------------------------------------ set-up

    def build(self, workers: int, families: int) -> None:
        """A team with a supervisor, instructors in pairs, cases, and enrolled devices."""
        team = self.site.accounts.create_team("Perhetyö Simulaatio", ACTOR)
        self.supervisor = self.site.accounts.create(
            "esihenkilo", "Sanna Esihenkilö", "supervisor", ACTOR, team_id=team, password=PASSWORD
        )
        self.workers = [self._hire(team, n) for n in range(workers)]
        pairs = self._pairs()
        for number in range(families):
            own, pair = pairs[number % len(pairs)]
            if number // len(pairs) % 2:
                own, pair = pair, own
            self.cases.append(self._open_case(team, own, pair))
        for worker in self.workers:
            for n in range(self.rng.choice((1, 2))):
                worker.devices.append(self._enrol(worker, n))
        self.progress(
            f"{len(self.workers)} workers in {len(pairs)} pairs, {len(self.cases)} cases, "
            f"{len(self.devices)} devices enrolled on {self.url}"
        )

    def _hire(self, team: str, n: int) -> Worker:
        name = f"ohjaaja{n + 1}"
        display = f"{GIVEN[n % len(GIVEN)]} Ohjaaja"
        worker_id = self.site.accounts.create(
            name, display, "worker", ACTOR, team_id=team, password=PASSWORD
        )
        return Worker(name, worker_id)

    def _pairs(self) -> list[tuple[Worker, Worker]]:
        """Workers two by two; an odd one out pairs with the first worker."""
        people = self.workers
        return [(people[i], people[(i + 1) % len(people)]) for i in range(0, len(people), 2)]

    def _open_case(self, team: str, own: Worker, pair: Worker) -> CaseWork:
        """A family with an active case, its pair of workers, and a client plan."""
        today = date.today()
        family = family_doc(self.rng, self.supervisor)
        details = {k: family[k] for k in ("display_name", "members")}
        first = {
            "service_task": "family_social_guidance",
            "pending_since": (today - timedelta(days=60)).isoformat(),
            "special_support_need": self.rng.random() < 0.3,
            "referral": {
                "source": self.rng.choice(["parent_self", "child_health_clinic", "daycare"]),
                "received_on": (today - timedelta(days=60)).isoformat(),
            },
        }
        work = self.site.casework
        _family, case_id = self.site.families.create(team, details, first, self.supervisor)
        work.change_status(case_id, "assessment", today - timedelta(days=50), self.supervisor)
        work.change_status(case_id, "active", today - timedelta(days=20), self.supervisor)
        work.assign(case_id, own.id, "own_worker", self.supervisor)
        work.assign(case_id, pair.id, "pair_worker", self.supervisor)
        plan = self._plan(case_id, own.id)
        assessment = self._assessment(case_id, own.id)
        for written in self.site.records.write(case_id, [plan, assessment]):
            if not written.get("ok"):
                raise RuntimeError(f"a document of case {case_id} was refused: {written}")
        child = next(m["id"] for m in details["members"] if m["role"] == "child")
        goals = [g["id"] for g in plan["goals"]]
        return CaseWork(case_id, own, pair, plan["_id"], goals, assessment["_id"], child)

    def _assessment(self, case_id: str, author: str) -> dict:
        at = stamp()
        return {
            "_id": new_id(),
            "type": "assessment",
            "schema_version": CURRENT_VERSION,
            "case_id": case_id,
            "started_on": (date.today() - timedelta(days=50)).isoformat(),
            "client_view": "Äiti toivoo apua iltoihin.",
            "created_at": at,
            "created_by": author,
            "updated_at": at,
            "updated_by": author,
        }

    def _plan(self, case_id: str, author: str) -> dict:
        today = date.today()
        goals = [
            ("Rauhallisemmat illat", "Haluan, että ilta ei ole taistelua."),
            ("Aamut päiväkotiin sujuvat", "Vi vill komma i tid till daghemmet."),
        ]
        at = stamp()
        return {
            "_id": new_id(),
            "type": "plan",
            "schema_version": CURRENT_VERSION,
            "case_id": case_id,
            "drawn_up_on": (today - timedelta(days=20)).isoformat(),
            "review_on": (today + timedelta(days=70)).isoformat(),
            "goals": [
                {"id": new_id(), "title": title, "parent_view": view, "ratings": []}
                for title, view in goals
            ],
            "created_at": at,
            "created_by": author,
            "updated_at": at,
            "updated_by": author,
        }

    def _enrol(self, worker: Worker, n: int) -> SimDevice:
        name = f"{worker.username}-{'phone' if n == 0 else 'tablet'}"
        device = SimDevice(self.root / "devices" / name, name, worker.username)
        kem = self.rng.choice(("x25519", "mlkem768-x25519"))
        device.enrol(self.url, worker.username, PASSWORD, label=name, kem=kem)
        return device

    @property
    def devices(self) -> list[SimDevice]:
        return [d for w in self.workers for d in w.devices]

    # ------------------------------------------------------------ markers and clock

    def token(self) -> str:
        self._tokens += 1
        return f"T{self._tokens:06d}"

    def tick(self) -> str:
        """Simulated time: every edit a few seconds after the previous one."""
        self._clock += timedelta(seconds=self.rng.randint(1, 30))
        return stamp(self._clock)

    def track(
        self,
        case: CaseWork,
        doc_id: str,
        what: str,
        token: str,
        check=None,
        deletion=False,
        value_of: tuple[str, str] | None = None,
    ) -> None:
        """Remember an edit to look for at the end. Setting a value again on a later day
        (after everyone has synced and seen the old one) supersedes the old value."""
        if value_of is not None:
            self.supersede(lambda e: e.value_of == value_of and e.day < self.day)
        edit = Edit(token, case.case_id, doc_id, what, check, deletion, value_of, self.day)
        self.edits.append(edit)

    def supersede(self, gone: Callable[[Edit], bool]) -> None:
        """Edits a later edit removed with the device that made it seeing them (a note
        it deleted, a value it overwrote): they are not looked for, only counted."""
        kept = [e for e in self.edits if not gone(e)]
        self.report.edits_superseded += len(self.edits) - len(kept)
        self.edits = kept

    def worker_of(self, device: SimDevice) -> str:
        return device.state()["worker_id"]

    def sentence(self, case: CaseWork, doc_id: str, what: str) -> str:
        token = self.token()
        self.track(case, doc_id, what, token)
        return f"{self.rng.choice(PHRASES)} [{token}]."

    def amended(self, case: CaseWork, doc_id: str, old: str, what: str) -> str:
        """`old` with an addition and a new marker; its own markers stay."""
        token = self.token()
        self.track(case, doc_id, what, token)
        addition = self.rng.choice(ADDITIONS)
        core = old.rstrip()
        space = old[len(core) :]
        head, bracket, tail = core.rpartition(" [")
        if not bracket:
            return f"{core.rstrip('.')}, {addition} [{token}].{space}"
        return f"{head}, {addition} [{tail.rstrip('.').rstrip(']')} {token}].{space}"

    # ------------------------------------------------------------ the days

    def run(self, days: int) -> None:
        first = datetime.now(UTC).date() - timedelta(days=days)
        for day in range(days):
            self.day = day
            when = first + timedelta(days=day)
            self._clock = datetime(when.year, when.month, when.day, 7, 30, tzinfo=UTC)
            self.progress(f"day {day + 1}/{days} ({when}): morning sync")
            self.converge()
            self.morning(when)
            self.progress(f"day {day + 1}/{days}: midday sync")
            self.converge()
            before = self._before()
            self._clock = datetime(when.year, when.month, when.day, 12, 30, tzinfo=UTC)
            touched = self.afternoon()
            self.progress(f"day {day + 1}/{days}: evening sync in random order")
            self.evening()
            self.report.quiescent = self.converge()
            self._score(touched, before)

    def morning(self, when: date) -> None:
        """The own worker plans a visit, writes a note and a rating (offline)."""
        for case in self.cases:
            device = self.rng.choice(case.own.devices)
            starts = datetime(when.year, when.month, when.day, 9, tzinfo=UTC)
            kind = self.rng.choice(("home", "daycare", "office"))
            visit = new_visit(
                device, case.case_id, kind, stamp(starts), (case.pair.id,), at=self.tick()
            )
            self.track(case, visit["_id"], "visit planned", visit["_id"])
            case.visit_id = visit["_id"]
            case.note_id = new_id()
            text = " ".join(self.sentence(case, case.note_id, "note written") for _ in range(3))
            new_note(device, case.case_id, text, visit["_id"], self.tick(), case.note_id)
            self._agree_action(device, case)
            case.scratch_id = new_id()
            scratch = self.sentence(case, case.scratch_id, "scratch note written")
            new_note(device, case.case_id, scratch, None, self.tick(), case.scratch_id)
            self._add_rating(device, case, when)

    def _agree_action(self, device: SimDevice, case: CaseWork) -> None:
        token = self.token()
        case.action_id = new_id()
        action = {"id": case.action_id, "text": f"{self.rng.choice(ACTIONS)} [{token}]."}
        self.track(case, case.note_id, "agreed action written", token)
        change(device, case.note_id, lambda note: note.update(agreed_actions=[action]), self.tick())

    def _add_rating(self, device: SimDevice, case: CaseWork, when: date) -> None:
        case.rating_goal = self.rng.choice(case.goal_ids)
        case.rating_id = new_id()
        rating = {
            "id": case.rating_id,
            "rated_on": when.isoformat(),
            "value": self.rng.randint(2, 5),
            "rated_by": "parent",
        }
        self.track(case, case.plan_id, "rating added", case.rating_id)

        def add(plan: dict) -> None:
            _goal(plan, case.rating_goal)["ratings"].append(rating)

        change(device, case.plan_id, add, at=self.tick())

    def afternoon(self) -> dict[str, set[str]]:
        """Pair work, offline: both workers edit the same documents on their devices,
        every kind of field, and one deletes a note the other may be editing. Then, for
        one or two more stretches, one device of each pair syncs and both keep writing:
        the other one on leaves the server has merged since."""
        touched: dict[str, set[str]] = defaultdict(set)
        pairs = {}
        for case in self.cases:
            a = self.rng.choice(case.own.devices)
            b = self.rng.choice(case.pair.devices)
            pairs[case.case_id] = a, b
            scenario = self.rng.choice(NOTE_SCENARIOS)
            steps = [*scenario(self, case, a, b), *self._plan_work(case, a, b)]
            steps += self._visit_work(case, a, b)
            steps += pairwork.field_work(self, case, a, b) + pairwork.deletion(self, case, a, b)
            self._play(steps, touched)
        for _ in range(self.rng.randint(1, 2)):
            for case in self.cases:
                a, b = pairs[case.case_id]
                self._count_all(self.rng.choice((a, b)).sync())
                self._play(pairwork.stale_round(self, case, a, b), touched)
        return touched

    def _play(self, steps: list, touched: dict[str, set[str]]) -> None:
        self.rng.shuffle(steps)  # the two devices interleave in time
        for device, doc_id, step in steps:
            step()
            touched[doc_id].add(device.name)

    def _count_all(self, results) -> None:
        for result in results:
            self._count(result)

    def _plan_work(self, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
        """Both change today's rating (a real collision), or one rates and one writes."""
        old = _rating(a.read(case.plan_id), case.rating_id)
        values = self.rng.sample([v for v in range(11) if v != old], 2)
        steps = [(a, case.plan_id, self._rate(a, case, values[0]))]
        if self.rng.random() < 0.6:
            steps.append((b, case.plan_id, self._rate(b, case, values[1])))
        else:
            steps.append((b, case.plan_id, self._worker_view(b, case)))
        return steps

    def _rate(self, device: SimDevice, case: CaseWork, value: int):
        rating_id, goal_id = case.rating_id, case.rating_goal

        def check(doc: dict, _amendments: list[dict]) -> bool:
            if _rating(doc, rating_id) == value:
                return True
            return any(
                rating_id in e.get("path", "") and value in _json_values(e)
                for e in doc.get("reconciliation") or []
            )

        self.track(case, case.plan_id, "rating changed", f"{rating_id}={value}", check)

        def rate(plan: dict) -> None:
            for rating in _goal(plan, goal_id)["ratings"]:
                if rating["id"] == rating_id:
                    rating["value"] = value

        return lambda: change(device, case.plan_id, rate, at=self.tick())

    def _worker_view(self, device: SimDevice, case: CaseWork):
        goal_id = self.rng.choice(case.goal_ids)
        text = self.sentence(case, case.plan_id, "worker view written")

        def write(plan: dict) -> None:
            goal = _goal(plan, goal_id)
            goal["worker_view"] = f"{goal.get('worker_view') or ''} {text}".strip()

        return lambda: change(device, case.plan_id, write, at=self.tick())

    def _visit_work(self, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
        """Both add a participant (an interpreter, daycare staff); one marks it done."""
        steps = []
        for device, who in ((a, "Tulkki"), (b, "Päiväkodin opettaja")):
            steps.append((device, case.visit_id, self._participant(device, case, who)))
        if self.rng.random() < 0.5:

            def done(visit: dict) -> None:
                visit["status"] = "done"

            self.track(
                case, case.visit_id, "visit done", "done", lambda d, _a: d["status"] == "done"
            )
            steps.append((a, case.visit_id, lambda: change(a, case.visit_id, done, self.tick())))
        return steps

    def _participant(self, device: SimDevice, case: CaseWork, role: str):
        person = {
            "id": new_id(),
            "kind": "external",
            "name": f"{self.rng.choice(GIVEN)} Mäkinen",
            "role": role,
        }
        if role == "Tulkki":
            person.update(interpreter=True, language="ar")
        self.track(case, case.visit_id, "participant added", person["id"])

        def add(visit: dict) -> None:
            visit["participants"].append(person)

        return lambda: change(device, case.visit_id, add, at=self.tick())

    def evening(self) -> None:
        """Every device pushes and pulls, in a random order; some pushes are cut off
        and retried later."""
        ops = deque((d, op) for d in self.devices for op in ("push", "pull"))
        self.rng.shuffle(ops)
        retries = 0
        while ops:
            device, op = ops.popleft()
            if op == "push" and self.rng.random() < INTERRUPT_SHARE:
                device.drop_next = self.rng.choice(("midway", "answer_lost"))
            try:
                self._count(getattr(device, op)())
            except Unavailable:
                self.report.interruptions += 1
                retries += 1
                ops.append((device, "push"))
                if retries > 3 * len(self.devices):
                    raise
            finally:
                device.drop_next = None

    def converge(self) -> bool:
        """Sync every device, in random order, until a whole round moves nothing."""
        for _ in range(MAX_ROUNDS):
            moved = 0
            for device in self.rng.sample(self.devices, len(self.devices)):
                for result in device.sync():
                    moved += result.docs_written
                    self._count(result)
            if moved == 0:
                return True
        return False

    def _count(self, result) -> None:
        self.report.refused += len(result.errors)

    # ------------------------------------------------------------ scoring

    def _before(self) -> dict[str, tuple[set[str], set[str]]]:
        """For every document: its reconciliation entry ids and its amendments, now."""
        out = {}
        for case in self.cases:
            docs = server_documents(self.site, case.case_id)
            for doc_id, doc in docs.items():
                out[doc_id] = (_entry_ids(doc), _amendment_ids(docs, doc_id))
        return out

    def _score(self, touched: dict[str, set[str]], before: dict) -> None:
        for case in self.cases:
            docs = server_documents(self.site, case.case_id)
            for doc_id in docs:
                if len(touched.get(doc_id, ())) < 2:
                    continue
                entries, amendments = before.get(doc_id, (set(), set()))
                self._score_one(case, docs, Conflict(case.case_id, doc_id, entries, amendments))

    def _score_one(self, case: CaseWork, docs: dict, conflict: Conflict) -> None:
        self.conflicts.append(conflict)
        self.report.conflicts += 1
        db = self.site.store.database(database_name(case.case_id))
        if db.get(conflict.doc_id, conflicts=True).get("_conflicts"):
            self.report.unresolved_conflicts += 1
            return
        new_entries = _entry_ids(docs[conflict.doc_id]) - conflict.entries_before
        for amendment in _amendment_ids(docs, conflict.doc_id) - conflict.amendments_before:
            self.report.amended_conflicts += 1
            new_entries |= _entry_ids(docs[amendment])
        if not new_entries:
            self.report.auto_merged_conflicts += 1

    def finish(self) -> Report:
        """Count present edits, open reconciliation items, and compare every replica."""
        report = self.report
        by_case = {c.case_id: server_documents(self.site, c.case_id) for c in self.cases}
        for edit in self.edits:
            docs = by_case[edit.case_id]
            amendments = [d for d in docs.values() if d.get("amends") == edit.doc_id]
            report.edits_made += 1
            if edit.present(docs.get(edit.doc_id), amendments):
                report.edits_present += 1
            else:
                report.missing.append(f"{edit.what} {edit.token} in {edit.doc_id[:8]}")
        docs = [d for case_docs in by_case.values() for d in case_docs.values()]
        report.reconciliation_items = sum(len(d.get("reconciliation") or []) for d in docs)
        report.deletions_kept = sum(
            1 for d in docs for i in d.get("reconciliation") or [] if i["kind"] == "deleted_edited"
        )
        report.amendments = sum(1 for d in docs if d.get("kind") == "amendment")
        report.replicas_identical = self._replicas_identical(by_case)
        return report

    def _replicas_identical(self, by_case: dict[str, dict[str, dict]]) -> bool:
        for case in self.cases:
            server = _versions(by_case[case.case_id].values())
            for worker in (case.own, case.pair):
                for device in worker.devices:
                    local = _versions(case_documents(device).get(case.case_id, []))
                    if local != server:
                        self.report.mismatches.append(f"{device.name} case {case.case_id[:8]}")
        return not self.report.mismatches

    def close(self) -> None:
        for device in self.devices:
            device.close()


def _goal(plan: dict, goal_id: str) -> dict:
    return next(g for g in plan["goals"] if g["id"] == goal_id)


def _rating(plan: dict, rating_id: str) -> int | None:
    for goal in plan.get("goals", []):
        for rating in goal.get("ratings", []):
            if rating["id"] == rating_id:
                return rating["value"]
    return None


def _json_values(entry: dict) -> list:
    values = []
    for side in ("ours", "theirs"):
        with contextlib.suppress(TypeError, ValueError):
            values.append(json.loads(entry.get(side)))
    return values


def _entry_ids(doc: dict) -> set[str]:
    return {e["id"] for e in doc.get("reconciliation") or []}


def _amendment_ids(docs: dict[str, dict], doc_id: str) -> set[str]:
    return {i for i, d in docs.items() if d.get("amends") == doc_id}


def _versions(docs) -> dict[str, tuple[str, str]]:
    """id → (winning revision, canonical body) for comparing replicas."""
    return {d["_id"]: (d.get("_rev"), json.dumps(d, sort_keys=True)) for d in docs}


# ---------------------------------------------------------------- pair-work scenarios
# Each returns steps (device, doc id, do-it) on the day's note; the caller shuffles them.


def _edit_sentence(sim: Simulation, case: CaseWork, device: SimDevice, index: int, what: str):
    def update(note: dict) -> None:
        parts = sentences(note.get("discussion") or "")
        i = index if index >= 0 else len(parts) + index
        i = min(max(i, 0), len(parts) - 1)
        parts[i] = sim.amended(case, case.note_id, parts[i], what)
        note["discussion"] = "".join(parts)

    return lambda: change(device, case.note_id, update, at=sim.tick())


def _append_sentence(sim: Simulation, case: CaseWork, device: SimDevice, key: str = "discussion"):
    text = sim.sentence(case, case.note_id, f"{key} appended")

    def update(note: dict) -> None:
        note[key] = f"{(note.get(key) or '').rstrip()} {text}".strip()

    return lambda: change(device, case.note_id, update, at=sim.tick())


def _add_action(sim: Simulation, case: CaseWork, device: SimDevice):
    token = sim.token()
    sim.track(case, case.note_id, "agreed action added", token)
    action = {"id": new_id(), "text": f"{sim.rng.choice(ACTIONS)} [{token}]."}

    def update(note: dict) -> None:
        note.setdefault("agreed_actions", []).append(action)

    return lambda: change(device, case.note_id, update, at=sim.tick())


def _finalise(sim: Simulation, case: CaseWork, device: SimDevice):
    sim.track(
        case, case.note_id, "note finalised", "final", lambda d, _a: d.get("state") == "final"
    )
    return lambda: finalise(device, case.note_id, at=sim.tick())


def different_sentences(sim: Simulation, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
    return [
        (a, case.note_id, _edit_sentence(sim, case, a, 0, "first sentence edited")),
        (b, case.note_id, _edit_sentence(sim, case, b, -1, "last sentence edited")),
    ]


def same_sentence(sim: Simulation, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
    return [
        (a, case.note_id, _edit_sentence(sim, case, a, 1, "same sentence edited")),
        (b, case.note_id, _edit_sentence(sim, case, b, 1, "same sentence edited")),
    ]


def finalised_while_edited(sim: Simulation, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
    """One instructor finalises the note while the other is still editing it."""
    return [
        (b, case.note_id, _edit_sentence(sim, case, b, 1, "edited while finalised")),
        (a, case.note_id, _finalise(sim, case, a)),
    ]


def both_append(sim: Simulation, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
    return [
        (a, case.note_id, _append_sentence(sim, case, a)),
        (b, case.note_id, _append_sentence(sim, case, b)),
        (b, case.note_id, _append_sentence(sim, case, b, "client_view")),
    ]


def actions_and_views(sim: Simulation, case: CaseWork, a: SimDevice, b: SimDevice) -> list:
    return [
        (a, case.note_id, _add_action(sim, case, a)),
        (b, case.note_id, _add_action(sim, case, b)),
        (a, case.note_id, _edit_sentence(sim, case, a, 2, "sentence edited")),
        (b, case.note_id, _append_sentence(sim, case, b, "client_view")),
    ]


NOTE_SCENARIOS = [
    different_sentences,
    same_sentence,
    finalised_while_edited,
    both_append,
    actions_and_views,
]


# ---------------------------------------------------------------- the entry point


def simulate(
    workers: int, families: int, days: int, seed: int, progress: Callable[[str], None]
) -> Report:
    """Run the whole simulation on a throwaway server and return its report."""
    started = time.monotonic()
    with temporary_server() as (site, url, root):
        sim = Simulation(site, url, root, seed, progress)
        try:
            sim.build(workers, families)
            sim.run(days)
            progress("checking every edit and every replica")
            report = sim.finish()
        finally:
            sim.close()
    report.seconds = round(time.monotonic() - started, 1)
    return report
