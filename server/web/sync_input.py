"""What a device may send to `/sync`, checked before the gateway sees it.

One place for every query parameter and body shape of the CouchDB endpoints, so the
gateway only ever gets well-typed, bounded values and a mistake is a 400 that says
which parameter, field or document is wrong — never a 500. Pure: query arguments (any
mapping of strings) or a parsed body in, typed values out. Codes:

- `query_parse_error` (CouchDB's): a query parameter of the wrong type or out of range;
- `bad_request` (CouchDB's): a revision id that is not `N-hex`, named with its document;
- `invalid_input`: a body of the wrong shape (and malformed JSON, `json_body`).
- `local_document_too_large` (413): a `_local` document over `MAX_LOCAL_SIZE`.

Integers are ASCII digits only (no sign, exponent or spaces) and bounded; booleans are
`true`/`false` (or `1`/`0`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InvalidInput, InvalidQuery, InvalidRevisionId, LocalDocumentTooLarge
from ..gateway.feed import TOKEN
from ..gateway.push import revision_problem, shown
from .json_body import parse_json

MAX_LIMIT = 10_000
MAX_WAIT_MS = 3_600_000  # timeout and heartbeat are taken up to an hour…
LONGPOLL_CAP_MS = 60_000  # …and a longpoll waits at most a minute
MAX_OPEN_REVS = 1_000
MAX_LOCAL_SIZE = 64 * 1024  # bytes of a `_local` document's JSON; a checkpoint is < 1 KiB
FEEDS = ("normal", "longpoll", "continuous", "eventsource")
STYLES = ("main_only", "all_docs")
FLAGS = {"true": True, "1": True, "false": False, "0": False}
_DIGITS = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class ChangesOptions:
    since: str | int
    limit: int | None
    style: str
    include_docs: bool
    feed: str
    timeout_ms: int
    heartbeat_ms: int | None

    def gateway_options(self) -> dict:
        """The keyword arguments of `Gateway.changes`."""
        return {
            "since": self.since,
            "limit": self.limit,
            "style": self.style,
            "include_docs": self.include_docs,
        }


# ---------------------------------------------------------------- query parameters


def integer(args: Mapping[str, str], name: str, high: int, default=None) -> int | None:
    raw = args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or int(raw) > high:
        raise InvalidQuery(
            f"{name} must be an integer from 0 to {high}, not {shown(raw)}", parameter=name
        )
    return int(raw)


def flag(args: Mapping[str, str], name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    if raw.lower() not in FLAGS:
        raise InvalidQuery(f"{name} must be true or false, not {shown(raw)}", parameter=name)
    return FLAGS[raw.lower()]


def choice(args: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = args.get(name, default)
    if raw not in choices:
        raise InvalidQuery(
            f"{name} must be one of {', '.join(choices)}, not {shown(raw)}", parameter=name
        )
    return raw


def since(args: Mapping[str, str]) -> str | int:
    """0 or a `last_seq`/`seq` this feed gave (an unknown but well-formed one restarts
    the feed; see `feed.Cursors.resolve`)."""
    raw = args.get("since")
    if raw in (None, "", "0"):
        return 0
    if not TOKEN.fullmatch(raw):
        raise InvalidInput(
            f"malformed since value {shown(raw)}: use 0 or a last_seq from this feed",
            parameter="since",
        )
    return raw


def heartbeat(args: Mapping[str, str]) -> int | None:
    """Milliseconds between newlines of a longpoll; `true` is CouchDB's default."""
    raw = args.get("heartbeat")
    if raw in ("true", "false"):
        return LONGPOLL_CAP_MS if raw == "true" else None
    return integer(args, "heartbeat", MAX_WAIT_MS) or None


def changes_options(args: Mapping[str, str]) -> ChangesOptions:
    return ChangesOptions(
        since=since(args),
        limit=integer(args, "limit", MAX_LIMIT),
        style=choice(args, "style", STYLES, "main_only"),
        include_docs=flag(args, "include_docs"),
        feed=choice(args, "feed", FEEDS, "normal"),
        timeout_ms=min(integer(args, "timeout", MAX_WAIT_MS, LONGPOLL_CAP_MS), LONGPOLL_CAP_MS),
        heartbeat_ms=heartbeat(args),
    )


def rev(args: Mapping[str, str], doc_id: str) -> str | None:
    raw = args.get("rev")
    if raw is not None:
        _check_rev(raw, doc_id)
    return raw


def open_revs(args: Mapping[str, str], doc_id: str) -> list[str] | str | None:
    """`all`, or a JSON list of revision ids."""
    raw = args.get("open_revs")
    if raw is None or raw == "all":
        return raw
    try:
        value = parse_json(raw.encode("utf-8"), max_depth=1)
    except InvalidInput:
        value = None
    if not isinstance(value, list) or len(value) > MAX_OPEN_REVS:
        raise InvalidQuery(
            f'open_revs must be "all" or a JSON list of at most {MAX_OPEN_REVS} revision ids',
            parameter="open_revs",
        )
    for item in value:
        _check_rev(item, doc_id)
    return value


# ---------------------------------------------------------------- bodies


def object_body(body: object, what: str) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput(f"{what} is a JSON object, not {_kind(body)}")
    return body


def local_body(body: object) -> dict:
    """A `_local` document: an object of at most `MAX_LOCAL_SIZE` bytes of JSON. Kept
    in the directory per device, so small: a 20 MB "checkpoint" is refused."""
    object_body(body, "a _local document")
    size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_LOCAL_SIZE:
        raise LocalDocumentTooLarge(
            f"a _local document is at most {MAX_LOCAL_SIZE} bytes of JSON, not {size}",
            limit=MAX_LOCAL_SIZE,
        )
    return body


def revs_diff_body(body: object) -> dict[str, list[str]]:
    """`{doc id: [rev, …]}`."""
    object_body(body, "the body of _revs_diff ({doc id: [revision ids]})")
    for doc_id, revs in body.items():
        _check_doc_id(doc_id)
        if not isinstance(revs, list):
            raise InvalidInput(
                f"document {shown(doc_id)}: the revisions are a list of revision ids,"
                f" not {_kind(revs)}",
                field=doc_id,
            )
        for item in revs:
            _check_rev(item, doc_id)
    return body


def bulk_get_body(body: object) -> list[dict]:
    """`{"docs": [{"id", "rev"?, "atts_since"?}, …]}` as `[{"id", "rev"?}, …]`."""
    docs = object_body(body, 'the body of _bulk_get ({"docs": [{"id", "rev"?}]})').get("docs")
    if not isinstance(docs, list):
        raise InvalidInput(f"docs of _bulk_get is a list, not {_kind(docs)}", field="docs")
    asks = []
    for index, item in enumerate(docs):
        if not isinstance(item, dict):
            raise InvalidInput(
                f"docs/{index} of _bulk_get is an object, not {_kind(item)}", field="docs"
            )
        doc_id = item.get("id")
        _check_doc_id(doc_id, f"docs/{index}/id")
        for ancestor in _list_or_none(item.get("atts_since"), f"docs/{index}/atts_since"):
            _check_rev(ancestor, doc_id)
        ask = {"id": doc_id}
        if item.get("rev") is not None:
            ask["rev"] = _check_rev(item["rev"], doc_id)
        asks.append(ask)
    return asks


def bulk_docs_body(body: object) -> tuple[list, bool]:
    """`{"docs": [...], "new_edits"?: bool}`; each document is checked on its own on
    push (a bad one is refused in the answer, the rest written)."""
    data = object_body(body, 'the body of _bulk_docs ({"docs": [...]})')
    docs, new_edits = data.get("docs"), data.get("new_edits", True)
    if not isinstance(docs, list):
        raise InvalidInput(f"docs of _bulk_docs is a list, not {_kind(docs)}", field="docs")
    if not isinstance(new_edits, bool):
        raise InvalidInput(f"new_edits is true or false, not {_kind(new_edits)}", field="new_edits")
    return docs, new_edits


# ---------------------------------------------------------------- helpers


def _check_doc_id(doc_id: object, where: str = "a document id") -> str:
    if not isinstance(doc_id, str):
        raise InvalidInput(f"{where} must be a string, not {_kind(doc_id)}")
    if not doc_id:
        raise InvalidInput(f"{where} must not be empty")
    return doc_id


def _check_rev(value: object, doc_id: object) -> str:
    problem = revision_problem(value)
    if problem:
        raise InvalidRevisionId(f"document {shown(doc_id)}: {problem}", doc_id=doc_id)
    return value


def _list_or_none(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where} is a list of revision ids, not {_kind(value)}")
    return value


def _kind(value: object) -> str:
    """How a JSON value is named in a message (its type, never its content)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), "missing")
