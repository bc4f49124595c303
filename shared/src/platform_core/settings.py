"""Service settings read from the environment once, at start-up (contract §5).

`ServiceSettings` holds what every service reads; each service subclasses it. `load_settings`
turns a validation failure into a one-line reason and exit status 2, so a misconfigured service
never starts half-way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, NoReturn, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri
from yarl import URL

MIN_JWT_SECRET_BYTES = 32


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    platform_jwt_secret: SecretStr
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    mongodb_database: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,63}$")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0)
    event_retry_delays_ms: tuple[int, ...] = (1_000, 5_000, 30_000)
    event_prefetch: int = Field(default=16, ge=1, le=1000)
    event_queue: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,200}$")
    integrations_dir: Path | None = Field(
        default=None, description="A folder of integration folders instead of the packaged ones"
    )

    def database_name(self, service: str) -> str:
        """MONGODB_DATABASE, or the service's own name: one database per service."""
        return self.mongodb_database or service.replace("-", "_")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("platform_jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_JWT_SECRET_BYTES} bytes")
        return value

    @field_validator("mongodb_url")
    @classmethod
    def _valid_mongodb_url(cls, value: str) -> str:
        try:
            parse_uri(value)
        except (InvalidURI, ConfigurationError, ValueError) as exc:
            raise ValueError(f"not a MongoDB connection string ({exc})") from None
        return value

    @field_validator("amqp_url")
    @classmethod
    def _valid_amqp_url(cls, value: str) -> str:
        url = URL(value)
        if url.scheme not in {"amqp", "amqps"} or not url.host:
            raise ValueError("not an amqp:// or amqps:// URL with a host")
        return value


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def describe_error(exc: ValidationError) -> str:
    """One line naming every bad variable, without echoing any value (it may be a secret)."""
    parts = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = "is required" if error["type"] == "missing" else error["msg"]
        parts.append(f"{name} {message.removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_settings(cls: type[SettingsT], service_name: str) -> SettingsT:
    try:
        return cls()  # values come from the environment
    except ValidationError as exc:
        refuse_to_start(service_name, describe_error(exc))


def refuse_to_start(service_name: str, reason: str) -> NoReturn:
    print(f"{service_name}: refusing to start: {reason}", file=sys.stderr)
    raise SystemExit(2)
