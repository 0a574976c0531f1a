"""Machine-readable validation problems.

Every rejection a device or a script sees names the document, the field (as a JSON
Pointer, the same path a JSON Schema validator reports), a stable error code and a
human message, so an app can highlight the field and a support person can read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Stable error codes. Apps switch on these; never rename one.
REQUIRED = "required"
NULL = "null"
INVALID_TYPE = "invalid_type"
INVALID_FORMAT = "invalid_format"
INVALID_CHOICE = "invalid_choice"
TOO_LONG = "too_long"
TOO_SHORT = "too_short"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_FIELD = "unknown_field"
UNKNOWN_DOC_TYPE = "unknown_doc_type"
UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
MISSING_TIMEZONE = "missing_timezone"
INVALID = "invalid"

CODES = frozenset(
    {
        REQUIRED,
        NULL,
        INVALID_TYPE,
        INVALID_FORMAT,
        INVALID_CHOICE,
        TOO_LONG,
        TOO_SHORT,
        OUT_OF_RANGE,
        UNKNOWN_FIELD,
        UNKNOWN_DOC_TYPE,
        UNSUPPORTED_SCHEMA_VERSION,
        MISSING_TIMEZONE,
        INVALID,
    }
)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one document."""

    doc_id: str | None
    path: str
    code: str
    message: str

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = self.path or "(document)"
        return f"{self.doc_id or '(no _id)'} {where}: {self.code}: {self.message}"


class DocumentInvalid(ValueError):
    """A document failed validation; `problems` says exactly where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}


def coded(code: str, message: str) -> str:
    """Encode a code into a marshmallow message; `split_coded` takes it apart again."""
    return f"{code}: {message}"


def split_coded(message: str) -> tuple[str, str]:
    """Return (code, human message) of a message written by `coded`."""
    code, sep, rest = message.partition(": ")
    if sep and code in CODES:
        return code, rest
    return INVALID, message


def json_pointer(parts: list) -> str:
    """RFC 6901 pointer for a list of keys and indexes ('' is the whole document)."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped)
