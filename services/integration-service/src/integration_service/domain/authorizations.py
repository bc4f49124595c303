"""What integration-service asks of auth-service, and what it gets back (contract §2)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from platform_core.contract_types import ContractModel, ProfileRef, Subject


class AuthorizationRequest(ContractModel):
    app_id: str
    integration: str
    profile: ProfileRef
    subject: Subject
    return_url: str | None = None
    app_name: str | None = None  # shown on auth-service's confirmation page


class IssuedAuthorization(BaseModel):
    """auth-service's 201 answer; fields it may add later are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    authorization_id: str
    authorization_url: str
    expires_at: datetime
