"""template-service's settings: the common ones of contract §5 and its own."""

from __future__ import annotations

from pydantic import Field

from platform_core.settings import ServiceSettings

SERVICE_NAME = "template-service"


class TemplateSettings(ServiceSettings):
    port: int = Field(default=8083, ge=1, le=65535)
    # Contract §5 gives template-service AUTH_SERVICE_URL; it calls no auth-service route yet
    # (dialog tasks carry a binding, and the dialog runtime asks auth-service for tokens).
    auth_service_url: str = Field(default="http://127.0.0.1:8081", pattern=r"^https?://\S+$")
