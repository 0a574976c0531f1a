"""Domain errors of the server, each with a stable machine-readable code.

The HTTP layer maps these to statuses in exactly one place (`http_errors.py`); the
CLI prints their messages. Codes never change once shipped: apps switch on them.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid_input"


class InvalidQuery(InvalidInput):
    """A query parameter that is not what the endpoint takes (CouchDB's code for it)."""

    code = "query_parse_error"


class InvalidRevisionId(InvalidInput):
    """A revision id that is not `N-hex`, named with its document (CouchDB's code, and
    the code of the same refusal per document in a push)."""

    code = "bad_request"


class RequestTooLarge(DomainError):
    """A request body over the configured `max_request_size`."""

    code = "request_too_large"


class LocalDocumentTooLarge(RequestTooLarge):
    """A `_local` document (a replication checkpoint: a few hundred bytes) over
    `sync_input.MAX_LOCAL_SIZE`."""

    code = "local_document_too_large"


class TooManyLocalDocuments(InvalidInput):
    """A device already keeps `gateway.MAX_LOCAL_DOCUMENTS` `_local` documents (PouchDB
    keeps one per replication); it must delete one before writing a new one."""

    code = "too_many_local_documents"


class Forbidden(DomainError):
    code = "forbidden"


class CrossOriginRefused(Forbidden):
    """A state-changing request with a session cookie that did not come from this
    server's own pages (`Origin`/`Referer` of another site): refused before any work."""

    code = "cross_origin_refused"


class TooManyLiveFeeds(DomainError):
    """This server process already holds as many waiting live feeds as it may: sync
    again after `retry_after` seconds (also the `Retry-After` header)."""

    code = "too_many_live_feeds"


class ConflictError(DomainError):
    code = "conflict"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class DeviceRevoked(Unauthenticated):
    """The device was revoked: it must wipe its local data at once."""

    code = "device_revoked"


class LoginThrottled(DomainError):
    """Too many failed logins from this address (for this username, or for any): try
    again after `retry_after` seconds (also the `Retry-After` header)."""

    code = "login_throttled"


class TokenExpired(Unauthenticated):
    code = "token_expired"


class RefreshReused(Unauthenticated):
    """A refresh token was used a second time: every token of that device is revoked."""

    code = "refresh_reused"


class SessionExpired(Unauthenticated):
    """The session passed its idle timeout or its lifetime: log in again."""

    code = "session_expired"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class InvalidTransition(ConflictError):
    """A case status change out of order (pending → assessment → active → closed)."""

    code = "invalid_transition"


class CaseClosed(ConflictError):
    """The case is closed: no new assignments, no status changes."""

    code = "case_closed"


class DisclosureRefused(ConflictError):
    """A disclosure whose claimed basis does not hold (`server.legal.disclosures`); each
    reason has its own code below, and the message names the consent and why."""

    code = "disclosure_refused"


class ConsentMissing(DisclosureRefused):
    code = "consent_missing"


class ConsentNotYetValid(DisclosureRefused):
    code = "consent_not_yet_valid"


class ConsentExpired(DisclosureRefused):
    code = "consent_expired"


class ConsentWithdrawn(DisclosureRefused):
    code = "consent_withdrawn"


class ConsentOutOfScope(DisclosureRefused):
    code = "consent_out_of_scope"


class UnknownStatute(InvalidInput):
    """A statutory basis that is not in the fixed table (`legal.disclosures.STATUTES`)."""

    code = "unknown_statute"


class AlreadyWithdrawn(ConflictError):
    """A consent withdrawn once stays withdrawn; a new consent is given instead."""

    code = "consent_already_withdrawn"


class InvalidDate(InvalidInput):
    """A date parameter that is not `YYYY-MM-DD`."""

    code = "invalid_date"


class InvalidPeriod(InvalidInput):
    """A period whose start is after its end."""

    code = "invalid_period"


class InvalidHalfYear(InvalidInput):
    """A THL half-year that is not `YYYYH1` (1.4.–30.9.) or `YYYYH2` (1.10.–31.3.)."""

    code = "invalid_half_year"


class InvalidMonths(InvalidInput):
    """A social report's month that is not `YYYY-MM`."""

    code = "invalid_months"
