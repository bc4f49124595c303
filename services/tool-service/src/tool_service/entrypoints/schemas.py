"""The bodies of tool-service's own HTTP routes (everything but `/mcp`, whose bodies are MCP's
JSON-RPC messages), from which both the answers and the OpenAPI document are made."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    checks: dict[str, bool] = {}


class ProtectedResourceMetadata(BaseModel):
    """RFC 9728 §2: what a client needs to get a token for `/mcp`."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(description="The protected resource: {PUBLIC_BASE_URL}/mcp")
    authorization_servers: list[str] = Field(
        description="Issuer identifiers of the authorization servers (MCP_AUTHORIZATION_SERVERS)"
    )
    bearer_methods_supported: list[str] = Field(description="Only the Authorization header")
    scopes_supported: list[str]
    resource_name: str
