"""tool-service's settings: the common ones of contract §5 and its own.

The common variables come from `ServiceSettings`, so they are validated as every service
validates them. tool-service keeps no data of its own, so it never opens MONGODB_URL (see
`adapters.memory_uow` for why its event consumer needs no database); the variable is still
accepted and checked, as everywhere.

Every replica keeps its tool lists and sessions in memory, so each consumes every event on a
queue of its own (`EVENT_QUEUE` plus `.REPLICA_ID`); REPLICA_ID defaults to the host name and
process id, which is unique per pod and per local process.

Its own (contract §5): TEMPLATE_SERVICE_URL, PUBLIC_BASE_URL (its public origin: the MCP
resource is `{PUBLIC_BASE_URL}/mcp`) and MCP_AUTHORIZATION_SERVERS (comma-separated, at least
one, listed in its RFC 9728 metadata). An authorization server URL is an issuer identifier
(RFC 8414 §2): `https`, no query or fragment; plain `http` only to a loopback host, for local
runs.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from platform_core.settings import ServiceSettings

SERVICE_NAME = "tool-service"
LOOPBACK_NAMES = frozenset({"localhost"})


class ToolSettings(ServiceSettings):
    port: int = Field(default=8084, ge=1, le=65535)
    template_service_url: str = Field(default="http://127.0.0.1:8083", pattern=r"^https?://\S+$")
    public_base_url: str = Field(default="http://127.0.0.1:8084", pattern=r"^https?://[^/\s]+/?$")
    mcp_authorization_servers: str
    # template-service calls: lists and probes answer fast; a run may take the run deadline
    # template-service allows (60 s by default), so its call waits longer than that.
    template_service_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    run_timeout_seconds: float = Field(default=90.0, gt=0, le=900)
    # How long an app's tool list is served from memory before it is asked for again; the
    # template events refresh it sooner.
    tools_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # After the end user accepted to connect: how long a tools/call waits for the consent to
    # complete, and how often it looks again when no `authorization.completed` event woke it.
    consent_wait_seconds: float = Field(default=60.0, ge=0, le=600)
    consent_poll_seconds: float = Field(default=10.0, gt=0, le=120)
    # How long a client may take to answer an `elicitation/create` request.
    elicitation_timeout_seconds: float = Field(default=600.0, gt=0, le=3600)
    # Stateful Streamable HTTP sessions (protocol 2025-11-25).
    session_idle_timeout_seconds: float = Field(default=1800.0, gt=0, le=86_400)
    max_sessions: int = Field(default=10_000, ge=1, le=1_000_000)
    replica_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$",
    )

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("template_service_url")
    @classmethod
    def _template_without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("mcp_authorization_servers")
    @classmethod
    def _issuer_urls(cls, value: str) -> str:
        servers = split_servers(value)
        if not servers:
            raise ValueError("must name at least one authorization server URL")
        for server in servers:
            check_issuer_url(server)
        return value

    @property
    def authorization_servers(self) -> tuple[str, ...]:
        return split_servers(self.mcp_authorization_servers)

    @property
    def resource_url(self) -> str:
        """The protected resource this service is (RFC 9728 §1.2): its MCP endpoint."""
        return f"{self.public_base_url}/mcp"

    @property
    def resource_metadata_url(self) -> str:
        """Where its RFC 9728 metadata is served, as the WWW-Authenticate challenge names it."""
        return f"{self.public_base_url}/.well-known/oauth-protected-resource"


def split_servers(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def check_issuer_url(url: str) -> None:
    """Raise ValueError (naming no value: it may be logged) unless `url` can be an issuer."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ValueError("an authorization server is not a URL") from None
    if not host:
        raise ValueError("an authorization server URL has no host")
    if parts.query or parts.fragment:
        raise ValueError("an authorization server URL may not have a query or fragment")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _loopback(host):
        return
    raise ValueError("an authorization server URL must be https (http only to a loopback host)")


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
