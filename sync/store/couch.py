"""The CouchDB store: each Sopu database is a database on Apache CouchDB 3.x, IBM Cloudant
or pouchdb-server, spoken to over HTTP through the `ibmcloudant` SDK.

Two design decisions make a CouchDB server behave like every other Sopu store:

* Sopu computes revision ids (`sync.revisions.next_rev`), never the server, so every node
  gives the same edit the same id. An interactive write (new_edits=true) reads the
  affected documents' leaves, resolves the parent with `RevTree.parent_for_new_edit`
  (a stale `_rev` is a per-document `conflict`), and writes the computed revision with
  new_edits=false and a `_revisions` path. Two writers racing on the same leaf therefore
  make a conflict branch instead of a 409; merge resolves it like any other conflict.
* The revision archive: CouchDB keeps only leaf bodies after compaction, but every
  accepted revision must stay readable (`archived()`). Each accepted revision is copied,
  before the document itself is written, into the `_local` document
  `_local/sopu-archive:<doc id>:<rev>` (`_local` documents are never replicated, never
  compacted away and do not show in `_changes`). Entries are write-once: the same rev
  always has the same body, so a `conflict` on an entry means "already archived". An
  entry orphaned by a crash between the two writes is harmless; an accepted but
  unarchived revision is not, hence the order.

One `_bulk_docs` write of N documents costs three requests: `_all_docs?keys` (winners),
one `_bulk_docs` of archive entries (`_local` ids with new_edits=true, which CouchDB and
pouchdb-server both accept; never new_edits=false, which would put them in the
revisioned tree on CouchDB), and one `_bulk_docs` with new_edits=false; the last two per
8 MB chunk. Edits naming a losing leaf cost two more (`_changes` + `_bulk_get`). Every
write is idempotent (same edit, same rev, same archive entry), so retries are safe.

pouchdb-server quirks (see tests/support/pouchdb_server.py) are normalised to the
contract here: no `doc_del_count`, `_revs_diff` reporting stubbed ancestors,
`_bulk_get` answering `{}`/`{"missing"}` and dropping entries, `style=all_docs` not
listing the winner first, `limit=0` acting as 1, `DELETE /db` of a missing db being 200.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import (
    Authenticator,
    BasicAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
)
from ibmcloudant.cloudant_v1 import CloudantV1

from ..revisions import (
    InvalidRevision,
    RevisionConflict,
    RevTree,
    canonical_json,
    next_rev,
    parse_rev,
)
from .base import Database, DocResult, Seq, Store
from .errors import (
    BadRequest,
    Conflict,
    DatabaseExists,
    DocumentTooLarge,
    Forbidden,
    InvalidDatabaseName,
    NotFound,
    StoreError,
    Unavailable,
    Unsupported,
)
from .incoming import (
    DEFAULT_MAX_DOCUMENT_SIZE,
    Incoming,
    check_database_name,
    check_doc_id,
    check_document,
    error_result,
)

ARCHIVE_PREFIX = "sopu-archive:"
COUCH_DEFAULT_REVS_LIMIT = 1000
CONNECT_TIMEOUT = 10.0
LOCAL_WRITE_ATTEMPTS = 5
MAX_REQUEST_BYTES = 8 * 1024 * 1024  # per _bulk_docs body; Cloudant's limit is ~10 MB
STYLES = ("main_only", "all_docs")
# The 404 reasons meaning "no such database" (pouchdb-server/CouchDB 1; CouchDB 2+/Cloudant).
MISSING_DB_REASONS = frozenset({"no_db_file", "Database does not exist."})
CONFLICT_REASON = "Document update conflict."
ERROR_BY_STATUS: dict[int, type[StoreError]] = {
    400: BadRequest,
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    405: Unsupported,
    409: Conflict,
    412: DatabaseExists,
    413: DocumentTooLarge,
    415: BadRequest,
    501: Unsupported,
}


# --------------------------------------------------------------------------- helpers


def _split_url(url: str) -> tuple[str, str, str | None, str | None]:
    """`(service_url, public_url, user, password)`: credentials leave the URL.

    The SDK gets a URL without userinfo (basic auth goes in a header), so no error
    message or log line can carry the password; `public_url` keeps only the user name.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Not a CouchDB URL: {parts.scheme}://{parts.hostname or ''}")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    service_url = urlunsplit((parts.scheme, netloc, path, "", ""))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    public = service_url if user is None else service_url.replace("://", f"://{user}@", 1)
    return service_url, public, user, password


def _error_fields(response: requests.Response | None) -> tuple[str | None, str | None]:
    """CouchDB's `error` and `reason` from an error response, if it has a JSON body."""
    try:
        body = response.json() if response is not None else None
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    error, reason = body.get("error"), body.get("reason")
    text = (value if isinstance(value, str) else None for value in (error, reason))
    return next(text), next(text)


def _store_error(exc: Exception, url: str) -> StoreError:
    """The one place an HTTP failure becomes a `sync.store.errors` exception."""
    if isinstance(exc, ApiException):
        status = exc.status_code
        error, reason = _error_fields(exc.http_response)
        if error == "illegal_database_name":
            return InvalidDatabaseName(reason or error)
        cls = ERROR_BY_STATUS.get(status)
        if cls is None or not 400 <= status < 600:
            detail = f"{error}: {reason}" if error else exc.message
            return Unavailable(f"CouchDB server {url} answered HTTP {status} ({detail})")
        return cls(reason or error or str(exc.message))
    if isinstance(exc, requests.RequestException):
        state = (
            "kept failing" if isinstance(exc, requests.exceptions.RetryError) else "is unreachable"
        )
        return Unavailable(f"CouchDB server {url} {state} ({_causes(exc)})")
    return Unavailable(f"CouchDB server {url} answered nonsense ({_causes(exc)})")


def _causes(exc: BaseException) -> str:
    """The failure's types down its cause chain ("ConnectionError <- NewConnectionError"):
    what went wrong, without the request's URL and values that its message quotes."""
    chain: list[str] = []
    while exc is not None and len(chain) < 4:
        chain.append(type(exc).__name__)
        nested = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = exc.__cause__ or nested or getattr(exc, "reason", None)
        if not isinstance(exc, BaseException):
            break
    return " <- ".join(chain)


def is_missing_database(exc: StoreError) -> bool:
    """True for a NotFound about the database itself rather than a document in it."""
    return isinstance(exc, NotFound) and exc.reason in MISSING_DB_REASONS


def _rev_key(rev: str) -> tuple[int, str]:
    """Order of revs by (position, hash), as RevTree orders them."""
    pos, digest = parse_rev(rev)
    return pos, digest


def _valid_rev(rev: object) -> bool:
    try:
        parse_rev(rev)
    except InvalidRevision:
        return False
    return True


def _valid_doc_id(doc_id: object) -> bool:
    try:
        check_doc_id(doc_id)
    except StoreError:
        return False
    return True


def _path_of(rev: str, parent: str | None) -> dict:
    """The `_revisions` value of a new revision: itself and its parent are enough,
    because the parent is a leaf already in the server's tree."""
    pos, digest = parse_rev(rev)
    ids = [digest] if parent is None else [digest, parse_rev(parent)[1]]
    return {"start": pos, "ids": ids}


def _conflict(doc_id: str) -> dict:
    return {"id": doc_id, "error": "conflict", "reason": CONFLICT_REASON}


def _not_found_entry(doc_id: Any, rev: Any, reason: str = "missing") -> dict:
    """A `_bulk_get` error entry; `rev` is None when the request named no revision."""
    return {"error": {"id": doc_id, "rev": rev, "error": "not_found", "reason": reason}}


@dataclass(frozen=True)
class _Write:
    """One accepted revision on its way to the server: archive entry, then document."""

    index: int
    doc: Incoming
    rev: str
    path: dict

    def full(self) -> dict:
        """The revision as `archived()` returns it."""
        doc = {"_id": self.doc.id, "_rev": self.rev, **self.doc.body}
        if self.doc.deleted:
            doc["_deleted"] = True
        return doc

    def archive_entry(self) -> dict:
        return {"_id": f"_local/{archive_id(self.doc.id, self.rev)}", "doc": self.full()}

    def replicated(self) -> dict:
        """The document for `_bulk_docs` with new_edits=false."""
        return {**self.full(), "_revisions": self.path}


def _chunks(writes: list[_Write]) -> Iterable[list[_Write]]:
    """Consecutive runs of writes whose JSON stays under MAX_REQUEST_BYTES (at least one)."""
    chunk: list[_Write] = []
    size = 0
    for w in writes:
        cost = len(canonical_json(w.doc.body)) + 200  # body plus ids, revs and syntax
        if chunk and size + cost > MAX_REQUEST_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(w)
        size += cost
    if chunk:
        yield chunk


def archive_id(doc_id: str, rev: str) -> str:
    """The `_local` id (without `_local/`) of the archive entry of one revision."""
    return f"{ARCHIVE_PREFIX}{doc_id}:{rev}"


IAM_USER = "iamapikey"  # https://iamapikey:<API key>@<account>.cloudantnosqldb.appdomain.cloud


def _authenticator(user: str | None, password: str | None) -> Authenticator:
    """No user: no auth (a local test server). The user `iamapikey`: IBM Cloud IAM, the
    password being the API key; the SDK exchanges it for a bearer token and renews it
    before it expires, so no long-lived password travels to Cloudant. Otherwise CouchDB
    basic auth."""
    if user is None:
        return NoAuthAuthenticator()
    if user == IAM_USER:
        return IAMAuthenticator(password or "")
    return BasicAuthenticator(user, password or "")


# --------------------------------------------------------------------------- the store


class CouchStore(Store):
    """All databases of one CouchDB / Cloudant / pouchdb-server, e.g.
    `CouchStore("http://user:pass@127.0.0.1:5984")`.

    One SDK client (one connection pool, auth, timeouts, retries) carries every request.
    `url` is the server URL without the password.
    """

    def __init__(
        self,
        url: str,
        max_document_size: int = DEFAULT_MAX_DOCUMENT_SIZE,
        revs_limit: int = COUCH_DEFAULT_REVS_LIMIT,
        timeout: float = 60.0,
        retries: int = 2,
    ):
        service_url, self.url, user, password = _split_url(url)
        self.max_document_size = max_document_size
        self.revs_limit = revs_limit
        self.client = CloudantV1(authenticator=_authenticator(user, password))
        self.client.set_service_url(service_url)
        self.client.set_http_config({"timeout": (min(CONNECT_TIMEOUT, timeout), timeout)})
        if retries > 0:
            self.client.enable_retries(max_retries=retries, retry_interval=2.0)
        self._server: dict | None = None

    # ------------------------------------------------------------------ transport

    def call(self, operation: Callable[..., Any], *args, **kwargs) -> Any:
        """Run one SDK operation; return its JSON result, or raise a StoreError."""
        try:
            result = operation(*args, **kwargs).get_result()
        except (ApiException, requests.RequestException) as exc:
            raise _store_error(exc, self.url) from None
        except ValueError as exc:  # the SDK's own argument checks
            raise BadRequest(str(exc)) from None
        if isinstance(result, requests.Response):
            kind = result.headers.get("Content-Type", "no content type")
            raise Unavailable(f"CouchDB server {self.url} answered non-JSON ({kind})")
        if result is None and not getattr(operation, "__name__", "").startswith("head_"):
            # An empty 2xx body: the server went away while answering.
            raise Unavailable(f"CouchDB server {self.url} answered with an empty body")
        return result

    def request(self, method: str, path: str, params: dict | None = None, body: Any = None) -> Any:
        """A request the SDK has no method (or parameter) for, through the same client."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        prepared = self.client.prepare_request(
            method, path, headers=headers, params=params, data=data
        )
        return self.call(self.client.send, prepared)

    def server_info(self) -> dict:
        """`GET /`, fetched once: tells CouchDB from pouchdb-server."""
        if self._server is None:
            self._server = self.call(self.client.get_server_information)
        return self._server

    # ------------------------------------------------------------------ databases

    def database(self, name: str) -> CouchDatabase:
        self._require(name)
        return CouchDatabase(self, name)

    def _require(self, name: str) -> None:
        """NotFound unless `name` is an existing, non-system database."""
        try:
            check_database_name(name)
            self.call(self.client.get_database_information, db=name)
        except (InvalidDatabaseName, NotFound):
            raise NotFound(f"Database does not exist: {name}") from None

    def create_database(self, name: str) -> CouchDatabase:
        check_database_name(name)
        if "/" in name and "express-pouchdb" in self.server_info():
            # pouchdb-server strips "/" from names: "a/b" would silently become "ab".
            raise InvalidDatabaseName(f"Name: {name!r}. pouchdb-server cannot store '/'.")
        try:
            self.call(self.client.put_database, db=name)
        except DatabaseExists:
            raise DatabaseExists(f"The database could not be created, {name} exists.") from None
        if self.revs_limit != COUCH_DEFAULT_REVS_LIMIT:
            self._set_revs_limit(name)
        return CouchDatabase(self, name)

    def _set_revs_limit(self, name: str) -> None:
        """Best effort: CouchDB and Cloudant take it; pouchdb-server keeps 1000."""
        with contextlib.suppress(BadRequest, NotFound, Unsupported):
            self.request("PUT", f"/{quote(name, safe='')}/_revs_limit", body=self.revs_limit)

    def delete_database(self, name: str) -> None:
        self._require(name)  # pouchdb-server answers 200 for a missing database
        try:
            self.call(self.client.delete_database, db=name)
        except NotFound:
            raise NotFound(f"Database does not exist: {name}") from None

    def list_databases(self) -> list[str]:
        """Sorted names, without system databases (`_users`, `_replicator`, ...)."""
        names = self.call(self.client.get_all_dbs)
        return sorted(name for name in names if not name.startswith("_"))

    def close(self) -> None:
        self.client.get_http_client().close()


# --------------------------------------------------------------------------- a database


class CouchDatabase(Database):
    """One database on the server; see the module docstring for the write path."""

    def __init__(self, store: CouchStore, name: str):
        self.store = store
        self.name = name
        self.client = store.client

    def _call(self, operation: Callable[..., Any], **kwargs) -> Any:
        return self.store.call(operation, db=self.name, **kwargs)

    def _path(self, *parts: str) -> str:
        return "/" + "/".join(quote(p, safe="") for p in (self.name, *parts))

    # ------------------------------------------------------------------ info

    def info(self) -> dict:
        raw = self._call(self.client.get_database_information)
        deleted = raw.get("doc_del_count")
        if deleted is None:  # pouchdb-server does not report it
            deleted = self._count_deleted()
        return {
            "db_name": self.name,
            "doc_count": raw["doc_count"],
            "doc_del_count": deleted,
            "update_seq": raw["update_seq"],
        }

    def _count_deleted(self) -> int:
        """Deleted documents, counted from the changes feed (one row per document).

        Only for servers that do not report it (pouchdb-server); reads the whole feed.
        """
        rows = self._call(self.client.post_changes)["results"]
        return sum(1 for row in rows if row.get("deleted"))

    # ------------------------------------------------------------------ writes

    def bulk_docs(self, docs: list[Any], new_edits: bool = True) -> list[DocResult]:
        results: list[DocResult | None] = [None] * len(docs)
        checked: list[tuple[int, Incoming]] = []
        limit = self.store.max_document_size
        for index, doc in enumerate(docs):
            try:
                checked.append((index, check_document(doc, new_edits, limit)))
            except StoreError as exc:
                results[index] = error_result(doc, exc)
        if checked:
            plan = self._plan_edits if new_edits else self._plan_replicated
            self._write(plan(checked, results), results)
        return results  # type: ignore[return-value]

    @staticmethod
    def _plan_replicated(checked: list[tuple[int, Incoming]], results: list) -> list[_Write]:
        """new_edits=false: the given path is written as is."""
        return [
            _Write(index, doc, f"{doc.path['start']}-{doc.path['ids'][0]}", doc.path)
            for index, doc in checked
            if doc.path is not None
        ]

    def _plan_edits(self, checked: list[tuple[int, Incoming]], results: list) -> list[_Write]:
        """new_edits=true: resolve parents against the server's trees, compute revs."""
        trees = self._edit_trees(checked)
        writes = []
        for index, doc in checked:
            tree = trees.setdefault(doc.id, RevTree())
            try:
                parent = tree.parent_for_new_edit(doc.rev)
                rev = next_rev(parent, doc.deleted, doc.body)
                tree.add_child(parent, rev, doc.deleted)
            except RevisionConflict:
                results[index] = _conflict(doc.id)
                continue
            writes.append(_Write(index, doc, rev, _path_of(rev, parent)))
        return writes

    def _edit_trees(self, checked: list[tuple[int, Incoming]]) -> dict[str, RevTree]:
        """Trees just big enough to resolve each edit's parent.

        `_all_docs?keys` gives every document's winner in one request, which settles
        the usual cases (new doc, edit of the winner, recreation after delete). Only
        documents whose `_rev` names another revision (a losing leaf, or a stale rev)
        need their full leaf set, fetched in bulk.
        """
        winners = self._winners(list(dict.fromkeys(doc.id for _, doc in checked)))
        trees = {}
        for doc_id, (rev, deleted) in winners.items():
            pos, digest = parse_rev(rev)
            trees[doc_id] = RevTree()
            trees[doc_id].add({"start": pos, "ids": [digest]}, deleted)
        others = {
            doc.id
            for _, doc in checked
            if doc.rev is not None and doc.id in winners and doc.rev != winners[doc.id][0]
        }
        trees.update(self._trees(sorted(others)))
        return trees

    def _write(self, writes: list[_Write], results: list) -> None:
        """Archive every revision, then write the documents; fill in their results.

        Batches are cut at MAX_REQUEST_BYTES (Cloudant refuses requests over ~10 MB with
        a 413 for the whole request); a typical batch is one chunk.
        """
        for chunk in _chunks(writes):
            self._write_chunk(self._archive(chunk, results), results)

    def _write_chunk(self, writes: list[_Write], results: list) -> None:
        if not writes:
            return
        answer = self._call(
            self.client.post_bulk_docs,
            bulk_docs={"docs": [w.replicated() for w in writes], "new_edits": False},
        )
        # Success is `[]` (CouchDB 3, pouchdb-server) or ok rows: only errors count.
        errors = {(e.get("id"), e.get("rev")): e for e in answer if e.get("error")}
        for w in writes:
            error = errors.get((w.doc.id, w.rev)) or errors.get((w.doc.id, None))
            results[w.index] = (
                {"id": w.doc.id, "error": error["error"], "reason": error.get("reason", "")}
                if error
                else {"id": w.doc.id, "rev": w.rev, "ok": True}
            )

    def _archive(self, writes: list[_Write], results: list) -> list[_Write]:
        """Write the archive entries in one request; return the writes that may proceed.

        A `conflict` means the entry exists (same rev, same body): archived already.
        Any other per-entry error keeps that document from being written at all.
        """
        answer = self._call(
            self.client.post_bulk_docs, bulk_docs={"docs": [w.archive_entry() for w in writes]}
        )
        if len(answer) != len(writes):
            raise Unavailable(f"{self.store.url} answered {len(answer)} results for {len(writes)}")
        proceed = []
        for w, outcome in zip(writes, answer, strict=True):
            if outcome.get("error") in (None, "conflict"):
                proceed.append(w)
            else:
                results[w.index] = {
                    "id": w.doc.id,
                    "error": outcome["error"],
                    "reason": outcome.get("reason", ""),
                }
        return proceed

    # ------------------------------------------------------------------ changes

    def changes(
        self,
        since: Seq = 0,
        limit: int | None = None,
        style: str = "main_only",
        include_docs: bool = False,
        doc_ids: Iterable[str] | None = None,
    ) -> dict:
        if style not in STYLES:
            raise BadRequest(f"style must be main_only or all_docs, not {style!r}")
        since = 0 if since is None else since
        ids = None if doc_ids is None else list(doc_ids)
        if (limit is not None and limit <= 0) or ids == []:
            # pouchdb-server treats limit=0 as 1; nothing can match an empty id list.
            return {"results": [], "last_seq": self._since_value(since)}
        answer = self._call(
            self.client.post_changes,
            doc_ids=ids,
            filter="_doc_ids" if ids is not None else None,
            since=since,
            limit=limit,
            style=style,
            include_docs=include_docs or None,
        )
        rows = [_change_row(row, include_docs) for row in answer["results"]]
        if style == "all_docs":
            self._winners_first(rows)
        return {"results": rows, "last_seq": self._last_seq(rows, since, answer)}

    @staticmethod
    def _last_seq(rows: list[dict], since: Seq, answer: dict) -> Seq:
        """The last result's seq; with none, `since` (the server's own for 0 and "now")."""
        if rows:
            return rows[-1]["seq"]
        return answer.get("last_seq", since) if since in (0, "0", "now") else since

    def _since_value(self, since: Seq) -> Seq:
        return self.info()["update_seq"] if since == "now" else since

    def _winners_first(self, rows: list[dict]) -> None:
        """Put the winning leaf first in each row, as the contract requires.

        pouchdb-server lists leaves by position only. The winner is known from the
        included doc, or (all leaves of a deleted document being deleted) is the highest
        leaf; only live documents with several leaves need one `_all_docs` lookup.
        """
        unknown = [
            r["id"]
            for r in rows
            if len(r["changes"]) > 1 and "doc" not in r and not r.get("deleted")
        ]
        winners = self._winners(unknown) if unknown else {}
        for row in rows:
            revs = [c["rev"] for c in row["changes"]]
            if len(revs) < 2:
                continue
            ordered = sorted(revs, key=_rev_key, reverse=True)
            winner = (row.get("doc") or {}).get("_rev") or winners.get(row["id"], (None,))[0]
            if winner in revs:
                ordered.remove(winner)
                ordered.insert(0, winner)
            row["changes"] = [{"rev": rev} for rev in ordered]

    # ------------------------------------------------------------------ replication reads

    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]:
        """Revs the server lacks, checked against the real revision trees.

        pouchdb-server reports every rev without a stored body as missing, including
        ancestors present in the tree as stubs, and never gives possible_ancestors. A
        rev the server calls present is present, so only documents with something
        reported missing are re-checked: their trees (leaves with `_revisions` paths,
        which cover every node) decide `missing` and `possible_ancestors`.
        """
        wanted = _checked_revs(revs)
        if not wanted:
            return {}
        reported = self._call(self.client.post_revs_diff, document_revisions=wanted)
        ids = [doc_id for doc_id in wanted if (reported.get(doc_id) or {}).get("missing")]
        trees = self._trees(ids)
        out = {}
        for doc_id in ids:
            entry = _diff_entry(trees.get(doc_id), wanted[doc_id])
            if entry:
                out[doc_id] = entry
        return out

    def bulk_get(self, requests: list[dict], revs: bool = True) -> dict:
        """One result per request, in order, whatever grouping the server does.

        pouchdb-server drops a rev-less request for an id that is also requested with a
        rev; those go in a second request. Unsupported if the server has no `_bulk_get`.
        """
        wanted = [_bulk_get_key(r) for r in requests]
        valid = list(dict.fromkeys(key for key in wanted if key is not None))
        with_rev = {doc_id for doc_id, rev in valid if rev is not None}
        first = [key for key in valid if key[1] is not None or key[0] not in with_rev]
        second = [key for key in valid if key[1] is None and key[0] in with_rev]
        found: dict[tuple, dict] = {}
        for batch in (first, second):
            if batch:
                found.update(self._bulk_get_batch(batch, revs))
        results = []
        for request, key in zip(requests, wanted, strict=True):
            doc_id = request.get("id") if isinstance(request, dict) else None
            entry = found.get(key) if key else None
            rev = key[1] if key else (request.get("rev") if isinstance(request, dict) else None)
            results.append({"id": doc_id, "docs": [entry or _not_found_entry(doc_id, rev)]})
        return {"results": results}

    def _bulk_get_batch(self, keys: list[tuple], revs: bool) -> dict[tuple, dict]:
        """`{(id, rev or None): entry}` for one `_bulk_get` request, entries normalised."""
        docs = [{"id": i} if r is None else {"id": i, "rev": r} for i, r in keys]
        try:
            answer = self._call(self.client.post_bulk_get, docs=docs, revs=revs or None)
        except (NotFound, BadRequest, Unsupported) as exc:
            if is_missing_database(exc):
                raise
            raise Unsupported(f"{self.store.url} has no usable _bulk_get: {exc.reason}") from None
        rev_less = {i for i, r in keys if r is None}
        found: dict[tuple, dict] = {}
        for result in answer.get("results", []):
            doc_id = result.get("id")
            for entry in result.get("docs", []):
                if doc_id in rev_less:
                    found.setdefault((doc_id, None), _bulk_get_entry(entry, doc_id, None))
                else:
                    rev = _entry_rev(entry)
                    found.setdefault((doc_id, rev), _bulk_get_entry(entry, doc_id, rev))
        return found

    def get(
        self,
        doc_id: str,
        rev: str | None = None,
        revs: bool = False,
        open_revs: list[str] | str | None = None,
        conflicts: bool = False,
    ) -> Any:
        if open_revs is not None:
            return self._open_revs(doc_id, open_revs, revs)
        if not _valid_doc_id(doc_id) or (rev is not None and not _valid_rev(rev)):
            self._call(self.client.head_database)  # a missing database is still NotFound
            raise NotFound("missing")
        doc = self._call(
            self.client.get_document,
            doc_id=doc_id,
            rev=rev,
            revs=revs or None,
            conflicts=conflicts or None,
        )
        if "_conflicts" in doc:  # pouchdb-server's order is not CouchDB's (best first)
            doc["_conflicts"] = sorted(doc["_conflicts"], key=_rev_key, reverse=True)
        return _couch_order(doc)

    def _open_revs(self, doc_id: str, open_revs: list[str] | str, revs: bool) -> list:
        """`[{"ok": doc} | {"missing": rev}]`; "all" of a missing document is `[]`."""
        if open_revs != "all" and not isinstance(open_revs, list):
            raise BadRequest('open_revs must be "all" or a list of revisions.')
        asked = open_revs if open_revs == "all" else [r for r in open_revs if _valid_rev(r)]
        answer: list = []
        if _valid_doc_id(doc_id) and asked:
            param = "all" if asked == "all" else json.dumps(asked)
            try:
                answer = self.store.request(
                    "GET", self._path(doc_id), {"open_revs": param, "revs": revs or None}
                )
            except NotFound as exc:
                if is_missing_database(exc):
                    raise
        answer = [_open_revs_entry(entry) for entry in answer]
        if open_revs == "all":
            return sorted(answer, key=_leaf_rank, reverse=True)
        return _in_order(answer, open_revs)

    def all_docs(self, include_docs: bool = False, keys: list[str] | None = None) -> dict:
        answer = self._call(self.client.post_all_docs, include_docs=include_docs or None, keys=keys)
        rows = [_all_docs_row(row, include_docs) for row in answer["rows"]]
        return {"total_rows": answer["total_rows"], "rows": rows}

    def archived(self, doc_id: str, rev: str) -> dict | None:
        if not _valid_doc_id(doc_id) or not _valid_rev(rev):
            return None
        try:
            entry = self._read_local(archive_id(doc_id, rev))
        except NotFound as exc:
            if is_missing_database(exc):
                raise
            return None
        return entry.get("doc")

    # ------------------------------------------------------------------ trees

    def _winners(self, ids: list[str]) -> dict[str, tuple[str, bool]]:
        """`{id: (winning rev, deleted)}` of the existing documents among `ids`."""
        if not ids:
            return {}
        rows = self._call(self.client.post_all_docs, keys=ids)["rows"]
        return {
            row["id"]: (row["value"]["rev"], bool(row["value"].get("deleted")))
            for row in rows
            if "value" in row
        }

    def _trees(self, ids: list[str]) -> dict[str, RevTree]:
        """Full revision trees of the existing documents among `ids`, in two requests.

        `_changes` (style=all_docs, filtered by id) gives the leaves; `_bulk_get` with
        revs gives each leaf's `_revisions` path and deleted flag. Every node of a tree
        is on some leaf's path, so the tree is complete (as far as the server keeps it).
        """
        leaves = self._leaves(ids)
        if not leaves:
            return {}
        try:
            docs = self._leaf_docs(leaves)
        except Unsupported:
            docs = [e["ok"] for i in leaves for e in self._open_revs(i, "all", True) if "ok" in e]
        trees: dict[str, RevTree] = {}
        for doc in docs:
            path = doc.get("_revisions") or _path_of(doc["_rev"], None)
            trees.setdefault(doc["_id"], RevTree()).add(path, bool(doc.get("_deleted")))
        return trees

    def _leaves(self, ids: list[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        answer = self._call(
            self.client.post_changes, doc_ids=ids, filter="_doc_ids", style="all_docs"
        )
        return {row["id"]: [c["rev"] for c in row["changes"]] for row in answer["results"]}

    def _leaf_docs(self, leaves: dict[str, list[str]]) -> list[dict]:
        keys = [(doc_id, rev) for doc_id, revs in leaves.items() for rev in revs]
        found = self._bulk_get_batch(keys, revs=True)
        return [entry["ok"] for entry in found.values() if "ok" in entry]

    # ------------------------------------------------------------------ _local

    def get_local(self, local_id: str) -> dict:
        if not _valid_local_id(local_id):
            raise NotFound("missing")
        return self._read_local(local_id)

    def put_local(self, local_id: str, doc: dict) -> dict:
        """Last writer wins: the server wants the current `_rev`, so read it first and
        retry if someone else wrote in between."""
        _check_local_id(local_id)
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        for _ in range(LOCAL_WRITE_ATTEMPTS):
            current = self._local_rev(local_id)
            document = body if current is None else {**body, "_rev": current}
            try:
                answer = self._call(
                    self.client.put_local_document, doc_id=local_id, document=document
                )
            except Conflict:
                continue
            return {"id": answer["id"], "rev": answer["rev"], "ok": True}
        raise Conflict(f"_local/{local_id} kept changing; gave up after {LOCAL_WRITE_ATTEMPTS}")

    def delete_local(self, local_id: str) -> None:
        _check_local_id(local_id)
        for _ in range(LOCAL_WRITE_ATTEMPTS):
            current = self._local_rev(local_id)
            if current is None:
                raise NotFound("missing")
            try:
                self.store.request("DELETE", self._path("_local", local_id), {"rev": current})
                return
            except Conflict:
                continue
        raise Conflict(f"_local/{local_id} kept changing; gave up after {LOCAL_WRITE_ATTEMPTS}")

    def _read_local(self, local_id: str) -> dict:
        # Without Accept: application/json pouchdb-server answers text/plain.
        return self._call(
            self.client.get_local_document, doc_id=local_id, accept="application/json"
        )

    def _local_rev(self, local_id: str) -> str | None:
        try:
            return self._read_local(local_id).get("_rev")
        except NotFound as exc:
            if is_missing_database(exc):
                raise
            return None


# --------------------------------------------------------------------------- normalising


def _valid_local_id(local_id: object) -> bool:
    """Non-empty and not in the archive's namespace, which only this module writes."""
    return isinstance(local_id, str) and bool(local_id) and not local_id.startswith(ARCHIVE_PREFIX)


def _check_local_id(local_id: object) -> None:
    if not _valid_local_id(local_id):
        raise BadRequest(f"Bad _local document id {local_id!r} (empty or reserved).")


def _change_row(row: dict, include_docs: bool) -> dict:
    """Exactly the contract's keys: seq, id, changes, deleted if so, doc if asked."""
    out = {"seq": row["seq"], "id": row["id"], "changes": row["changes"]}
    if row.get("deleted"):
        out["deleted"] = True
    if include_docs and "doc" in row:
        out["doc"] = _couch_order(row["doc"])
    return out


def _all_docs_row(row: dict, include_docs: bool) -> dict:
    """pouchdb-server adds `"doc": null` to deleted rows even without include_docs."""
    out = {k: v for k, v in row.items() if k != "doc"}
    if include_docs and "doc" in row:
        out["doc"] = _couch_order(row["doc"])
    return out


def _couch_order(doc: Any) -> Any:
    """`_id` and `_rev`, the body, then other `_` fields: CouchDB's (and the SQLite
    store's) key order; pouchdb-server puts the body first."""
    if not isinstance(doc, dict):
        return doc
    head = {k: doc[k] for k in ("_id", "_rev") if k in doc}
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    return {**head, **body, **{k: v for k, v in doc.items() if k not in head and k not in body}}


def _checked_revs(revs: Any) -> dict[str, list[str]]:
    """The `_revs_diff` request, validated before it is sent."""
    if not isinstance(revs, dict):
        raise BadRequest("_revs_diff wants an object of id: [revs].")
    for doc_id, wanted in revs.items():
        if not isinstance(wanted, list):
            raise BadRequest(f"_revs_diff: revisions of {doc_id!r} must be a list.")
        for rev in wanted:
            if not _valid_rev(rev):
                raise BadRequest(f"Invalid rev format: {rev!r}")
    return {doc_id: wanted for doc_id, wanted in revs.items() if wanted}


def _diff_entry(tree: RevTree | None, wanted: list[str]) -> dict | None:
    missing = list(dict.fromkeys(wanted)) if tree is None else tree.missing(wanted)
    if not missing:
        return None
    entry: dict[str, list[str]] = {"missing": missing}
    ancestors = tree.possible_ancestors(missing) if tree is not None else []
    if ancestors:
        entry["possible_ancestors"] = ancestors
    return entry


def _bulk_get_key(request: Any) -> tuple[str, str | None] | None:
    """`(id, rev or None)` of a well-formed request; None for one never sent."""
    if not isinstance(request, dict) or not _valid_doc_id(request.get("id")):
        return None
    rev = request.get("rev")
    if rev is not None and not _valid_rev(rev):
        return None
    return request["id"], rev


def _entry_rev(entry: dict) -> str | None:
    if "ok" in entry:
        return entry["ok"].get("_rev")
    if "missing" in entry:
        return entry["missing"]
    return (entry.get("error") or {}).get("rev")


def _bulk_get_entry(entry: dict, doc_id: str, rev: str | None) -> dict:
    """`{"ok": doc}` or the contract's error shape (pouchdb: `{}`, `{"missing": rev}`)."""
    if "ok" in entry:
        return {"ok": _couch_order(entry["ok"])}
    error = entry.get("error")
    if isinstance(error, dict):
        return {"error": {**error, "id": doc_id, "rev": rev}}
    return _not_found_entry(doc_id, rev)


def _leaf_rank(entry: dict) -> tuple[bool, int, str]:
    """CouchDB's leaf order (live first, then position, then hash) for open_revs=all."""
    doc = entry.get("ok") or {}
    pos, digest = _rev_key(doc["_rev"]) if "_rev" in doc else (0, "")
    return (not doc.get("_deleted"), pos, digest)


def _in_order(answer: list, asked: list) -> list:
    """One entry per asked rev, in the order asked; unknown or malformed revs missing."""
    by_rev = {}
    for entry in answer:
        rev = entry["ok"].get("_rev") if "ok" in entry else entry.get("missing")
        by_rev.setdefault(rev, entry)
    return [by_rev.get(rev) or {"missing": rev} for rev in asked]


def _open_revs_entry(entry: dict) -> dict:
    return {"ok": _couch_order(entry["ok"])} if "ok" in entry else entry
