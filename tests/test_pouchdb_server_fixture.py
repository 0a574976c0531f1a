"""The pouchdb-server test peer starts, speaks the CouchDB protocol, and goes away."""

from pathlib import Path

import pytest
import requests

from tests.support.pouchdb_server import free_port, running_pouchdb_server


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: ignore any proxy settings in the environment
    session.headers["Accept"] = "application/json"
    return session


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535


def test_pouchdb_server_round_trip_and_shutdown(tmp_path: Path) -> None:
    http = _session()
    with running_pouchdb_server(tmp_path) as base_url:
        assert base_url.startswith("http://127.0.0.1:")

        welcome = http.get(f"{base_url}/", timeout=10).json()
        assert welcome["express-pouchdb"] == "Welcome!"

        created = http.put(f"{base_url}/fixture_db", timeout=10)
        assert created.status_code == 201, created.text
        assert created.json() == {"ok": True}

        written = http.put(
            f"{base_url}/fixture_db/note-1", json={"type": "note", "text": "hei"}, timeout=10
        )
        assert written.status_code == 201, written.text
        rev = written.json()["rev"]
        assert rev.startswith("1-")

        doc = http.get(f"{base_url}/fixture_db/note-1", timeout=10).json()
        assert doc == {"_id": "note-1", "_rev": rev, "type": "note", "text": "hei"}

        stale = http.put(f"{base_url}/fixture_db/note-1", json={"text": "x"}, timeout=10)
        assert stale.status_code == 409

        info = http.get(f"{base_url}/fixture_db", timeout=10).json()
        assert info["doc_count"] == 1
        assert info["update_seq"] == 1  # pouchdb-server: integer seqs, unlike CouchDB

    assert (tmp_path / "pouchdb-server.log").exists()
    with pytest.raises(requests.ConnectionError):
        http.get(f"{base_url}/", timeout=5)
