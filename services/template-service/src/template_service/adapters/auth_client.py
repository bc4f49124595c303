"""The calls template-service makes to auth-service (contract §2), each with a service JWT it
mints itself for that one app, naming auth-service as its audience.

- the access-token call (scope `tokens:issue`) for a run's token;
- `POST /v1/authorizations` for an end user's link, `GET /v1/authorizations/{id}` to see whether
  an earlier link is still open;
- what a connection can do: the app credential's granted scopes, or a custom profile's scopes.

The token in an access-token answer is handed to the run and nowhere else: never logged, never
stored. A refusal that means "no usable credential" becomes `NoUsableCredential`; a disabled
integration `IntegrationDisabled`; anything else (timeouts, 5xx, odd answers)
`AuthServiceUnavailable`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

from platform_core.contract_types import CustomProfileRef, ProfileRef, SiteResource, Subject
from platform_core.errors import IntegrationDisabled
from platform_core.logs import get_logger
from platform_core.peer_http import PeerUnreachable, call_peer
from platform_core.service_auth import Scope, mint_token
from template_service.domain.errors import AuthServiceUnavailable
from template_service.service_layer.ports import Connection, NoUsableCredential, UserLink

log = get_logger("template_service.auth_client")

CALLER = "template-service"
AUDIENCE = ("auth-service",)
NO_CREDENTIAL = {"credential_not_found", "reauthorization_required"}


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str
    scopes: list[str]
    resource: SiteResource | None = None


class _AuthorizationAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    authorization_id: str
    authorization_url: str
    expires_at: datetime


class AuthServiceClient:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, jwt_secret: str, timeout: float
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._secret = jwt_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def access_token(
        self, app_id: str, integration: str, subject: Subject, *, force_refresh: bool
    ) -> Connection:
        path = f"/v1/apps/{quote(app_id, safe='')}/integrations/{integration}/access-token"
        body = {"subject": subject.model_dump(), "min_valid_seconds": 60}
        if force_refresh:
            body["force_refresh"] = True
        status, answer = await self._call("POST", path, app_id, Scope.ISSUE_TOKENS, body)
        if status == 200:
            token = self._parse(_TokenAnswer, answer)
            resource = token.resource
            return Connection(
                access_token=token.access_token,
                scopes=tuple(token.scopes),
                api_base_url=resource.api_base_url if resource else None,
                cloud_id=resource.cloud_id if resource else None,
                site_url=resource.site_url if resource else None,
            )
        code = answer.get("code") if isinstance(answer, dict) else None
        if code in NO_CREDENTIAL:
            raise NoUsableCredential(str(code))
        if code == "integration_disabled":
            raise IntegrationDisabled(f"The app's {integration} integration is disabled")
        raise self._unavailable(status, code)

    async def user_link(
        self, app_id: str, integration: str, profile: ProfileRef, user_id: str
    ) -> UserLink:
        body = {
            "app_id": app_id,
            "integration": integration,
            "profile": profile.model_dump(),
            "subject": {"type": "user", "user_id": user_id},
        }
        status, answer = await self._call("POST", "/v1/authorizations", app_id, Scope.WRITE, body)
        if status != 201:
            raise self._unavailable(
                status, answer.get("code") if isinstance(answer, dict) else None
            )
        issued = self._parse(_AuthorizationAnswer, answer)
        return UserLink(
            app_id=app_id,
            integration=integration,
            user_id=user_id,
            authorization_id=issued.authorization_id,
            link=issued.authorization_url,
            expires_at=issued.expires_at,
        )

    async def link_open(self, app_id: str, authorization_id: str) -> bool:
        path = f"/v1/authorizations/{quote(authorization_id, safe='')}"
        status, answer = await self._call("GET", path, app_id, Scope.READ)
        return status == 200 and isinstance(answer, dict) and answer.get("status") == "pending"

    async def connection_scopes(
        self, app_id: str, integration: str, profile: ProfileRef | None, per_user: bool
    ) -> tuple[str, ...] | None:
        if per_user:
            if not isinstance(profile, CustomProfileRef):
                return None  # the system profile's scopes are the manifest's: the caller knows
            path = f"/v1/apps/{quote(app_id, safe='')}/auth-profiles/{quote(profile.profile_id)}"
            status, answer = await self._call("GET", path, app_id, Scope.READ)
            scopes = answer.get("scopes") if status == 200 and isinstance(answer, dict) else None
            return tuple(scopes) if isinstance(scopes, list) else ()
        path = f"/v1/apps/{quote(app_id, safe='')}/credentials?integration={integration}"
        status, answer = await self._call("GET", path, app_id, Scope.READ)
        items = answer.get("items") if status == 200 and isinstance(answer, dict) else None
        for item in items or []:
            if (
                isinstance(item, dict)
                and item.get("subject") == {"type": "app"}
                and item.get("status") == "active"
            ):
                return tuple(str(s) for s in item.get("scopes") or ())
        return None

    async def _call(
        self, method: str, path: str, app_id: str, scope: Scope, json: Any = None
    ) -> tuple[int, Any]:
        token = mint_token(
            self._secret, CALLER, [scope], app_ids=[app_id], ttl_seconds=60, audience=AUDIENCE
        )
        try:
            answer = await call_peer(
                self._session,
                method,
                f"{self._base_url}{path}",
                token,
                json=json,
                timeout=self._timeout,
            )
        except PeerUnreachable as exc:
            log.warning("auth_service_unreachable", error=str(exc))
            raise AuthServiceUnavailable("auth-service did not answer") from None
        return answer.status, answer.body

    @staticmethod
    def _parse(model: type[Any], answer: Any) -> Any:
        try:
            return model.model_validate(answer)
        except ValidationError:
            raise AuthServiceUnavailable("auth-service answered unexpectedly") from None

    @staticmethod
    def _unavailable(status: int, code: object) -> AuthServiceUnavailable:
        log.warning("auth_service_refused", status=status, code=code)
        return AuthServiceUnavailable("auth-service could not serve the run")
