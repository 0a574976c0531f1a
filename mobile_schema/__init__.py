"""The wire contract: every document that travels between devices and the server.

Imports only marshmallow. See docs/PROTOCOL.md for the envelope and docs/ARCHITECTURE.md
for where this package sits.
"""

from .errors import DocumentInvalid, Problem
from .registry import DOC_TYPES, merge_rules
from .validation import problems_of, validate_document, validate_envelope
from .versions import CURRENT_VERSION, OLDEST_SUPPORTED

__all__ = [
    "CURRENT_VERSION",
    "DOC_TYPES",
    "OLDEST_SUPPORTED",
    "DocumentInvalid",
    "Problem",
    "merge_rules",
    "problems_of",
    "validate_document",
    "validate_envelope",
]
