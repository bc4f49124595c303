"""OpenAPI 3.1 generated from the route table and the pydantic models its handlers take.

Nothing here is written by hand per route: paths, parameters, bodies, responses and their
headers all come from `platform_core.api.Endpoint`, which is what the server actually serves.
A form body is documented as `application/x-www-form-urlencoded`; a route answering HTML pages
documents every answer, its errors included, as `text/html`, and its bad input as one 400.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from platform_core.api import FORM_CONTENT_TYPE, Endpoint, FormModel, Header
from platform_core.errors import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    Forbidden,
    MalformedJson,
    PayloadTooLarge,
    ProblemError,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)

REF = "#/components/schemas/{model}"
HTML = "text/html"
# Sent with every refusal of a missing or bad token (platform_core.errors.Unauthenticated).
CHALLENGE = {"WWW-Authenticate": Header('The bearer challenge, Bearer realm="platform"')}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable snake_case error code"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def build_openapi(title: str, version: str, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    models = _models(endpoints)
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "platformJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _models(endpoints: Iterable[Endpoint]) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for endpoint in endpoints:
        for part, model in endpoint.inputs.items():
            if part == "body":
                seen[model.__name__] = model
        for response in endpoint.responses.values():
            if response is not None:
                seen[response.__name__] = response
    return list(seen.values())


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__,
        "tags": list(endpoint.tags),
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint),
    }
    if endpoint.scope is not None:
        operation["security"] = [{"platformJwt": []}]
        operation["x-required-scope"] = endpoint.scope.value
    if body := endpoint.inputs.get("body"):
        media_type = FORM_CONTENT_TYPE if issubclass(body, FormModel) else "application/json"
        operation["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": {"$ref": REF.format(model=body.__name__)}}},
        }
    return operation


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    parameters = []
    for part, where in (("path", "path"), ("query", "query")):
        model = endpoint.inputs.get(part)
        if model is None:
            continue
        schema = model.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {
                    "name": name,
                    "in": where,
                    "required": where == "path" or name in required,
                    "schema": prop,
                }
            )
    return parameters


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in endpoint.responses.items():
        if model is None:
            # A redirect carries no page, only where to go (its Location header).
            page = endpoint.html and not 300 <= status < 400
            responses[str(status)] = {"description": _describe(status)} | (
                {"content": {HTML: {"schema": {"type": "string"}}}} if page else {}
            )
        else:
            responses[str(status)] = {
                "description": _describe(status),
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}
                },
            }
    error_type = HTML if endpoint.html else PROBLEM_CONTENT_TYPE
    error_schema = {"type": "string"} if endpoint.html else {"$ref": REF.format(model="Problem")}
    for error in _errors(endpoint):
        entry = responses.setdefault(
            str(error.status),
            {"description": error.title, "content": {error_type: {"schema": error_schema}}},
        )
        codes = entry.setdefault("x-codes", [])
        if error.code not in codes:
            codes.append(error.code)
    headers = dict(endpoint.headers)
    if endpoint.scope is not None:
        headers[Unauthenticated.status] = {**CHALLENGE, **headers.get(Unauthenticated.status, {})}
    for status, named in headers.items():
        responses[str(status)]["headers"] = {
            name: {
                "description": h.description,
                "required": h.required,
                "schema": {"type": "string"},
            }
            for name, h in named.items()
        }
    return responses


def _errors(endpoint: Endpoint) -> list[type[ProblemError]]:
    errors = list(endpoint.errors)
    if endpoint.inputs:
        errors.append(BadRequest if endpoint.html else ValidationFailed)
    body = endpoint.inputs.get("body")
    if body is not None and issubclass(body, FormModel):
        errors += [BadRequest, UnsupportedMediaType, PayloadTooLarge]
    elif body is not None:
        errors += [MalformedJson, BadRequest, UnsupportedMediaType, PayloadTooLarge]
    if endpoint.scope is not None:
        errors += [Unauthenticated, Forbidden]
    return errors


def _describe(status: int) -> str:
    return HTTPStatus(status).phrase
