"""auth-service's settings: contract §5's variables, the cross-service agreements, its own knobs.

Everything is validated once at start-up; a malformed TOKEN_ENCRYPTION_KEYS, a
RETURN_URL_ALLOWLIST entry that is not a clean absolute http(s) URL (named by its position), or
any other bad value makes `load_settings` refuse to start with a one-line reason that never
echoes a value.
The variables each integration declares in its manifest (its system OAuth app, the Atlassian
base URLs) are read and validated with the manifests (`integration_manifests`), not here.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from auth_service.domain.keys import parse_keyring
from auth_service.domain.urls import ReturnUrlRule, parse_return_allowlist
from platform_core.settings import ServiceSettings

SERVICE_NAME = "auth-service"


class AuthSettings(ServiceSettings):
    port: int = Field(default=8081, ge=1, le=65535)
    public_base_url: str = Field(default="http://127.0.0.1:8081", pattern=r"^https?://[^/\s]+$")
    token_encryption_keys: SecretStr
    allow_insecure_provider_urls: bool = False
    return_url_allowlist: str = ""
    refresh_keepalive_days: int = Field(default=30, ge=1, le=80)
    rate_limit_per_minute: int = Field(default=120, ge=1, le=100_000)
    max_open_authorizations_per_app: int = Field(default=100, ge=1, le=100_000)
    # How many reverse proxies in front append to X-Forwarded-For: the client address of the
    # browser routes' rate limit is the entry that many from the right (0: the TCP peer).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    finished_authorization_retention_seconds: int = Field(default=30 * 24 * 3600, ge=1)

    admin_link_ttl_seconds: int = Field(default=15 * 60, ge=60)
    user_link_ttl_seconds: int = Field(default=60 * 60, ge=60)
    max_link_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    state_ttl_seconds: int = Field(default=10 * 60, ge=30)
    refresh_timeout_seconds: float = Field(default=10.0, gt=0)
    refresh_max_attempts: int = Field(default=3, ge=1, le=10)
    refresh_backoff_seconds: float = Field(default=0.25, ge=0)
    refresh_max_backoff_seconds: float = Field(default=5.0, ge=0)
    force_refresh_window_seconds: float = Field(default=5.0, ge=0)
    # The token fast path's cache of credentials in each replica: the oldest an entry may be
    # served while its change stream is interrupted (0 turns the cache off).
    credential_cache_max_age_seconds: float = Field(default=10.0, ge=0, le=300)
    keepalive_interval_seconds: float = Field(default=3600.0, gt=0)
    keepalive_batch: int = Field(default=100, ge=1)

    @field_validator("token_encryption_keys")
    @classmethod
    def _well_formed_keys(cls, value: SecretStr) -> SecretStr:
        parse_keyring(value.get_secret_value())
        return value

    @field_validator("return_url_allowlist")
    @classmethod
    def _well_formed_allowlist(cls, value: str) -> str:
        parse_return_allowlist(value)
        return value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def callback_url(self) -> str:
        return f"{self.public_base_url}/oauth/callback"

    @property
    def return_url_rules(self) -> tuple[ReturnUrlRule, ...]:
        return parse_return_allowlist(self.return_url_allowlist)

    @property
    def secure_origin(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def lease_seconds(self) -> float:
        """Longer than a whole refresh (every attempt and backoff), so a live holder keeps it."""
        per_attempt = self.refresh_timeout_seconds + self.refresh_max_backoff_seconds
        return self.refresh_max_attempts * per_attempt + 5.0
