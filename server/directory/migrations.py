"""Schema of the directory, as an ordered list of migrations (never edit a shipped one)."""

MIGRATIONS: list[str] = [
    # 1: keys, devices, cases, assignments, audit log, quarantine
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
        status TEXT NOT NULL, created_at TEXT NOT NULL, closed_on TEXT, shredded_at TEXT
    );
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
    """,
]
