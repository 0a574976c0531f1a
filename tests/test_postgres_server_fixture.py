"""The throwaway PostgreSQL cluster starts, keeps fresh databases apart, and goes away."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.support.postgres_server import drop_database, fresh_database, running_postgres


def _scalar(url: str, query: str):
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute(query).fetchone()[0]


def test_cluster_answers_select_version(postgres_url: str) -> None:
    assert _scalar(postgres_url, "SELECT version()").startswith("PostgreSQL ")


def test_cluster_listens_on_the_urls_host_only(postgres_url: str) -> None:
    if os.environ.get("SOPU_TEST_POSTGRES_URL"):
        pytest.skip("an external server's listen_addresses are its own business")
    assert urlsplit(postgres_url).hostname == "127.0.0.1"
    assert _scalar(postgres_url, "SHOW listen_addresses") == "127.0.0.1"
    assert str(_scalar(postgres_url, "SELECT inet_server_addr()")) == "127.0.0.1"


def test_fresh_databases_are_separate(postgres_url: str) -> None:
    first, second = fresh_database(postgres_url), fresh_database(postgres_url)
    try:
        assert first != second
        with psycopg.connect(first) as conn:
            conn.execute("CREATE TABLE notes (id int PRIMARY KEY)")
            conn.execute("INSERT INTO notes VALUES (1)")
        assert _scalar(first, "SELECT count(*) FROM notes") == 1
        assert _scalar(second, "SELECT to_regclass('notes')") is None
    finally:
        drop_database(first)
        drop_database(second)


def test_dropped_database_is_gone(postgres_url: str) -> None:
    url = fresh_database(postgres_url)
    name = urlsplit(url).path.lstrip("/")
    holder = psycopg.connect(url)  # an open connection must not block the drop
    try:
        drop_database(url)
    finally:
        holder.close()
    exists = "SELECT count(*) FROM pg_database WHERE datname = %s"
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute(exists, (name,)).fetchone()[0] == 0
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(url, connect_timeout=10).close()


def test_postgres_database_fixture_is_empty(postgres_database: str) -> None:
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert _scalar(postgres_database, tables) == 0


def test_own_cluster_runs_unprivileged_and_is_removed(tmp_path: Path) -> None:
    with running_postgres(tmp_path) as url:
        data_dir = Path(_scalar(url, "SHOW data_directory"))
        owner = data_dir.stat().st_uid
        with psycopg.connect(url, connect_timeout=10) as conn:
            # The backend exits when its connection closes: stat it while it is open.
            backend_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            backend_uid = Path(f"/proc/{backend_pid}").stat().st_uid
        if os.geteuid() == 0:
            assert owner != 0, f"{data_dir} is owned by root"
            assert backend_uid != 0, "the server runs as root"
        else:
            assert owner == backend_uid == os.geteuid()
        assert data_dir.parent.name.startswith("sopu-pg-")
        assert data_dir.parent.stat().st_mode & 0o077 == 0  # mode 0700

    assert not data_dir.parent.exists()
    assert (tmp_path / "postgres.log").exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5).close()
