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
from .casework.access_reports import AccessReports
from .casework.case_file import CaseFiles
from .casework.cases import Cases, Casework
from .casework.consents import Consents
from .casework.deletions import Deletions
from .casework.families import Families
from .casework.note_states import NoteStates
from .casework.quarantine import Quarantine
from .casework.reconciliation import Reconciliation
from .casework.records import Records
from .casework.retention import Retention
from .config import Config
from .directory import Directory, open_directory
from .disclosure_log import Disclosures
from .gateway.heads import Heads
from .keys.kek import KekRing
from .keys.keyrings import Keyrings
from .keys.service import KeyService
from .legal import retention as retention_rules
from .people.accounts import Accounts
from .people.devices import Devices
from .reports.observations import Observations
from .reports.processing_times import ProcessingTimes


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
    consents: Consents
    disclosures: Disclosures
    access_reports: AccessReports
    retention: Retention
    observations: Observations
    processing_times: ProcessingTimes

    @classmethod
    def open(
        cls,
        store_url: str,
        directory_path: Path | str,
        keks: KekRing,
        retention: dict | None = None,
        **store_options,
    ) -> Site:
        """A Site on the store at `store_url` (see `sync.store.open_store`); `retention`
        is the configured table of retention periods (default: the statutory ones)."""
        return cls.build(open_store(store_url, **store_options), directory_path, keks, retention)

    @classmethod
    def for_config(cls, config: Config, keks: KekRing) -> Site:
        """The Site a configuration describes (the app and the CLI both open it so)."""
        return cls.open(
            config.store_url,
            config.directory,
            keks,
            config.retention,
            max_document_size=config.max_document_size,
        )

    @classmethod
    def build(
        cls, store: Store, directory_path: Path | str, keks: KekRing, retention: dict | None = None
    ) -> Site:
        directory = open_directory(directory_path)
        audit = AuditLog(directory)
        keys = KeyService(directory, keks, audit)
        heads = Heads(directory)
        cases = Cases(directory, store, keys, audit)
        notes = NoteStates(directory, store, keys)
        records = Records(store, keys, heads, notes)
        access_log = AccessLog(directory)
        casework = Casework(cases, records, access_log, directory)
        keyrings = Keyrings(directory, keys)
        accounts = Accounts(directory, audit)
        disclosures = Disclosures(directory, records, audit)
        deletions = Deletions(directory)
        return cls(
            store=store,
            directory=directory,
            audit=audit,
            accounts=accounts,
            keys=keys,
            keyrings=keyrings,
            devices=Devices(directory, keys, audit),
            cases=cases,
            records=records,
            quarantine=Quarantine(directory),
            heads=heads,
            reconciliation=Reconciliation(directory),
            access_log=access_log,
            casework=casework,
            families=Families(directory, cases, casework, records, access_log, audit),
            deletions=deletions,
            notes=notes,
            consents=Consents(cases, records, audit),
            disclosures=disclosures,
            access_reports=AccessReports(
                cases, CaseFiles(store, keys, deletions), access_log, audit, disclosures, accounts
            ),
            retention=Retention(directory, keys, keyrings, audit, retention_rules.table(retention)),
            observations=Observations(directory, audit),
            processing_times=ProcessingTimes(
                directory, cases, CaseFiles(store, keys, deletions), access_log
            ),
        )

    def close(self) -> None:
        self.store.close()
        self.directory.close()
