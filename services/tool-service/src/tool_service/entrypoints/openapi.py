"""tool-service's OpenAPI 3.1 document (contract §0: every route it serves).

The routes of `entrypoints.http` are described from the same pydantic models they answer with.
`/mcp` is one operation per method (POST a JSON-RPC message, GET the session's stream, DELETE
the session), whose bodies are the Model Context Protocol's own JSON-RPC messages, described by
the MCP specification rather than here, and whose refusals are the bearer challenges of
`domain.errors`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from platform_core.errors import PROBLEM_CONTENT_TYPE
from platform_core.openapi import PROBLEM_SCHEMA
from tool_service.domain.access import REQUIRED_SCOPE
from tool_service.entrypoints.schemas import Health, ProtectedResourceMetadata

REF = "#/components/schemas/{model}"
MCP_SPEC = "https://modelcontextprotocol.io/specification"


def build_openapi(title: str, version: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [Health, ProtectedResourceMetadata]
    _, defs = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Installed templates as tools for LLM agents, over the Model Context Protocol "
                "(Streamable HTTP) at /mcp."
            ),
        },
        "paths": {
            "/mcp": _mcp_operations(),
            "/.well-known/oauth-protected-resource": _metadata_operation("metadata"),
            "/.well-known/oauth-protected-resource/mcp": _metadata_operation("metadata_for_mcp"),
            "/healthz": _get("healthz", "The process is alive", "Health"),
            "/readyz": _get(
                "readyz",
                "template-service and RabbitMQ are reachable",
                "Health",
                also={"503": _json("Not ready", "Health")},
            ),
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics",
                    "tags": ["operations"],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This OpenAPI 3.1 document",
                    "tags": ["operations"],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {**defs.get("$defs", {}), "Problem": PROBLEM_SCHEMA},
            "securitySchemes": {
                "platformJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "The platform's HS256 JWT with aud including tool-service, scope "
                        "actions:run, exactly one app_ids entry and optionally user_id"
                    ),
                }
            },
            "headers": {
                "WWW-Authenticate": {
                    "description": (
                        'Bearer challenge (RFC 6750 §3) naming resource_metadata="<PUBLIC_BASE_URL>'
                        '/.well-known/oauth-protected-resource" (RFC 9728 §5.1) and '
                        'scope="actions:run"; error="invalid_token" or "insufficient_scope" '
                        "when a token was sent"
                    ),
                    "schema": {"type": "string"},
                },
                "Mcp-Session-Id": {
                    "description": "The stateful session (protocol 2025-11-25)",
                    "schema": {"type": "string"},
                },
            },
        },
    }


def _mcp_operations() -> dict[str, Any]:
    refusals = {
        "401": _problem(
            "No token, or one that is invalid, expired or not for tool-service (no aud naming it)"
        ),
        "403": _problem("The token lacks actions:run or does not name exactly one app"),
    }
    common = {
        "tags": ["mcp"],
        "security": [{"platformJwt": []}],
        "x-required-scope": REQUIRED_SCOPE.value,
        "externalDocs": {"url": f"{MCP_SPEC}/2025-11-25/basic/transports"},
    }
    session = {
        "name": "Mcp-Session-Id",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
    }
    version = {
        "name": "MCP-Protocol-Version",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "examples": ["2025-11-25", "2026-07-28"]},
    }
    message = {"type": "object", "description": "A JSON-RPC 2.0 message of the MCP specification"}
    return {
        "post": {
            **common,
            "operationId": "mcp_message",
            "summary": "Send one MCP JSON-RPC message (initialize, tools/list, tools/call, ...)",
            "parameters": [session, version],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": message}},
            },
            "responses": {
                "200": {
                    "description": "The response, as JSON or as a stream of server messages",
                    "headers": {"Mcp-Session-Id": {"$ref": "#/components/headers/Mcp-Session-Id"}},
                    "content": {
                        "application/json": {"schema": message},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                },
                "202": {"description": "A notification or response was accepted"},
                **refusals,
                "404": {"description": "No such session (expired, deleted, or another caller's)"},
                "406": {"description": "Accept must allow application/json and text/event-stream"},
                "413": {"description": "The body is too large"},
            },
        },
        "get": {
            **common,
            "operationId": "mcp_stream",
            "summary": (
                "Open the session's stream of server messages, such as "
                "notifications/tools/list_changed (protocol 2025-11-25)"
            ),
            "parameters": [{**session, "required": True}, version],
            "responses": {
                "200": {
                    "description": "Server-sent events",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **refusals,
                "404": {"description": "No such session"},
                "405": {"description": "Not at protocol 2026-07-28: use subscriptions/listen"},
            },
        },
        "delete": {
            **common,
            "operationId": "mcp_end_session",
            "summary": "End the session (protocol 2025-11-25)",
            "parameters": [{**session, "required": True}, version],
            "responses": {
                "200": {"description": "The session ended"},
                **refusals,
                "404": {"description": "No such session"},
            },
        },
    }


def _metadata_operation(operation_id: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": "OAuth 2.0 Protected Resource Metadata of /mcp (RFC 9728)",
            "tags": ["authorization"],
            "responses": {"200": _json("OK", "ProtectedResourceMetadata")},
        }
    }


def _get(
    operation_id: str, summary: str, model: str, also: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["operations"],
            "responses": {"200": _json("OK", model), **(also or {})},
        }
    }


def _json(description: str, model: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
    }


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
