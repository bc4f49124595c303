"""auth-service's settings: the common ones of contract §5 and its own."""

from __future__ import annotations

from pydantic import Field

from platform_core.settings import ServiceSettings

SERVICE_NAME = "auth-service"


class AuthSettings(ServiceSettings):
    port: int = Field(default=8081, ge=1, le=65535)
