"""CloudEvents 1.0 envelope and one pydantic model per event type of contract §4.

Producers build events with `new_event`; consumers validate what arrives with `parse_event`,
which raises `InvalidEvent` for anything that is not a well-formed event of a known type.
No event model has a field for a token or a secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from platform_core.contract_types import (
    AuthorizationType,
    ProfileRef,
    SiteResource,
    Subject,
    UtcDateTime,
    utc_now,
)

EXCHANGE = "integrations"
CONTENT_TYPE = "application/cloudevents+json"


class InvalidEvent(ValueError):
    """A message that can never be processed: it goes to the dead-letter queue, not back."""


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: UtcDateTime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]


class EventData(BaseModel):
    """Base of every event payload; unknown fields are ignored so producers can add some."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    event_type: ClassVar[str]
    app_id: str = Field(min_length=1)


class AuthorizationCompleted(EventData):
    event_type = "authorization.completed"
    authorization_id: str
    integration: str
    subject: Subject
    credential_id: str
    profile: ProfileRef
    scopes: list[str]
    resource: SiteResource | None


class AuthorizationFailed(EventData):
    event_type = "authorization.failed"
    authorization_id: str
    integration: str
    subject: Subject
    error: str
    error_description: str | None = None


class AuthorizationLinkIssued(EventData):
    event_type = "authorization.link_issued"
    integration: str
    user_id: str
    link: str
    expires_at: UtcDateTime


class CredentialRefreshed(EventData):
    event_type = "credential.refreshed"
    credential_id: str
    integration: str
    subject: Subject
    expires_at: UtcDateTime


class CredentialReauthorizationRequired(EventData):
    event_type = "credential.reauthorization_required"
    credential_id: str
    integration: str
    subject: Subject
    reason: str


class CredentialRevoked(EventData):
    event_type = "credential.revoked"
    credential_id: str
    integration: str
    subject: Subject
    reason: str


class IntegrationConfigured(EventData):
    event_type = "integration.configured"
    integration: str
    authorization_type: AuthorizationType
    profile: ProfileRef | None
    first_configuration: bool
    configured_at: UtcDateTime


class IntegrationReauthorizationRequired(EventData):
    event_type = "integration.reauthorization_required"
    integration: str
    credential_id: str


class IntegrationDisabled(EventData):
    event_type = "integration.disabled"
    integration: str


class IntegrationEnabled(EventData):
    event_type = "integration.enabled"
    integration: str


class IntegrationRemoved(EventData):
    event_type = "integration.removed"
    integration: str


class TemplateInstalled(EventData):
    event_type = "template.installed"
    template_id: str
    template_version: str
    installation_id: str
    dialog_task_id: str


class TemplateUninstalled(EventData):
    event_type = "template.uninstalled"
    template_id: str
    installation_id: str
    dialog_task_id: str


class DialogTaskCreated(EventData):
    event_type = "dialog_task.created"
    dialog_task_id: str
    name: str
    template_id: str
    definition: dict[str, Any]


class DialogTaskDeleted(EventData):
    event_type = "dialog_task.deleted"
    dialog_task_id: str


class DialogTaskUpdated(EventData):
    """A task's integration binding changed (disable, enable, removal) or it was upgraded."""

    event_type = "dialog_task.updated"
    dialog_task_id: str
    status: Literal["active", "integration_disabled"]


class DialogTaskRunFinished(EventData):
    event_type = "dialog_task.run_finished"
    dialog_task_id: str
    run_id: str
    status: Literal["succeeded", "failed", "authorization_required"]


EVENT_TYPES: dict[str, type[EventData]] = {
    cls.event_type: cls
    for cls in (
        AuthorizationCompleted,
        AuthorizationFailed,
        AuthorizationLinkIssued,
        CredentialRefreshed,
        CredentialReauthorizationRequired,
        CredentialRevoked,
        IntegrationConfigured,
        IntegrationReauthorizationRequired,
        IntegrationDisabled,
        IntegrationEnabled,
        IntegrationRemoved,
        TemplateInstalled,
        TemplateUninstalled,
        DialogTaskCreated,
        DialogTaskDeleted,
        DialogTaskUpdated,
        DialogTaskRunFinished,
    )
}


def new_event(
    source: str,
    data: EventData,
    *,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> CloudEvent:
    """A new event; `traceparent` is the CloudEvents distributed-tracing extension."""
    extensions = {"traceparent": traceparent} if traceparent is not None else {}
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=data.event_type,
        time=time or utc_now(),
        subject=data.app_id,
        data=data.model_dump(mode="json"),
        **extensions,
    )


def traceparent_of(event: CloudEvent) -> str | None:
    value = (event.model_extra or {}).get("traceparent")
    return value if isinstance(value, str) and len(value) <= 128 else None


def parse_event(
    body: bytes, types: dict[str, type[EventData]] = EVENT_TYPES
) -> tuple[CloudEvent, EventData]:
    try:
        envelope = CloudEvent.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidEvent(f"not a CloudEvents 1.0 structured event: {_first_error(exc)}") from None
    model = types.get(envelope.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {envelope.type!r}")
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"{envelope.type} data is invalid: {_first_error(exc)}") from None
    return envelope, data


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
