"""Value shapes that contract.md uses in more than one place: subjects, profiles, sites, times.

They appear in HTTP bodies of several services and in event payloads, so they are defined once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints


def rfc3339(value: datetime) -> str:
    """`2026-11-29T10:00:00Z`: UTC, second precision, as the contract writes times."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    return datetime.now(UTC)


UtcDateTime = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]
IntegrationName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
OpaqueId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# Where a browser goes after a consent: printable ASCII without a backslash, so what
# auth-service checks against its allowlist is what the browser will read (contract §2).
ReturnUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=3000, pattern=r"^[!-\[\]-~]+$")
]


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _tag_required(tag: str) -> Callable[[dict[str, Any]], None]:
    """A union member's tag has a default for building it in code, but a request must send it:
    the published schema says so (the parser needs it to pick the member)."""

    def require(schema: dict[str, Any]) -> None:
        required = schema.setdefault("required", [])
        if tag not in required:
            required.insert(0, tag)

    return require


class Tagged(ContractModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_tag_required("type"))


class KindTagged(ContractModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_tag_required("kind"))


class AppSubject(Tagged):
    type: Literal["app"] = "app"


class UserSubject(Tagged):
    type: Literal["user"] = "user"
    user_id: UserId


Subject = Annotated[AppSubject | UserSubject, Field(discriminator="type")]


class SystemProfileRef(KindTagged):
    kind: Literal["system"] = "system"


class CustomProfileRef(KindTagged):
    kind: Literal["custom"] = "custom"
    profile_id: OpaqueId


ProfileRef = Annotated[SystemProfileRef | CustomProfileRef, Field(discriminator="kind")]

AuthorizationType = Literal["pre_authorize", "user_authorize"]


class SiteResource(ContractModel):
    cloud_id: str
    site_url: str
    api_base_url: str | None = None


class ErrorInfo(ContractModel):
    code: str
    description: str | None = None
