"""Device-side views: the access events a device pushes become `view` rows of the
access log, and nothing else.

An event is not stored in its case database (it would travel to every device of the
case and grow every bundle for ever, and the access log already is the legal record):
the gateway opens it, asks `legal.device_views` whether the device may claim it, and
writes one access log row (`at` the upload time, `device_at` the device's time) and
one `access_events` row (its id and revision) in one transaction. That row makes a
re-sent event a no-op, lets `_revs_diff` answer that the server has it (so replicators
stop sending it), and refuses every later revision or deletion under its id
(docs/adr/013-device-side-views.md). Refusals are per document, like every push.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.revisions import next_rev

from ..directory.base import utcnow
from ..legal import device_views as rules
from ..site import Site
from .push import PushChecker, Rejected, rejection

DOC_TYPE = "access_event"


class DeviceViews:
    def __init__(self, site: Site, held: Callable[[dict, set[str]], set[str]]):
        self.site = site
        self.held = held  # (device, case ids) → those the device held (the gateway's rule)

    def recorded(self, doc_ids: list[str]) -> dict[str, dict]:
        """event id → its `access_events` row, for the ids that name accepted events."""
        out: dict[str, dict] = {}
        ids = [i for i in doc_ids if isinstance(i, str)]
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            rows = self.site.directory.query(
                f"SELECT * FROM access_events WHERE event_id IN ({marks})", tuple(chunk)
            )
            out.update((row["event_id"], dict(row)) for row in rows)
        return out

    def known_revs(self, device: dict, doc_ids: list[str]) -> dict[str, str]:
        """event id → accepted revision, of this device's events among `doc_ids` (for
        `_revs_diff`: another device's event id is answered as any unknown id)."""
        return {
            event_id: row["rev"]
            for event_id, row in self.recorded(doc_ids).items()
            if row["device_id"] == device["id"]
        }

    @staticmethod
    def concerns(doc: object, recorded: dict[str, dict]) -> bool:
        """Is this pushed document an access event, or anything under an event's id?"""
        if not isinstance(doc, dict):
            return False
        doc_id = doc.get("_id")
        return doc.get("doc_type") == DOC_TYPE or (isinstance(doc_id, str) and doc_id in recorded)

    def push(
        self,
        device: dict,
        pushed: list[tuple[int, dict]],
        checker: PushChecker,
        new_edits: bool,
        recorded: dict[str, dict],
        results: list,
    ) -> None:
        """Answer every (position, document) of `pushed` in `results`: accepted events
        are logged, every other one refused on its own."""
        for position, doc in pushed:
            try:
                results[position] = self._take(device, doc, checker, new_edits, recorded)
            except Rejected as exc:
                results[position] = rejection(doc.get("_id"), exc)

    def _take(self, device, doc: dict, checker, new_edits: bool, recorded) -> dict:
        event_id = doc["_id"] if isinstance(doc.get("_id"), str) else None
        previous = recorded.get(event_id, {}).get("rev")
        if doc.get("_deleted") and "ciphertext" not in doc:
            _raise(rules.edit_refusal(event_id, previous))
            raise Rejected("unknown_document", f"there is no document {event_id} to delete")
        envelope, event = checker.sealed(doc, new_edits)
        rev, first = self._revision(doc, new_edits)
        if event["type"] != DOC_TYPE:
            _raise(rules.edit_refusal(event_id, previous))
            raise Rejected("type_changed", "an access event's envelope holds another type")
        case_id = envelope["case_id"]
        facts = self._facts(device, case_id, event, previous)
        if not rules.again(rev, facts):
            _raise(rules.refusal(event, case_id, rev, first, facts))
            self._log(device, case_id, event, rev)
        recorded[event_id] = {"rev": rev, "device_id": device["id"]}
        return {"id": event_id, "rev": rev, "ok": True}

    def _facts(self, device: dict, case_id: str, event: dict, previous: str | None):
        """What the directory knows about the event's claims, for `rules.refusal`."""
        doc_cases = self.site.heads.case_of([event["_id"], *event["doc_ids"]])
        return rules.Facts(
            worker_id=device["worker_id"],
            device_id=device["id"],
            held=case_id in self.held(device, {case_id}),
            doc_cases=doc_cases,
            recorded_rev=previous,
            is_document=event["_id"] in doc_cases,
        )

    @staticmethod
    def _revision(doc: dict, new_edits: bool) -> tuple[str, bool]:
        """The event's revision, and whether it is a first one: as replicated, or what a
        store would give a new edit (deterministic, so the same event sent twice gets
        the same revision)."""
        if not new_edits:
            if not isinstance(doc.get("_rev"), str):
                raise Rejected("bad_request", "a replicated document carries its _rev")
            return doc["_rev"], rules.first_revision(doc["_rev"], doc.get("_revisions"))
        parent = doc.get("_rev")
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        return next_rev(parent, False, body), parent is None

    def _log(self, device: dict, case_id: str, event: dict, rev: str) -> None:
        """One `view` row and the event's id, together (a concurrent copy adds neither)."""
        with self.site.directory.transaction() as con:
            if con.execute(
                "SELECT 1 FROM access_events WHERE event_id = ?", (event["_id"],)
            ).fetchone():
                return
            entry = self.site.access_log.record(
                device["worker_id"],
                case_id,
                event["doc_ids"],
                "view",
                device["id"],
                con,
                device_at=event["viewed_at"],
            )
            con.execute(
                "INSERT INTO access_events"
                " (event_id, rev, device_id, case_id, access_seq, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (event["_id"], rev, device["id"], case_id, entry.seq, utcnow()),
            )


def _raise(refusal: rules.Refusal | None) -> None:
    if refusal is not None:
        raise Rejected(refusal.code, refusal.reason)
