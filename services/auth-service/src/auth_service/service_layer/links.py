"""Authorization links (contract §2): issuing them, reading their status, the confirmation page
and the person's "Continue".

The link token is 256 bits from the CSPRNG, stored as a hash. Opening the link (`GET`) only
shows what will be connected, with a form token derived from the authorization: mail scanners
and chat previews fetch links, so looking must spend nothing (an expired link is ended then,
as the sweeper would). The form's POST (`start`) spends the link, once: it stores the OAuth
state's hash, the sealed PKCE verifier and the browser cookie's hash on the authorization, then
redirects to the provider with response_type=code, the profile's exact callback URL, the
scopes, the state, the S256 challenge and the provider's extra parameters.

Issuing refuses a return URL that is malformed (422 validation_error) or not allowed
(return_url_not_allowed), and a new link while the app already has
MAX_OPEN_AUTHORIZATIONS_PER_APP open ones (429 too_many_open_authorizations; counted inside the
issuing transaction, so only requests racing each other can pass the cap, by as many as race).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from auth_service.domain.authorization import Authorization, link_ttl_seconds
from auth_service.domain.errors import (
    AuthorizationNotFound,
    ReturnUrlNotAllowed,
    TooManyOpenAuthorizations,
)
from auth_service.domain.oauth import authorization_url
from auth_service.domain.profiles import OAuthClient
from auth_service.domain.providers import Providers
from auth_service.domain.secrets import (
    Secret,
    capability_hash,
    derive_key,
    form_token,
    new_capability,
    new_pkce_verifier,
    same_form_token,
)
from auth_service.domain.urls import MalformedReturnUrl, allowed_return_url
from auth_service.service_layer.endings import Endings, PageError
from auth_service.service_layer.ports import Clock, Tx, Units
from auth_service.service_layer.profiles import Profiles
from auth_service.settings import AuthSettings
from platform_core.contract_types import ProfileRef, Subject, UserSubject, utc_now
from platform_core.domain import VersionConflict
from platform_core.errors import ProblemError, ValidationFailed
from platform_core.logs import get_logger

log = get_logger("auth_service.dance")
COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,64}")
SWEEP_BATCH = 100
FORM_KEY_PURPOSE = "connect-form-token"


@dataclass(frozen=True)
class Issued:
    authorization_id: str
    authorization_url: str
    expires_at: datetime


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page shows, and the token its form sends back."""

    display_name: str
    app_label: str
    user_id: str | None
    form_token: str
    identity_provider_origin: str
    expires_at: datetime


@dataclass(frozen=True)
class Redirect:
    url: str
    browser_cookie: str


def _link_used() -> PageError:
    return PageError(410, "Link already used", "Ask for a new link to connect.", "link_used")


def _not_found() -> PageError:
    return PageError(404, "Link not found", "This authorization link is not valid.", "not_found")


def _bad_form() -> PageError:
    return PageError(
        400,
        "Please try again",
        "This page is out of date. Open the link again and press Continue.",
        "invalid_form_token",
    )


class Links:
    def __init__(
        self,
        uow: Units,
        providers: Providers,
        profiles: Profiles,
        endings: Endings,
        settings: AuthSettings,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._profiles = profiles
        self._endings = endings
        self._settings = settings
        self._return_rules = settings.return_url_rules
        self._form_key = derive_key(
            settings.platform_jwt_secret.get_secret_value(), FORM_KEY_PURPOSE
        )
        self._clock = clock

    async def issue(
        self,
        *,
        app_id: str,
        integration: str,
        profile: ProfileRef,
        subject: Subject,
        return_url: str | None,
        ttl_seconds: int | None,
        site_hint: str | None = None,
        app_name: str | None = None,
    ) -> Issued:
        await self._profiles.client(app_id, integration, profile)
        if return_url is not None:
            self._check_return_url(return_url)
        settings = self._settings
        link_token = new_capability()
        link = f"{settings.public_base_url}/connect/{link_token}"
        now = self._clock()
        issued = Authorization.issue(
            authorization_id=f"authz_{uuid.uuid4().hex}",
            app_id=app_id,
            integration=integration,
            profile=profile,
            subject=subject,
            link_hash=capability_hash(link_token),
            link=link,
            ttl_seconds=link_ttl_seconds(
                subject,
                ttl_seconds,
                admin_default=settings.admin_link_ttl_seconds,
                user_default=settings.user_link_ttl_seconds,
                maximum=settings.max_link_ttl_seconds,
            ),
            return_url=return_url,
            site_hint=site_hint,
            app_name=app_name,
            now=now,
        )
        authorization = issued.after
        cap = settings.max_open_authorizations_per_app

        async def work(tx: Tx) -> None:
            if await tx.repos.authorizations.open_count(app_id, now) >= cap:
                raise TooManyOpenAuthorizations(
                    f"This app already has {cap} open authorizations; finish or let some expire"
                )
            await tx.repos.authorizations.add(authorization)
            tx.publish_all(issued.events)

        await self._uow.run(work)
        log.info(
            "authorization_issued", authorization_id=authorization.authorization_id, app_id=app_id
        )
        return Issued(authorization.authorization_id, link, authorization.expires_at)

    def _check_return_url(self, return_url: str) -> None:
        try:
            allowed = allowed_return_url(return_url, self._return_rules)
        except MalformedReturnUrl as exc:
            raise ValidationFailed(
                [
                    {
                        "field": "return_url",
                        "location": "body",
                        "message": str(exc),
                        "type": "return_url",
                    }
                ]
            ) from None
        if not allowed:
            raise ReturnUrlNotAllowed("return_url is not below an allowed return URL")

    async def status(self, authorization_id: str) -> Authorization:
        found = await self._uow.reads().authorizations.get(authorization_id)
        if found is None:
            raise AuthorizationNotFound(f"No authorization {authorization_id!r}")
        return found

    async def confirmation(self, link_token: str) -> Confirmation:
        """The page behind the link: what it connects, for whom, and the form that continues.

        Spends nothing, however often it is asked for."""
        found = await self._usable_link(link_token)
        try:
            client = await self._client(found)
        except ProblemError as exc:
            raise PageError(400, "Cannot connect", exc.detail, exc.code) from None
        subject = found.subject
        return Confirmation(
            display_name=self._providers.get(found.integration).display_name,
            app_label=found.app_name or found.app_id,
            user_id=subject.user_id if isinstance(subject, UserSubject) else None,
            form_token=form_token(self._form_key, found.authorization_id, found.link_hash),
            identity_provider_origin=_origin(client.authorization_url),
            expires_at=found.expires_at,
        )

    async def start(
        self, link_token: str, presented_form_token: str | None, browser_cookie: str | None
    ) -> Redirect:
        """The person pressed Continue: spend the link, create the OAuth state, send the browser
        to consent."""
        found = await self._usable_link(link_token)
        if not presented_form_token or not same_form_token(
            self._form_key, found.authorization_id, found.link_hash, presented_form_token
        ):
            raise _bad_form()
        try:
            client = await self._client(found)
        except ProblemError as exc:
            await self._endings.fail(found, exc.code, exc.detail)
            raise PageError(400, "Cannot connect", exc.detail, exc.code) from None
        state, verifier = new_capability(), new_pkce_verifier()
        cookie = browser_cookie if _plausible_cookie(browser_cookie) else new_capability()
        assert cookie is not None
        clicked = found.click(
            state_hash=capability_hash(state),
            code_verifier=Secret.of(verifier) if client.pkce else None,
            browser_hash=capability_hash(cookie),
            state_ttl_seconds=self._settings.state_ttl_seconds,
            now=self._clock(),
        )
        try:
            await self._endings.commit(clicked)
        except VersionConflict:
            raise _link_used() from None
        url = authorization_url(
            client.authorization_url,
            client_id=client.client_id,
            redirect_uri=client.callback_url,
            scopes=client.scopes,
            state=state,
            extra=client.authorization_params,
            code_verifier=verifier if client.pkce else None,
        )
        return Redirect(url, cookie)

    async def _usable_link(self, link_token: str) -> Authorization:
        found = await self._uow.reads().authorizations.by_link(capability_hash(link_token))
        if found is None:
            raise _not_found()
        expired = PageError(410, "Link expired", "Ask for a new link to connect.", "expired")
        if found.status == "expired":
            raise expired
        if found.clicked_at is not None or found.status != "pending":
            raise _link_used()
        if self._clock() >= found.expires_at:
            await self._endings.expire(found)
            raise expired
        return found

    async def _client(self, authorization: Authorization) -> OAuthClient:
        return await self._profiles.client(
            authorization.app_id, authorization.integration, authorization.profile
        )

    async def sweep_stale(self, limit: int = SWEEP_BATCH) -> int:
        """End dances nobody finished: unclicked expired links, abandoned states and pickers."""
        due = await self._uow.reads().authorizations.due_for_sweep(self._clock(), limit)
        for authorization in due:
            if authorization.clicked_at is None:
                await self._endings.expire(authorization)
            elif authorization.status == "site_selection_required":
                await self._endings.fail(
                    authorization, "site_selection_abandoned", "No site was chosen in time."
                )
            else:
                await self._endings.fail(
                    authorization, "expired", "The sign-in was not finished in time."
                )
        return len(due)


def _plausible_cookie(value: str | None) -> bool:
    """A cookie this service could have set (reused so parallel dances share one browser id)."""
    return value is not None and COOKIE_SHAPE.fullmatch(value) is not None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
