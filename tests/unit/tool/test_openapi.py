"""tool-service's OpenAPI document of `/mcp`: described from the MCP SDK's own envelope models and
protocol versions, with every status its Streamable HTTP transport answers, so a fuzzer (and a
reader) sees the endpoint as it is served."""

from __future__ import annotations

from typing import Any

from mcp_types import InitializeRequestParams, JSONRPCRequest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from tool_service.entrypoints.openapi import INITIALIZE, build_openapi


def mcp() -> dict[str, Any]:
    operations: dict[str, Any] = build_openapi("tool-service", "1.0")["paths"]["/mcp"]
    return operations


def versions(operation: dict[str, Any]) -> list[str]:
    [header] = [p for p in operation["parameters"] if p["name"] == "MCP-Protocol-Version"]
    enum: list[str] = header["schema"]["enum"]
    return enum


def test_a_posted_message_is_the_sdks_json_rpc_request_or_notification() -> None:
    body = mcp()["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/JSONRPCRequest"},
            {"$ref": "#/components/schemas/JSONRPCNotification"},
        ]
    }
    schemas = build_openapi("tool-service", "1.0")["components"]["schemas"]
    assert schemas["JSONRPCRequest"]["required"] == ["jsonrpc", "id", "method"]
    assert {"JSONRPCResponse", "JSONRPCError", "ErrorData"} <= set(schemas)


def test_the_example_is_an_initialize_the_sdk_accepts() -> None:
    example = mcp()["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert example["initialize"]["value"] == INITIALIZE
    request = JSONRPCRequest.model_validate(INITIALIZE)
    InitializeRequestParams.model_validate(request.params)


def test_the_protocol_versions_are_the_sdks_and_only_sessions_have_get_and_delete() -> None:
    operations = mcp()
    assert versions(operations["post"]) == [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS]
    for method in ("get", "delete"):
        assert versions(operations[method]) == list(HANDSHAKE_PROTOCOL_VERSIONS)
        session = next(p for p in operations[method]["parameters"] if p["name"] == "Mcp-Session-Id")
        assert session["required"] is True
        assert operations[method]["responses"]["405"]["headers"]["Allow"]["required"] is True


def test_every_status_the_transport_answers_is_documented() -> None:
    operations = mcp()
    assert set(operations["post"]["responses"]) == {
        "200", "202", "400", "401", "403", "404", "406", "413", "415", "503",
    }  # fmt: skip
    assert set(operations["get"]["responses"]) == {
        "200", "400", "401", "403", "404", "405", "406", "409",
    }  # fmt: skip
    assert set(operations["delete"]["responses"]) == {"200", "400", "401", "403", "404", "405"}
    refused = operations["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert refused == {"$ref": "#/components/schemas/JSONRPCError"}


def test_each_server_sent_event_carries_one_json_rpc_message() -> None:
    stream = mcp()["get"]["responses"]["200"]["content"]["text/event-stream"]["schema"]
    data = stream["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    assert {"$ref": "#/components/schemas/JSONRPCNotification"} in data["contentSchema"]["anyOf"]
    posted = mcp()["post"]["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert posted == stream
