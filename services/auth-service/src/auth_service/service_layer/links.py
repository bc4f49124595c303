"""Authorization links (contract §2): issuing them, reading their status, and the click.

The link token is 256 bits from the CSPRNG, stored as a hash, and works once: the click stores
the OAuth state's hash, the sealed PKCE verifier and the browser cookie's hash on the
authorization, then redirects to the provider with response_type=code, the profile's exact
callback URL, the scopes, the state, the S256 challenge and the provider's extra parameters.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from auth_service.domain.authorization import Authorization, link_ttl_seconds
from auth_service.domain.errors import AuthorizationNotFound, ReturnUrlNotAllowed
from auth_service.domain.oauth import authorization_url
from auth_service.domain.secrets import Secret, capability_hash, new_capability, new_pkce_verifier
from auth_service.domain.urls import allowed_return_url
from auth_service.service_layer.endings import Endings, PageError
from auth_service.service_layer.ports import Clock, Tx, Units
from auth_service.service_layer.profiles import Profiles
from auth_service.settings import AuthSettings
from platform_core.contract_types import ProfileRef, Subject, utc_now
from platform_core.domain import VersionConflict
from platform_core.errors import ProblemError
from platform_core.logs import get_logger

log = get_logger("auth_service.dance")
COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,64}")
SWEEP_BATCH = 100


@dataclass(frozen=True)
class Issued:
    authorization_id: str
    authorization_url: str
    expires_at: datetime


@dataclass(frozen=True)
class Redirect:
    url: str
    browser_cookie: str
    secure_cookie: bool


def _link_used() -> PageError:
    return PageError(410, "Link already used", "Ask for a new link to connect.", "link_used")


class Links:
    def __init__(
        self,
        uow: Units,
        profiles: Profiles,
        endings: Endings,
        settings: AuthSettings,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._profiles = profiles
        self._endings = endings
        self._settings = settings
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
        settings = self._settings
        if return_url is not None and not allowed_return_url(
            return_url, settings.return_url_prefixes
        ):
            raise ReturnUrlNotAllowed("return_url does not start with an allowed prefix")
        link_token = new_capability()
        link = f"{settings.public_base_url}/connect/{link_token}"
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
            now=self._clock(),
        )
        authorization = issued.after

        async def work(tx: Tx) -> None:
            await tx.repos.authorizations.add(authorization)
            tx.publish_all(issued.events)

        await self._uow.run(work)
        log.info(
            "authorization_issued", authorization_id=authorization.authorization_id, app_id=app_id
        )
        return Issued(authorization.authorization_id, link, authorization.expires_at)

    async def status(self, authorization_id: str) -> Authorization:
        found = await self._uow.reads().authorizations.get(authorization_id)
        if found is None:
            raise AuthorizationNotFound(f"No authorization {authorization_id!r}")
        return found

    async def start(self, link_token: str, browser_cookie: str | None) -> Redirect:
        """The click: spend the link, create the OAuth state, send the browser to consent."""
        found = await self._uow.reads().authorizations.by_link(capability_hash(link_token))
        if found is None:
            raise PageError(
                404, "Link not found", "This authorization link is not valid.", "not_found"
            )
        now = self._clock()
        if found.clicked_at is not None or found.status != "pending":
            raise _link_used()
        if now >= found.expires_at:
            await self._endings.expire(found)
            raise PageError(410, "Link expired", "Ask for a new link to connect.", "expired")
        try:
            client = await self._profiles.client(found.app_id, found.integration, found.profile)
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
            now=now,
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
        return Redirect(url, cookie, self._settings.public_base_url.startswith("https://"))

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
