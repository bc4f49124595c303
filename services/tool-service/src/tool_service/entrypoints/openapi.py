"""tool-service's OpenAPI 3.1 document (contract §0: every route it serves).

The routes of `entrypoints.http` are described from the same pydantic models they answer with.
`/mcp` is one operation per method (POST a JSON-RPC message, GET the session's stream, DELETE
the session), answered by the MCP SDK's Streamable HTTP transport behind the bearer gate. Its
bodies are described by the models that transport reads and writes them with: the JSON-RPC 2.0
envelope (`mcp_types.jsonrpc`), whose `params` and `result` per method are the MCP
specification's; its protocol versions are the SDK's own; its answers are those the transport
gives (a JSON-RPC error with the HTTP status the MCP specification maps it to) and the bearer
challenges of `domain.errors`.

What OpenAPI cannot state is how the parts depend on each other, which the MCP specification
fixes: at 2025-11-25 every message but `initialize` needs the `Mcp-Session-Id` an `initialize`
answered with; at 2026-07-28 each request carries its protocol envelope in `params._meta` and
repeats its method (and tool name) in the `Mcp-Method` (and `Mcp-Name`) header. A well-formed
message breaking those rules is a 400, as the transport specification has it.
"""

from __future__ import annotations

from typing import Any

from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from platform_core.errors import PROBLEM_CONTENT_TYPE
from platform_core.openapi import PROBLEM_SCHEMA
from tool_service.domain.access import REQUIRED_SCOPE
from tool_service.entrypoints.schemas import Health, ProtectedResourceMetadata

REF = "#/components/schemas/{model}"
MCP_SPEC = "https://modelcontextprotocol.io/specification"
JSON = "application/json"
SSE = "text/event-stream"
# What a client may start with: the 2025-11-25 handshake, which opens a session.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "openapi-example", "version": "1.0"},
    },
}


def build_openapi(title: str, version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (Health, "serialization"),
        (ProtectedResourceMetadata, "serialization"),
        (JSONRPCRequest, "validation"),
        (JSONRPCNotification, "validation"),
        (JSONRPCResponse, "serialization"),
        (JSONRPCError, "serialization"),
    ]
    _, defs = models_json_schema(models, ref_template=REF)
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
    session = _header("Mcp-Session-Id", "The session an initialize opened (2025-11-25)")
    every_version = [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS]
    method = _header("Mcp-Method", "At 2026-07-28: the request's method, as in the body")
    name = _header("Mcp-Name", "At 2026-07-28, for tools/call: the tool's name, as in the body")
    stream_only = {
        "405": {
            "description": "At 2026-07-28 there is no session: POST only",
            "headers": {"Allow": {"required": True, "schema": {"type": "string"}}},
        }
    }
    return {
        "post": {
            **common,
            "operationId": "mcp_message",
            "summary": "Send one MCP JSON-RPC message (initialize, tools/list, tools/call, ...)",
            "parameters": [session, _version(every_version), method, name],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {"anyOf": [_ref("JSONRPCRequest"), _ref("JSONRPCNotification")]},
                        "examples": {"initialize": {"value": INITIALIZE}},
                    }
                },
            },
            "responses": {
                "200": {
                    "description": (
                        "The response, as JSON or as a stream of server messages ending with it"
                    ),
                    "headers": {"Mcp-Session-Id": {"$ref": "#/components/headers/Mcp-Session-Id"}},
                    "content": {
                        JSON: {
                            "schema": {"anyOf": [_ref("JSONRPCResponse"), _ref("JSONRPCError")]}
                        },
                        SSE: _server_events(),
                    },
                },
                "202": {"description": "A notification or response was accepted"},
                **_json_rpc_error(
                    "400",
                    "Not one JSON-RPC request or notification, or one breaking the protocol's "
                    "rules: no session (2025-11-25), no envelope or headers not matching it "
                    "(2026-07-28), an unsupported protocol version, invalid params",
                ),
                **refusals,
                **_json_rpc_error(
                    "404", "No such session (expired, ended, or another caller's), or method"
                ),
                "406": {"description": "Accept must allow application/json and text/event-stream"},
                "413": {"description": "The body is too large"},
                **_json_rpc_error("415", "The body must be application/json"),
                **_json_rpc_error("503", "Too many open sessions (MAX_SESSIONS)"),
            },
        },
        "get": {
            **common,
            "operationId": "mcp_stream",
            "summary": (
                "Open the session's stream of server messages, such as "
                "notifications/tools/list_changed (protocol 2025-11-25)"
            ),
            "parameters": [{**session, "required": True}, _version(HANDSHAKE_PROTOCOL_VERSIONS)],
            "responses": {
                "200": {
                    "description": "Server-sent events: the session's notifications and requests",
                    "content": {SSE: _server_events()},
                },
                **_json_rpc_error("400", "No session named, or an unsupported protocol version"),
                **refusals,
                **_json_rpc_error("404", "No such session"),
                **stream_only,
                "406": {"description": "Accept must allow text/event-stream"},
                **_json_rpc_error("409", "The session's stream is already open"),
            },
        },
        "delete": {
            **common,
            "operationId": "mcp_end_session",
            "summary": "End the session (protocol 2025-11-25)",
            "parameters": [{**session, "required": True}, _version(HANDSHAKE_PROTOCOL_VERSIONS)],
            "responses": {
                "200": {"description": "The session ended"},
                **_json_rpc_error("400", "No session named, or an unsupported protocol version"),
                **refusals,
                **_json_rpc_error("404", "No such session"),
                **stream_only,
            },
        },
    }


def _server_events() -> dict[str, Any]:
    """One event of a server-sent event stream (as each event is described before OpenAPI 3.2),
    whose data is one JSON-RPC message: the response, or a notification or request before it."""
    messages = ("JSONRPCResponse", "JSONRPCError", "JSONRPCNotification", "JSONRPCRequest")
    return {
        "schema": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "event": {"const": "message"},
                "id": {"type": "string"},
                "retry": {"type": "integer"},
                "data": {
                    "type": "string",
                    "contentMediaType": JSON,
                    "contentSchema": {"anyOf": [_ref(m) for m in messages]},
                },
            },
        }
    }


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _version(versions: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The protocol version header: one the SDK serves (for a session's own GET and DELETE, one
    of the handshake era's, as only it has sessions). Without it the transport assumes
    2025-03-26, as the MCP transport specification has it."""
    return {
        "name": "MCP-Protocol-Version",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": list(versions)},
    }


def _json_rpc_error(status: str, description: str) -> dict[str, Any]:
    return {
        status: {"description": description, "content": {JSON: {"schema": _ref("JSONRPCError")}}}
    }


def _ref(model: str) -> dict[str, str]:
    return {"$ref": REF.format(model=model)}


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
