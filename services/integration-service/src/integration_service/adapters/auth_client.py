"""The calls integration-service makes to auth-service, each with a short-lived service token.

`create_authorization` is `POST /v1/authorizations`; `check_profile` reads the system profiles or
the app's custom profile (contract §2) so that user_authorize, which needs no consent now, still
refuses a profile that is missing, of another app or for another integration. auth-service's
problem codes about the caller's input are passed on unchanged, and any other 422 it answers
(input it refused, such as a return_url) stays a 422: bad input must not look like an outage.
Any other answer, a timeout or a refused connection becomes 503 `auth_service_unavailable`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import ValidationError

from integration_service.domain.authorizations import AuthorizationRequest, IssuedAuthorization
from integration_service.domain.errors import (
    AuthServiceRejected,
    AuthServiceUnavailable,
    ReturnUrlNotAllowed,
    TooManyOpenAuthorizations,
)
from platform_core import tracing
from platform_core.contract_types import ProfileRef
from platform_core.errors import (
    AuthProfileNotFound,
    IntegrationNotFound,
    ProblemError,
    SystemProfileUnavailable,
    TooManyRequests,
)
from platform_core.logs import get_logger
from platform_core.peer_http import PeerAnswer, PeerUnreachable, call_peer
from platform_core.service_auth import Scope, mint_token

log = get_logger("integration_service.auth_client")

CALLER = "integration-service"

PASSED_THROUGH: dict[tuple[int, str], type[ProblemError]] = {
    (422, "auth_profile_not_found"): AuthProfileNotFound,
    (422, "return_url_not_allowed"): ReturnUrlNotAllowed,
    (429, "too_many_open_authorizations"): TooManyOpenAuthorizations,
    (429, "too_many_requests"): TooManyRequests,
    (503, "system_profile_unavailable"): SystemProfileUnavailable,
    (404, "integration_not_found"): IntegrationNotFound,
}


class AuthServiceClient:
    def __init__(self, base_url: str, jwt_secret: str, timeout_seconds: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._secret = jwt_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, middlewares=tracing.client_middlewares(CALLER)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_authorization(self, request: AuthorizationRequest) -> IssuedAuthorization:
        answer = await self._call(
            "POST",
            "/v1/authorizations",
            request.app_id,
            Scope.WRITE,
            json=request.model_dump(mode="json", exclude_none=True),
        )
        if answer.status == 201:
            try:
                return IssuedAuthorization.model_validate(answer.body)
            except ValidationError:
                log.warning("auth_service_bad_answer", status=answer.status)
                raise AuthServiceUnavailable("auth-service answered unexpectedly") from None
        raise _problem(answer.status, answer.body, answer.headers.get("Retry-After"))

    async def check_profile(self, app_id: str, integration: str, profile: ProfileRef) -> None:
        """Raise the problem a configuration with `profile` would get; return if it is usable."""
        if profile.kind == "custom":
            path = f"/v1/apps/{app_id}/auth-profiles/{quote(profile.profile_id, safe='')}"
            status, body, _ = await self._call("GET", path, app_id, Scope.READ)
            if status == 404:
                raise AuthProfileNotFound(f"No auth profile {profile.profile_id!r} for this app")
            if status != 200 or not isinstance(body, dict):
                raise _problem(status, body)
            if body.get("integration") != integration:
                raise AuthProfileNotFound(f"That auth profile is not for {integration}")
            return
        status, body, _ = await self._call("GET", "/v1/auth-profiles/system", app_id, Scope.READ)
        if status != 200:
            raise _problem(status, body)
        items = body.get("items") if isinstance(body, dict) else body
        usable = isinstance(items, list) and any(
            isinstance(item, dict)
            and item.get("integration") == integration
            and item.get("available") is True
            for item in items
        )
        if not usable:
            raise SystemProfileUnavailable(f"No system OAuth app is configured for {integration}")

    async def _call(
        self, method: str, path: str, app_id: str, scope: Scope, json: Any = None
    ) -> PeerAnswer:
        if self._session is None:
            raise RuntimeError("AuthServiceClient.start() has not run")
        token = mint_token(self._secret, CALLER, [scope], app_ids=[app_id])
        try:
            url = f"{self._base_url}{path}"
            return await call_peer(self._session, method, url, token, json=json)
        except PeerUnreachable as exc:
            log.warning("auth_service_unreachable", error=str(exc))
            raise AuthServiceUnavailable("auth-service did not answer") from None


def _problem(status: int, body: Any, retry_after: str | None = None) -> ProblemError:
    code = body.get("code") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    detail = detail if isinstance(detail, str) else None
    known = PASSED_THROUGH.get((status, code)) if isinstance(code, str) else None
    if known is not None:
        # A wait auth-service asked for is passed on, when it is a plain number of seconds.
        wait = retry_after.strip() if retry_after else ""
        headers = {"Retry-After": wait} if status == 429 and wait.isdigit() else None
        return known(detail, headers=headers)
    if status == 422:
        errors = body.get("errors") if isinstance(body, dict) else None
        usable = errors if code == "validation_error" and isinstance(errors, list) else []
        return AuthServiceRejected(detail, extra={"errors": usable})
    log.warning("auth_service_refused", status=status, code=code)
    return AuthServiceUnavailable("auth-service could not create the authorization")
