"""Strict JSON for request bodies: UTF-8, no duplicate keys, no NaN or Infinity, no lone
surrogates, and nesting at most `MAX_DEPTH` levels deep; answers never carry NaN or
Infinity either (`StrictJSONProvider`).

Python's `json` parser is recursive, so a body of a few thousand `[` would exhaust the
stack: the depth is measured on the raw bytes first, with byte-string operations only
(C speed, no recursion): strings are cut out, then the innermost bracket pairs are
removed once per level. A valid document of depth d vanishes after exactly d passes;
one left over after `MAX_DEPTH` passes is too deep (or malformed, which the parser
would refuse anyway). The wire contract's documents are a few levels deep; sync bodies
add two. Measured by `scripts/bench_json_body.py` (docs/performance.md).
"""

from __future__ import annotations

import json
import math
import re

from flask.json.provider import DefaultJSONProvider

from ..errors import InvalidInput

MAX_DEPTH = 32
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


class _Refused(ValueError):
    """Raised inside the parser's hooks; becomes InvalidInput."""


def parse_json(data: bytes, max_depth: int = MAX_DEPTH) -> object:
    """The JSON value of a request body; InvalidInput (`invalid_input`) saying why not."""
    if not data.strip():
        raise InvalidInput("expected a JSON request body")
    check_depth(data, max_depth)
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float
        )
    except _Refused as exc:
        raise InvalidInput(f"invalid JSON body: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput("the request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON body: {exc.msg} at byte {exc.pos}") from None
    except (ValueError, RecursionError):  # e.g. an integer of more than 4300 digits
        raise InvalidInput("malformed JSON body: a value is out of range") from None
    if _SURROGATE_ESCAPE.search(data):
        _check_surrogates(value)
    return value


def check_depth(data: bytes, max_depth: int) -> None:
    """InvalidInput if `data` is nested deeper than `max_depth` or its brackets do not
    pair up (never valid JSON). Linear in the length of `data`, on any input.

    Escaped backslashes and quotes go first (left to right, as JSON pairs them), so
    every `"` left delimits a string; everything but brackets and quotes goes next.
    Removing two adjacent quotes never moves a bracket into or out of a string, so the
    strings without brackets vanish in one `replace`; the few left are cut out."""
    text = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = text.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])
    for _ in range(max_depth):
        if not skeleton:
            return
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):
            raise InvalidInput("malformed JSON body: brackets do not pair up")
        skeleton = shorter
    if skeleton:
        raise InvalidInput(f"the JSON body is nested deeper than {max_depth} levels")


def _object(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _Refused(f"duplicate key {_shown(duplicate)} in an object")
    return obj


def _constant(name: str) -> object:
    raise _Refused(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is out of range")
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON for answers, with `NaN` and `Infinity` refused as they are in
    bodies: Python writes them by default, and no JSON parser on a device reads them.
    A non-finite number reaching an answer is a bug (a logged 500), never invalid JSON
    handed to a client. Keys keep the order they were built in."""

    sort_keys = False

    def dumps(self, obj: object, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def _check_surrogates(value: object) -> None:
    """Escaped lone surrogates (`\\ud800`) parse, but no database or UTF-8 encoder
    takes them; only checked when the raw body has such an escape."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("invalid JSON body: a string holds a lone UTF-16 surrogate") from None


def _shown(text: str, limit: int = 40) -> str:
    return json.dumps(text if len(text) <= limit else text[:limit] + "…")
