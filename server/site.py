"""The composition root: one `Site` wires the store, the directory and the services.

The Flask app, the CLI and the tests all build a Site the same way, so there is one
place that knows how the parts fit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync.store import Store, open_store

from .access_log import AccessLog
from .audit import AuditLog
from .casework.cases import Cases, Casework
from .casework.deletions import Deletions
from .casework.families import Families
from .casework.note_states import NoteStates
from .casework.quarantine import Quarantine
from .casework.reconciliation import Reconciliation
from .casework.records import Records
from .config import Config
from .directory import Directory
from .gateway.heads import Heads
from .keys.kek import KekRing
from .keys.keyrings import Keyrings
from .keys.service import KeyService
from .people.accounts import Accounts
from .people.devices import Devices


@dataclass
class Site:
    store: Store
    directory: Directory
    audit: AuditLog
    accounts: Accounts
    keys: KeyService
    keyrings: Keyrings
    devices: Devices
    cases: Cases
    records: Records
    quarantine: Quarantine
    heads: Heads
    reconciliation: Reconciliation
    access_log: AccessLog
    casework: Casework
    families: Families
    deletions: Deletions
    notes: NoteStates

    @classmethod
    def open(
        cls, store_url: str, directory_path: Path | str, keks: KekRing, **store_options
    ) -> Site:
        """A Site on the store at `store_url` (see `sync.store.open_store`)."""
        return cls.build(open_store(store_url, **store_options), directory_path, keks)

    @classmethod
    def for_config(cls, config: Config, keks: KekRing) -> Site:
        """The Site a configuration describes (the app and the CLI both open it so)."""
        return cls.open(
            config.store_url, config.directory, keks, max_document_size=config.max_document_size
        )

    @classmethod
    def build(cls, store: Store, directory_path: Path | str, keks: KekRing) -> Site:
        directory = Directory(directory_path)
        audit = AuditLog(directory)
        keys = KeyService(directory, keks, audit)
        heads = Heads(directory)
        cases = Cases(directory, store, keys, audit)
        notes = NoteStates(directory, store, keys)
        records = Records(store, keys, heads, notes)
        access_log = AccessLog(directory)
        casework = Casework(cases, records, access_log, directory)
        return cls(
            store=store,
            directory=directory,
            audit=audit,
            accounts=Accounts(directory, audit),
            keys=keys,
            keyrings=Keyrings(directory, keys),
            devices=Devices(directory, keys, audit),
            cases=cases,
            records=records,
            quarantine=Quarantine(directory),
            heads=heads,
            reconciliation=Reconciliation(directory),
            access_log=access_log,
            casework=casework,
            families=Families(directory, cases, casework, records, access_log, audit),
            deletions=Deletions(directory),
            notes=notes,
        )

    def close(self) -> None:
        self.store.close()
        self.directory.close()
