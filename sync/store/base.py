"""The database contract: the subset of CouchDB's database API Sopu relies on.

Every store (embedded SQLite, CouchDB/Cloudant over HTTP) implements these two classes
and passes the one conformance suite in `tests/test_store_conformance.py`. Shapes of requests
and results are CouchDB's own JSON, as Python dicts and lists, so the sync gateway can
pass them through and any CouchDB-protocol client understands them.

Sequences (`update_seq`, `seq`, `last_seq`, `since`) are opaque: integers in SQLite
and pouchdb-server, strings in CouchDB 3. Callers only store them and hand them back;
`0` (or None) always means "from the beginning".

Revision ids are computed by Sopu (`sync.revisions.next_rev`), never by the backing
server, so every node computes the same id for the same edit. Every accepted revision
body stays retrievable with `archived()` forever — after stemming, after CouchDB
compaction — because it is the base for merges and the legal history of corrections
(docs/adr/004-revision-archive.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

Seq = Any  # opaque sequence value
DocResult = dict  # {"id", "rev", "ok": True} or {"id", "error", "reason"}


class Database(ABC):
    """One CouchDB-protocol database (in Sopu: one case)."""

    name: str

    @abstractmethod
    def info(self) -> dict:
        """`{"db_name", "doc_count", "doc_del_count", "update_seq"}` (GET /db)."""

    @abstractmethod
    def bulk_docs(self, docs: list[Any], new_edits: bool = True) -> list[DocResult]:
        """Write documents (POST /db/_bulk_docs); one result per input, same order.

        new_edits=True (interactive): `_rev` must name a current leaf (or be absent for a
        new or deleted document), else that document's result is a `conflict`; the
        store computes the new revision id. new_edits=False (replication): the given
        `_rev`/`_revisions` path is merged into the tree as is; existing revisions are
        a no-op. Each result is `{"id", "rev", "ok": True}` or `{"id", "error",
        "reason"}` (`conflict`, `bad_request`, `document_too_large`, ...). A bad
        document never prevents the others from being written. All accepted documents
        are durable when this returns.
        """

    @abstractmethod
    def changes(
        self,
        since: Seq = 0,
        limit: int | None = None,
        style: str = "main_only",
        include_docs: bool = False,
        doc_ids: Iterable[str] | None = None,
    ) -> dict:
        """Changes after `since`, oldest first (GET /db/_changes, normal feed).

        `{"results": [{"seq", "id", "changes": [{"rev"}, ...], "deleted"?: True,
        "doc"?: {...}}], "last_seq"}`. Each document appears once, at its latest seq.
        style="all_docs" lists every leaf revision (winner first), "main_only" just the
        winner. `last_seq` is the seq of the last result, or `since` when there are none
        (the update_seq when since is 0 and there are none).
        """

    @abstractmethod
    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]:
        """Which of these revisions are missing here (POST /db/_revs_diff).

        `{id: {"missing": [...], "possible_ancestors"?: [...]}}`, only ids with
        something missing.
        """

    @abstractmethod
    def bulk_get(self, requests: list[dict], revs: bool = True) -> dict:
        """Fetch specific revisions (POST /db/_bulk_get).

        `requests` is `[{"id", "rev"?}]`; without `rev` the winner is returned.
        `{"results": [{"id", "docs": [{"ok": doc} | {"error": {"id", "rev", "error",
        "reason"}}]}]}`. With revs=True each doc carries `_revisions`.
        """

    @abstractmethod
    def get(
        self,
        doc_id: str,
        rev: str | None = None,
        revs: bool = False,
        open_revs: list[str] | str | None = None,
        conflicts: bool = False,
    ) -> Any:
        """GET /db/doc. Raises NotFound for a missing (or, without rev, deleted) doc.

        open_revs="all" or a list of revs returns `[{"ok": doc} | {"missing": rev}]`
        instead of one document. `revs` adds `_revisions`, `conflicts` adds
        `_conflicts` (non-deleted losing leaves) when there are any.
        """

    @abstractmethod
    def all_docs(self, include_docs: bool = False, keys: list[str] | None = None) -> dict:
        """`{"total_rows", "rows": [{"id", "key", "value": {"rev"}, "doc"?}]}`, by id.

        Deleted documents are left out, except when asked for by `keys`, where they
        show as `{"id", "key", "value": {"rev", "deleted": True}}`; unknown keys show
        as `{"key", "error": "not_found"}`.
        """

    @abstractmethod
    def get_local(self, local_id: str) -> dict:
        """A `_local` document (never replicated, no history); NotFound if absent.

        `local_id` is the part after `_local/`. The result has `_id` = "_local/<id>".
        """

    @abstractmethod
    def put_local(self, local_id: str, doc: dict) -> dict:
        """Create or replace a `_local` document; returns `{"id", "rev", "ok": True}`.

        `_local` documents are last-writer-wins: a `_rev` in `doc` is ignored.
        """

    @abstractmethod
    def delete_local(self, local_id: str) -> None:
        """Delete a `_local` document; NotFound if absent."""

    @abstractmethod
    def archived(self, doc_id: str, rev: str) -> dict | None:
        """The body of any revision ever accepted, or None if this store never saw it.

        The result is the full document as written: `_id`, `_rev`, `_deleted` if so,
        and the body fields. Survives stemming and compaction.
        """


class Store(ABC):
    """A set of databases behind one URL (`sqlite:///dir` or `http(s)://...`)."""

    url: str

    @abstractmethod
    def database(self, name: str) -> Database:
        """A handle to an existing database; NotFound if there is none."""

    @abstractmethod
    def create_database(self, name: str) -> Database:
        """Create a database; DatabaseExists if it exists, InvalidDatabaseName if bad."""

    def ensure_database(self, name: str) -> Database:
        """The database, created first if missing."""
        if name in self.list_databases():
            return self.database(name)
        return self.create_database(name)

    @abstractmethod
    def delete_database(self, name: str) -> None:
        """Delete a database and everything in it (archive included); NotFound if none."""

    @abstractmethod
    def list_databases(self) -> list[str]:
        """Names of all databases, sorted."""

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
