"""Schema of the directory, as an ordered list of migrations (never edit a shipped one)."""

MIGRATIONS: list[str] = [
    # 1: keys, devices, families, cases, assignments, audit log, quarantine, access log
    """
    CREATE TABLE workers (
        id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),
        team_id TEXT, password_hash TEXT, active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE devices (
        id TEXT PRIMARY KEY, worker_id TEXT NOT NULL REFERENCES workers(id),
        label TEXT NOT NULL, kem TEXT NOT NULL, public_key TEXT NOT NULL,
        enrolled_at TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT, revoke_reason TEXT
    );
    CREATE INDEX devices_by_worker ON devices (worker_id);
    CREATE TABLE cases (
        id TEXT PRIMARY KEY, family_id TEXT NOT NULL, team_id TEXT,
        status TEXT NOT NULL, created_at TEXT NOT NULL, closed_on TEXT, shredded_at TEXT,
        service_task TEXT, status_since TEXT, family_doc_id TEXT, retention_starts_on TEXT
    );
    CREATE INDEX cases_by_family ON cases (family_id);
    CREATE INDEX cases_by_team ON cases (team_id);
    CREATE TABLE families (id TEXT PRIMARY KEY, team_id TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE assignments (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases(id),
        worker_id TEXT NOT NULL REFERENCES workers(id),
        role TEXT NOT NULL CHECK (role IN ('own_worker', 'pair_worker', 'substitute')),
        start_date TEXT NOT NULL, end_date TEXT, ended_at TEXT
    );
    CREATE INDEX assignments_by_worker ON assignments (worker_id);
    CREATE INDEX assignments_by_case ON assignments (case_id);
    CREATE TABLE case_keys (
        case_id TEXT NOT NULL, version INTEGER NOT NULL, kek_id TEXT NOT NULL,
        wrapped BLOB NOT NULL, created_at TEXT NOT NULL, reason TEXT NOT NULL,
        PRIMARY KEY (case_id, version)
    );
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        subject TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE keyrings (
        device_id TEXT NOT NULL, case_id TEXT NOT NULL, doc_id TEXT NOT NULL,
        versions TEXT NOT NULL, doc TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL, PRIMARY KEY (device_id, case_id)
    );
    CREATE TABLE device_tokens (
        token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(id),
        kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')), expires_at TEXT NOT NULL
    );
    CREATE INDEX device_tokens_by_device ON device_tokens (device_id);
    CREATE TABLE login_failures (
        username TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_until TEXT
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, device_id TEXT NOT NULL,
        worker_id TEXT, case_id TEXT, doc_id TEXT, reason TEXT NOT NULL,
        envelope TEXT NOT NULL
    );
    CREATE TABLE access_log (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, worker_id TEXT NOT NULL, device_id TEXT,
        case_id TEXT NOT NULL, doc_ids TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('read', 'deliver', 'push', 'merge')),
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX access_log_by_case ON access_log (case_id);
    CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
    CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
    """,
    # 2: the sync gateway: change heads per case, document index, cursors, _local docs
    """
    CREATE TABLE sync_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
    INSERT INTO sync_counter (id, value) VALUES (1, 0);
    CREATE TABLE case_heads (case_id TEXT PRIMARY KEY, gseq INTEGER NOT NULL);
    CREATE INDEX case_heads_by_gseq ON case_heads (gseq);
    CREATE TABLE doc_index (doc_id TEXT PRIMARY KEY, case_id TEXT NOT NULL);
    CREATE INDEX doc_index_by_case ON doc_index (case_id);
    CREATE TABLE case_visits (
        case_id TEXT NOT NULL, visit_id TEXT NOT NULL, day TEXT NOT NULL,
        PRIMARY KEY (case_id, visit_id)
    );
    CREATE INDEX case_visits_by_day ON case_visits (day);
    CREATE TABLE sync_cursors (
        id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, created_at TEXT NOT NULL,
        base TEXT NOT NULL, steps TEXT NOT NULL, final TEXT NOT NULL
    );
    CREATE INDEX sync_cursors_by_device ON sync_cursors (device_id);
    CREATE TABLE sync_local (
        device_id TEXT NOT NULL, local_id TEXT NOT NULL, rev INTEGER NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (device_id, local_id)
    );
    CREATE TABLE device_purges (
        device_id TEXT NOT NULL, case_id TEXT NOT NULL, purged_at TEXT NOT NULL,
        PRIMARY KEY (device_id, case_id)
    );
    ALTER TABLE keyrings ADD COLUMN rev TEXT;
    ALTER TABLE keyrings ADD COLUMN revisions TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE keyrings ADD COLUMN gseq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX keyrings_by_gseq ON keyrings (device_id, gseq);
    CREATE TABLE reconciliation_items (
        case_id TEXT NOT NULL, doc_id TEXT NOT NULL, doc_type TEXT NOT NULL,
        items INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (case_id, doc_id)
    );
    """,
    # 3: who deleted what: a deletion that meets an edit names its author in the merge
    """
    CREATE TABLE deletions (
        case_id TEXT NOT NULL, doc_id TEXT NOT NULL, rev TEXT NOT NULL,
        worker_id TEXT NOT NULL, device_id TEXT, received_at TEXT NOT NULL,
        merged_into TEXT, PRIMARY KEY (case_id, doc_id, rev, worker_id)
    );
    """,
    # 4: server-side sessions; login throttling per (username, address) and per address;
    # rotated device tokens (a used refresh token is kept to recognise its reuse)
    """
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY, worker_id TEXT NOT NULL REFERENCES workers(id),
        created_at REAL NOT NULL, last_seen REAL NOT NULL, expires_at REAL NOT NULL
    );
    CREATE INDEX sessions_by_worker ON sessions (worker_id);
    CREATE TABLE login_throttle (
        account TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL,
        blocked_until REAL NOT NULL, last_failure REAL NOT NULL,
        PRIMARY KEY (account, address)
    );
    CREATE INDEX login_throttle_by_last_failure ON login_throttle (last_failure);
    CREATE TABLE login_address_failures (
        id INTEGER PRIMARY KEY, address TEXT NOT NULL, at REAL NOT NULL
    );
    CREATE INDEX login_address_failures_by_address ON login_address_failures (address, at);
    CREATE INDEX login_address_failures_by_at ON login_address_failures (at);
    DROP TABLE login_failures;
    ALTER TABLE device_tokens ADD COLUMN used_at TEXT;
    """,
    # 5: writes to case databases in flight, so a crash between the store and the
    # directory leaves no change unseen (docs/adr/012-index-before-store.md)
    """
    CREATE TABLE case_writes (
        id INTEGER PRIMARY KEY, case_id TEXT NOT NULL, owner TEXT NOT NULL,
        started_at TEXT NOT NULL
    );
    CREATE INDEX case_writes_by_case ON case_writes (case_id);
    """,
    # 6: quarantine holds a document revision once per device (re-sending it adds no row;
    # `rev` is the revision, or for a document without one a hash of it; earlier rows
    # get their own `_rev`, the duplicates among them go); the access log by device,
    # for `_revs_diff`'s "cases this device held"
    """
    ALTER TABLE quarantine ADD COLUMN rev TEXT NOT NULL DEFAULT '';
    UPDATE quarantine SET rev = CASE
        WHEN json_valid(envelope) AND json_type(envelope, '$._rev') = 'text'
        THEN json_extract(envelope, '$._rev') ELSE 'row:' || id END;
    DELETE FROM quarantine WHERE id NOT IN (
        SELECT MIN(id) FROM quarantine GROUP BY device_id, COALESCE(doc_id, ''), rev
    );
    CREATE UNIQUE INDEX quarantine_once ON quarantine (device_id, COALESCE(doc_id, ''), rev);
    CREATE INDEX access_log_by_device ON access_log (device_id, case_id);
    """,
    # 7: the supervisor web: why client data was shown (the access log's purpose) and
    # each person's language (fi, sv, en)
    """
    ALTER TABLE access_log ADD COLUMN purpose TEXT;
    ALTER TABLE workers ADD COLUMN language TEXT;
    """,
    # 8: the team overview: each device's last sync (filled from the access log for the
    # devices that synced before), and the state, author and day of every note, kept
    # where the server sees a note's plaintext (casework/note_states.py); cases older
    # than this migration are indexed once, lazily, when their notes are first counted
    """
    ALTER TABLE devices ADD COLUMN last_sync_at TEXT;
    UPDATE devices SET last_sync_at = (
        SELECT MAX(at) FROM access_log WHERE access_log.device_id = devices.id
    );
    CREATE TABLE note_states (
        case_id TEXT NOT NULL, doc_id TEXT NOT NULL, author TEXT NOT NULL,
        state TEXT NOT NULL, occurred_on TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (case_id, doc_id)
    );
    CREATE INDEX note_states_drafts ON note_states (state, occurred_on);
    CREATE TABLE note_states_cases (case_id TEXT PRIMARY KEY, indexed_at TEXT NOT NULL);
    CREATE TABLE note_states_since (at TEXT NOT NULL);
    INSERT INTO note_states_since (at) VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
    """,
    # 9: device-side views (docs/adr/013-device-side-views.md): the access log takes the
    # action `view` and the device's own time of it (`device_at`, hashed when set, so
    # older rows verify as before); SQLite cannot change a CHECK, so the table is
    # rebuilt with every row, seq and hash as it was (DROP fires no delete trigger).
    # `access_events` remembers each accepted event's id and revision, so a re-sent
    # event adds no row, `_revs_diff` knows it, and an edit or deletion is refused.
    """
    CREATE TABLE access_log_v9 (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, worker_id TEXT NOT NULL, device_id TEXT,
        case_id TEXT NOT NULL, doc_ids TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('read', 'deliver', 'push', 'merge', 'view')),
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL, purpose TEXT, device_at TEXT
    );
    INSERT INTO access_log_v9
        (seq, at, worker_id, device_id, case_id, doc_ids, action, prev_hash, hash, purpose)
        SELECT seq, at, worker_id, device_id, case_id, doc_ids, action, prev_hash, hash,
            purpose FROM access_log ORDER BY seq;
    DROP TABLE access_log;
    ALTER TABLE access_log_v9 RENAME TO access_log;
    CREATE INDEX access_log_by_case ON access_log (case_id);
    CREATE INDEX access_log_by_device ON access_log (device_id, case_id);
    CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
    CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
    CREATE TABLE access_events (
        event_id TEXT PRIMARY KEY, rev TEXT NOT NULL, device_id TEXT NOT NULL,
        case_id TEXT NOT NULL, access_seq INTEGER NOT NULL, received_at TEXT NOT NULL
    );
    """,
    # 10: the disclosure log: information given to another service (ids, codes and the
    # recipient service's name only; no client content), hash-chained and append-only
    """
    CREATE TABLE disclosure_log (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, worker_id TEXT NOT NULL,
        case_id TEXT NOT NULL, member_ids TEXT NOT NULL, doc_ids TEXT NOT NULL,
        recipient TEXT NOT NULL,
        basis TEXT NOT NULL CHECK (basis IN ('consent', 'statute', 'client')),
        consent_id TEXT, statute TEXT, disclosed_on TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX disclosure_log_by_case ON disclosure_log (case_id, disclosed_on);
    CREATE TRIGGER disclosure_log_no_update BEFORE UPDATE ON disclosure_log
        BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only'); END;
    CREATE TRIGGER disclosure_log_no_delete BEFORE DELETE ON disclosure_log
        BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only'); END;
    """,
    # 11: retention (server/casework/retention.py): the statutory record of each case
    # destroyed when its retention ended (append-only, ids, dates and the rule only),
    # retention counted from every closed case's closure day (older rows: the day its
    # status became closed), cases waiting for it found by index; and the head hashes
    # of the hash-chained logs as `sopu audit anchor` recorded them
    """
    CREATE TABLE case_destructions (
        case_id TEXT PRIMARY KEY REFERENCES cases(id), team_id TEXT, service_task TEXT,
        closed_on TEXT NOT NULL, rule TEXT NOT NULL, retention_years INTEGER NOT NULL,
        destroyed_at TEXT NOT NULL, destroyed_by TEXT NOT NULL
    );
    CREATE TRIGGER case_destructions_no_update BEFORE UPDATE ON case_destructions
        BEGIN SELECT RAISE(ABORT, 'the record of destroyed cases is append-only'); END;
    CREATE TRIGGER case_destructions_no_delete BEFORE DELETE ON case_destructions
        BEGIN SELECT RAISE(ABORT, 'the record of destroyed cases is append-only'); END;
    UPDATE cases SET closed_on = status_since
        WHERE status = 'closed' AND closed_on IS NULL AND status_since IS NOT NULL;
    UPDATE cases SET retention_starts_on = closed_on
        WHERE status = 'closed' AND retention_starts_on IS NULL;
    CREATE INDEX cases_awaiting_destruction ON cases (retention_starts_on)
        WHERE shredded_at IS NULL AND retention_starts_on IS NOT NULL;
    CREATE TABLE log_anchors (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, heads TEXT NOT NULL
    );
    """,
    # 12: social reporting (SHL 7 §): observations a team records, with no link to any
    # case, family or author (who recorded one is in the audit log); the tags as JSON
    """
    CREATE TABLE observations (
        id TEXT PRIMARY KEY, team_id TEXT NOT NULL, observed_in TEXT NOT NULL,
        tags TEXT NOT NULL, text TEXT NOT NULL, recorded_at TEXT NOT NULL
    );
    CREATE INDEX observations_by_team ON observations (team_id, observed_in);
    """,
    # 13: a generation number of the case keys, moved by every key version added or
    # destroyed: what a device's keyrings depend on, read in one row by every node
    # (it was MAX(rowid) of case_keys, which only SQLite has)
    """
    CREATE TABLE key_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
    INSERT INTO key_generation (id, value)
        VALUES (1, (SELECT COALESCE(MAX(rowid), 0) FROM case_keys));
    """,
    # 14: the store's update_seq of each case database as `sopu store follow` last saw
    # it, so writes made to the store without Sopu reach the devices' feeds
    # (server/gateway/store_follower.py)
    """
    CREATE TABLE store_seqs (case_id TEXT PRIMARY KEY, seq TEXT NOT NULL);
    """,
    # 15: a random nonce of each feed cursor, in its tokens: cursors are committed
    # without waiting for the disk, and a cursor lost in a power cut has its id handed
    # out again (server/gateway/feed.py); rows from before have none
    """
    ALTER TABLE sync_cursors ADD COLUMN nonce TEXT;
    """,
]
