"""template-service's settings: the common ones of contract §5 and its own."""

from __future__ import annotations

from pydantic import Field

from platform_core.settings import ServiceSettings

SERVICE_NAME = "template-service"


class TemplateSettings(ServiceSettings):
    port: int = Field(default=8083, ge=1, le=65535)
    auth_service_url: str = Field(default="http://127.0.0.1:8081", pattern=r"^https?://\S+$")
    auth_service_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Runs (contract §3): one call's timeout, the whole run's deadline, how long 429/503 may be
    # waited out and how often, and how long runs are kept.
    provider_call_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    run_deadline_seconds: float = Field(default=60.0, gt=0, le=600)
    provider_max_attempts: int = Field(default=4, ge=1, le=10)
    provider_max_wait_seconds: float = Field(default=10.0, ge=0, le=120)
    provider_backoff_seconds: float = Field(default=0.5, ge=0, le=30)
    max_provider_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    run_retention_days: int = Field(default=30, ge=1, le=3650)
    allow_insecure_provider_urls: bool = False
