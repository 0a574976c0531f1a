"""Configuration: defaults, then a TOML file, then `SOPU_*` environment variables.

    data_dir = "var"                         # SOPU_DATA_DIR
    store_url = "sqlite:///var/store"        # SOPU_STORE_URL (or http(s)://… for CouchDB)
    directory = "var/directory.sqlite3"      # SOPU_DIRECTORY (a file, or postgresql://…
                                             # for a directory shared by several nodes)
    kek_file = "var/kek.key"                 # SOPU_KEK_FILE (or the key itself in SOPU_KEK)
    max_document_size = 1048576              # SOPU_MAX_DOCUMENT_SIZE (bytes)
    max_request_size = 33554432              # SOPU_MAX_REQUEST_SIZE (bytes; larger is 413)
    behind_tls = false                       # SOPU_BEHIND_TLS (true: send HSTS)
    device_token_ttl = 3600                  # SOPU_DEVICE_TOKEN_TTL (s, access tokens)
    session_lifetime = 43200                 # SOPU_SESSION_LIFETIME (s, from login, at most)
    session_idle_timeout = 1800              # SOPU_SESSION_IDLE_TIMEOUT (s without use)
    trusted_proxies = 0                      # SOPU_TRUSTED_PROXIES (proxies in front whose
                                             # X-Forwarded-For names the client address)
    ui_assets = "node_modules/hds-core/lib"  # SOPU_UI_ASSETS (the Helsinki Design System's
                                             # CSS, from `npm ci`)
    retention_daily = "shred"                # SOPU_RETENTION_DAILY: "shred" (destroy cases
                                             # whose retention ended, daily) or "report"
    metrics_token = ""                       # SOPU_METRICS_TOKEN: the bearer token
                                             # /metrics asks for (empty: no /metrics)
    live_feeds_per_worker = 2                # SOPU_LIVE_FEEDS_PER_WORKER: longpolls a
                                             # worker process lets wait at once (more:
                                             # 503 too_many_live_feeds, Retry-After)
    [retention]                              # SOPU_RETENTION="family_services=30,..."
    family_services = 30                     # years from closure, per service task or group

The file is given with `sopu --config FILE` or SOPU_CONFIG. Unknown keys are an error,
so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from .directory.dialect import is_postgres_url
from .legal import retention


class ConfigError(Exception):
    pass


@dataclass
class Config:
    data_dir: Path = Path("var")
    store_url: str = ""
    directory: Path | str | None = None  # a SQLite file, or a postgresql:// URL
    kek_file: Path | None = None
    max_document_size: int = 1024 * 1024
    max_request_size: int = 32 * 1024 * 1024
    behind_tls: bool = False
    secret_key: str = ""
    device_token_ttl: int = 3600
    session_lifetime: int = 12 * 3600
    session_idle_timeout: int = 30 * 60
    trusted_proxies: int = 0
    ui_assets: Path = Path(__file__).resolve().parents[1] / "node_modules" / "hds-core" / "lib"
    retention: dict = field(default_factory=dict)  # service task or group -> years
    retention_daily: str = "shred"
    metrics_token: str = ""  # bearer token for /metrics; empty: /metrics is 404
    live_feeds_per_worker: int = 2  # waiting longpolls a worker process holds at once
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.ui_assets = Path(self.ui_assets)
        if not self.store_url:
            self.store_url = f"sqlite:///{self.data_dir / 'store'}"
        self.directory = _directory(self.directory or self.data_dir / "directory.sqlite3")
        if self.kek_file is not None:
            self.kek_file = Path(self.kek_file)
        if self.session_lifetime <= 0 or self.session_idle_timeout <= 0:
            raise ConfigError("session_lifetime and session_idle_timeout must be > 0 seconds")
        if self.live_feeds_per_worker < 0:
            raise ConfigError("live_feeds_per_worker is a count of feeds: 0 or more")
        if self.trusted_proxies < 0:
            raise ConfigError("trusted_proxies is a count of proxies: 0 or more")
        if self.max_request_size < self.max_document_size:
            raise ConfigError("max_request_size must be at least max_document_size")
        self._check_retention()

    def _check_retention(self) -> None:
        """Retention destroys data: a typo in its table must stop the server, not guess."""
        try:
            self.retention = dict(retention.table(self.retention).years)
        except retention.RetentionConfigError as exc:
            raise ConfigError(str(exc)) from None
        if self.retention_daily not in ("shred", "report"):
            raise ConfigError(
                f'retention_daily must be "shred" or "report", not {self.retention_daily!r}'
            )


def _directory(value: object) -> Path | str:
    """A PostgreSQL URL stays a string (a Path would fold its `//`); anything else is
    the SQLite file's path."""
    return str(value) if is_postgres_url(value) else Path(str(value))


_TYPES = {
    "data_dir": Path,
    "directory": lambda value: _directory(value),
    "kek_file": Path,
    "max_document_size": int,
    "max_request_size": int,
    "behind_tls": lambda value: _boolean("behind_tls", value),
    "device_token_ttl": int,
    "session_lifetime": int,
    "session_idle_timeout": int,
    "trusted_proxies": int,
    "live_feeds_per_worker": int,
    "ui_assets": Path,
    "retention": lambda value: _retention_entries(value),
}


def load_config(path: Path | str | None = None, env: dict | None = None) -> Config:
    env = os.environ if env is None else env
    values: dict = {}
    path = path or env.get("SOPU_CONFIG")
    if path:
        values.update(_read_file(Path(path)))
    for item in fields(Config):
        name = f"SOPU_{item.name.upper()}"
        if name in env and item.name != "extra":
            values[item.name] = env[name]
    try:
        converted = {k: _TYPES.get(k, str)(v) for k, v in values.items()}
    except ValueError as exc:
        raise ConfigError(f"bad configuration value: {exc}") from None
    if converted.get("kek_file") is None and "SOPU_KEK" not in env:
        data_dir = Path(converted.get("data_dir", Config.data_dir))
        converted["kek_file"] = data_dir / "kek.key"
    return Config(**converted)


def _retention_entries(value: object) -> dict:
    """A `[retention]` table from the file, or `KEY=YEARS,...` from SOPU_RETENTION."""
    if isinstance(value, str):
        return retention.parse_entries(value)
    if not isinstance(value, dict):
        raise ValueError(f"retention must be a table of service task = years, not {value!r}")
    return dict(value)


def _boolean(name: str, value: object) -> bool:
    """A TOML boolean, or `true`/`false`/`1`/`0` in a variable (never `bool("false")`)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return text in ("true", "1")


def _read_file(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    known = {f.name for f in fields(Config)} - {"extra"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return data
