"""OpenAPI 3.1 description of the REST API, built with apispec from the views themselves.

A view declares its contract with `@documented(...)` (summary, request and response
schemas, query parameters, the error statuses only it answers); `build_spec` walks the
URL map, so the document cannot drift from the routes. What follows from the route is
added here, once: its path parameters (404 when unknown), 400 and 413 for a request
body, 400 for query parameters, 401 for a logged-in person's view and 403 for one
limited to some roles. CI checks the document against the running server
(`tests/test_api_schemathesis.py`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import date

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from mobile_schema.fields import ID_PATTERN

from .context import SESSION_COOKIE

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["error", "reason"],
}
ALL_ROLES = frozenset({"worker", "supervisor", "admin"})
STATUS_TEXT = {
    400: "invalid input",
    401: "not authenticated",
    403: "forbidden for this person",
    404: "not found",
    409: "conflicts with the current state",
    413: "request body over max_request_size",
    429: "too many attempts: wait Retry-After seconds",
}
# Views that check credentials themselves (and one that checks who may act on a device)
# answer statuses nothing in their route shows; their modules may move these into
# `errors=` of their own `@documented`.
ENDPOINT_ERRORS = {
    "session.login": (401, 429),
    "session.change_password": (401, 429),
    "devices.refresh": (401,),
    "devices.revoke": (403,),
}


def documented(
    summary: str,
    request=None,
    response=None,
    status: int = 200,
    tag: str = "api",
    many: bool = False,
    errors: tuple[int, ...] = (),
    query: tuple[dict, ...] = (),
) -> Callable:
    """`request`: a marshmallow schema, a JSON Schema, or a function returning one
    (for rules that move with the date); `errors`: statuses the view answers beyond
    what its route implies (403 of a per-record permission, 404 of an id in the body,
    409); `query`: OpenAPI query parameter objects."""

    def decorate(view: Callable) -> Callable:
        view.sopu_doc = {
            "summary": summary,
            "request": request,
            "response": response,
            "status": status,
            "tag": tag,
            "many": many,
            "errors": tuple(errors),
            "query": tuple(query),
        }
        return view

    return decorate


def not_after(day: date) -> str:
    """A pattern matching the `YYYY-MM-DD` dates not after `day`. JSON Schema cannot
    compare dates, but such strings sort as their dates do, so "not after" is a choice
    of prefixes: `day` itself, or its first i characters and then a smaller digit."""
    text = day.isoformat()
    shape = ["-" if ch == "-" else "[0-9]" for ch in text]
    choices = [text] + [
        f"{text[:i]}[0-{int(ch) - 1}]{''.join(shape[i + 1 :])}"
        for i, ch in enumerate(text)
        if ch.isdigit() and ch != "0"
    ]
    return "^(?:" + "|".join(choices) + ")$"


def query_parameter(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _error_statuses(doc: dict, roles, path_params: list[str], endpoint: str) -> set[int]:
    statuses = set(doc["errors"]) | set(ENDPOINT_ERRORS.get(endpoint, ()))
    if doc["request"] is not None:
        statuses |= {400, 413}
    if doc["query"]:
        statuses.add(400)
    if roles is not None:
        statuses.add(401)
        if set(roles) != ALL_ROLES:
            statuses.add(403)
    if path_params:
        statuses.add(404)
    return statuses


def _operation(
    doc: dict, roles, path_params: list[str], endpoint: str, device: bool = False
) -> dict:
    op: dict = {"summary": doc["summary"], "tags": [doc["tag"]], "responses": {}}
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": ID_PATTERN},
        }
        for name in path_params
    ]
    parameters += list(doc["query"])
    if parameters:
        op["parameters"] = parameters
    if doc["request"] is not None:
        request = doc["request"]
        schema = request() if inspect.isfunction(request) else request  # built per day
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    body = {"description": "OK"}
    if doc["response"] is not None:
        schema = {"type": "array", "items": doc["response"]} if doc["many"] else doc["response"]
        body["content"] = {"application/json": {"schema": schema}}
    op["responses"][str(doc["status"])] = body
    for status in sorted(_error_statuses(doc, roles, path_params, endpoint)):
        op["responses"][str(status)] = {
            "description": STATUS_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if roles is not None:
        op["security"] = [{"session": []}]
        op["description"] = "Roles: " + ", ".join(roles)
    if device:
        op["security"] = [{"device": []}]
    return op


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title="Sopu API", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()]
    )
    spec.components.schema("Error", ERROR)
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}
    )
    spec.components.security_scheme("device", {"type": "http", "scheme": "bearer"})
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "sopu_doc", None)
        if doc is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        path_params = re.findall(r"{([^{}]+)}", path)
        roles = getattr(view, "sopu_roles", None)
        device = getattr(view, "sopu_device", False)
        methods = sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
        spec.path(
            path=path,
            operations={
                m: _operation(doc, roles, path_params, rule.endpoint, device) for m in methods
            },
        )
    return spec.to_dict()
