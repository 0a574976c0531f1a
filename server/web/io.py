"""Reading request bodies: JSON only, checked with a marshmallow schema, clear errors."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError

from ..errors import InvalidInput
from .hygiene import read_body
from .json_body import parse_json


def json_body() -> object:
    """The JSON body, strictly parsed (`json_body.parse_json`: no duplicate keys, depth
    limit); 413 past `max_request_size`."""
    if not request.is_json:
        raise InvalidInput("expected a JSON request body (Content-Type: application/json)")
    return parse_json(read_body())


def load(schema: Schema) -> dict:
    """The request body loaded by `schema`; InvalidInput naming every bad field."""
    try:
        return schema.load(json_body())
    except ValidationError as exc:
        fields = sorted(_flatten(exc.messages))
        raise InvalidInput(
            "invalid fields: " + "; ".join(f"{p}: {m}" for p, m in fields),
            fields=[{"path": p, "message": m} for p, m in fields],
        ) from None


def _flatten(messages, prefix: str = ""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{prefix}/{key}")
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, prefix)
    else:
        yield prefix, str(messages)
