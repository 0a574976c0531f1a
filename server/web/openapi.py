"""OpenAPI 3.1 description of the REST API, built with apispec from the views themselves.

A view declares its contract with `@documented(...)` (summary, request and response
schemas); `build_spec` walks the URL map, so the document cannot drift from the routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["error", "reason"],
}


def documented(
    summary: str,
    request=None,
    response=None,
    status: int = 200,
    tag: str = "api",
    many: bool = False,
) -> Callable:
    def decorate(view: Callable) -> Callable:
        view.sopu_doc = {
            "summary": summary,
            "request": request,
            "response": response,
            "status": status,
            "tag": tag,
            "many": many,
        }
        return view

    return decorate


def _operation(spec: APISpec, doc: dict, roles) -> dict:
    op: dict = {"summary": doc["summary"], "tags": [doc["tag"]], "responses": {}}
    if doc["request"] is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": doc["request"]}},
        }
    body = {"description": "OK"}
    if doc["response"] is not None:
        schema = {"type": "array", "items": doc["response"]} if doc["many"] else doc["response"]
        body["content"] = {"application/json": {"schema": schema}}
    op["responses"][str(doc["status"])] = body
    for status, text in (
        ("400", "invalid input"),
        ("401", "not authenticated"),
        ("403", "forbidden for this role"),
        ("404", "not found"),
    ):
        op["responses"][status] = {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if roles:
        op["description"] = "Roles: " + ", ".join(roles)
    return op


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title="Sopu API", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()]
    )
    spec.components.schema("Error", ERROR)
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "sopu_doc", None)
        if doc is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        roles = getattr(view, "sopu_roles", None)
        methods = sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
        spec.path(path=path, operations={m: _operation(spec, doc, roles) for m in methods})
    return spec.to_dict()
