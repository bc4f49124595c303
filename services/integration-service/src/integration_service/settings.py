"""integration-service's settings: the common ones of contract §5 and its own."""

from __future__ import annotations

from pydantic import Field

from platform_core.settings import ServiceSettings

SERVICE_NAME = "integration-service"


class IntegrationSettings(ServiceSettings):
    port: int = Field(default=8082, ge=1, le=65535)
    auth_service_url: str = Field(default="http://127.0.0.1:8081", pattern=r"^https?://\S+$")
    auth_service_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_change_attempts: int = Field(default=30, ge=1, le=1000)
