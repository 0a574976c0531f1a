"""A plain CouchDB-protocol database over HTTP, as a device sees the sync gateway.

Unlike `store.couch.CouchStore` (Sopu's own store on a CouchDB server: it computes
revisions and keeps the revision archive), this is a thin client that sends exactly
the requests a CouchDB replicator sends, with a bearer token. The reference device
client replicates with it; it speaks to any CouchDB-protocol endpoint.

Why it retries: on a phone connections drop mid-request, and a server whose store is
down answers `503` with `Retry-After`. Every request the replicator sends is idempotent
(reads, `_revs_diff`, `_bulk_get`, `_local` writes, `_bulk_docs` with new_edits=false),
so a dropped connection or a 503 is retried a few times, honouring `Retry-After` up to
`max_wait`; after that `Unavailable` is raised and the next replication resumes from
its checkpoint. `_bulk_docs` with new_edits=true and `DELETE` are sent once: a retry of
one the server did apply would be answered `conflict` or `not_found`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import requests

from .store.base import Database, DocResult, Seq
from .store.errors import (
    BadRequest,
    Conflict,
    DocumentTooLarge,
    Forbidden,
    InsufficientStorage,
    NotFound,
    StoreError,
    Unavailable,
    Unsupported,
)

_STATUS = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: DocumentTooLarge,
    507: InsufficientStorage,
}
RETRIES = 3  # further attempts of an idempotent request
BACKOFF = 0.2  # seconds before the first retry after a dropped connection; doubles
MAX_WAIT = 10.0  # the longest `Retry-After` honoured before giving up for now


class RemoteError(StoreError):
    """An error the remote answered that has no closer match (e.g. 401 with a code)."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("reason", f"HTTP {status}"))
        self.status = status
        self.error = body.get("error", "http_error")
        self.body = body


class RemoteDatabase(Database):
    """`url` is the database URL, e.g. http://127.0.0.1:8000/sync/<worker id>."""

    def __init__(
        self,
        url: str,
        token: Callable[[], str] | str | None = None,
        timeout: float = 60.0,
        session: requests.Session | None = None,
        retries: int = RETRIES,
        max_wait: float = MAX_WAIT,
    ):
        self.url = url.rstrip("/")
        self.name = self.url.rsplit("/", 1)[1]
        self.store = self  # the replicator names endpoints by `store.url` + name
        self._token = token
        self.timeout = timeout
        self.http = session or requests.Session()
        self.retries = retries
        self.max_wait = max_wait

    # ------------------------------------------------------------ transport

    def _headers(self) -> dict:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        token = self._token() if callable(self._token) else self._token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def request(
        self, method: str, path: str = "", body: Any = None, retry: bool = True, **params
    ) -> Any:
        """One request; retried (see the module docstring) unless `retry` is False."""
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            try:
                return self._once(method, path, body, params)
            except Unavailable as exc:
                wait = BACKOFF * 2**attempt if exc.retry_after is None else exc.retry_after
                if attempt + 1 == attempts or wait > self.max_wait:
                    raise
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, body: Any, params: dict) -> Any:
        url = f"{self.url}/{path}" if path else self.url
        query = {k: _param(v) for k, v in params.items() if v is not None}
        try:
            response = self.http.request(
                method,
                url,
                params=query,
                headers=self._headers(),
                timeout=self.timeout,
                data=None if body is None else json.dumps(body),
            )
        except requests.RequestException as exc:
            raise Unavailable(f"{self.url} did not answer: {type(exc).__name__}") from None
        data = _json(response)
        if response.status_code >= 400:
            raise _error(response.status_code, data, response.headers.get("Retry-After"))
        if isinstance(data, dict) and data.get("error") == "bad_response":
            raise Unavailable(f"{self.url} answered {response.status_code} without JSON")
        return data

    # ------------------------------------------------------------ the contract

    def info(self) -> dict:
        return self.request("GET")

    def bulk_docs(self, docs: list[Any], new_edits: bool = True) -> list[DocResult]:
        body = {"docs": docs, "new_edits": new_edits}
        return self.request("POST", "_bulk_docs", body, retry=not new_edits)

    def changes(
        self,
        since: Seq = 0,
        limit: int | None = None,
        style: str = "main_only",
        include_docs: bool = False,
        doc_ids: Iterable[str] | None = None,
    ) -> dict:
        if doc_ids is not None:
            raise Unsupported("this remote client does not filter changes by id")
        return self.request(
            "GET", "_changes", since=since, limit=limit, style=style, include_docs=include_docs
        )

    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]:
        return self.request("POST", "_revs_diff", revs)

    def bulk_get(self, requests_: list[dict], revs: bool = True) -> dict:
        try:
            return self.request("POST", "_bulk_get", {"docs": requests_}, revs=revs)
        except (NotFound, BadRequest) as exc:
            raise Unsupported(f"no _bulk_get: {exc}") from None

    def get(
        self,
        doc_id: str,
        rev: str | None = None,
        revs: bool = False,
        open_revs: list[str] | str | None = None,
        conflicts: bool = False,
    ) -> Any:
        return self.request(
            "GET",
            quote(doc_id, safe=""),
            rev=rev,
            revs=revs or None,
            open_revs=open_revs,
            conflicts=conflicts or None,
        )

    def all_docs(self, include_docs: bool = False, keys: list[str] | None = None) -> dict:
        raise Unsupported("_all_docs is not part of the sync protocol")

    def get_local(self, local_id: str) -> dict:
        return self.request("GET", f"_local/{quote(local_id, safe='')}")

    def put_local(self, local_id: str, doc: dict) -> dict:
        return self.request("PUT", f"_local/{quote(local_id, safe='')}", doc)

    def delete_local(self, local_id: str) -> None:
        self.request("DELETE", f"_local/{quote(local_id, safe='')}", retry=False)

    def archived(self, doc_id: str, rev: str) -> dict | None:
        return None  # a remote endpoint has no revision archive


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"error": "bad_response", "reason": response.text[:200]}


def _error(status: int, body: Any, retry_after: str | None = None) -> StoreError:
    body = body if isinstance(body, dict) else {}
    if status in (502, 503, 504):  # the server or its store is down for now
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        error = Unavailable(body.get("reason", f"HTTP {status}"), retry_after=wait)
        error.body = body
        return error
    cls = _STATUS.get(status)
    if cls is None:
        return RemoteError(status, body)
    error = cls(body.get("reason", f"HTTP {status}"))
    error.body = body
    return error
