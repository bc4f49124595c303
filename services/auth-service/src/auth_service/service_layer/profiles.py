"""Authorization profiles: listing system profiles, managing custom ones, resolving any of them
into the OAuth client the dance and the refresh path use.

A custom profile's URLs are judged twice before they are stored: by the static rules of
contract §2, then by what their hosts resolve to (a name resolving to any internal address is
refused, naming the field); every provider call judges the resolution again, so a name rebound
later gains nothing. A change of where the secret goes, or of whose secret it is, needs the
secret in the same request (domain.profiles).

A custom profile is "in use" while an (app, integration) is configured with it (learnt from
integration.configured / integration.removed events) or while a credential that was issued
through it is not revoked. Pending authorizations do not count: deleting the profile makes
their callback fail with auth_profile_not_found instead. A custom profile may not present a
system OAuth app's client id: that app's secret is the platform's, not the tenant's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auth_service.domain.errors import (
    AuthProfileInUse,
    AuthProfileNotFound,
    InvalidCallbackUrl,
    ProfileNotFound,
    SystemProfileUnavailable,
)
from auth_service.domain.profiles import (
    URL_FIELDS,
    CustomProfile,
    OAuthClient,
    SystemProfile,
    scope_problems,
    system_client,
    system_profile,
    url_problems,
)
from auth_service.domain.providers import Providers
from auth_service.domain.secrets import Secret
from auth_service.service_layer.ports import (
    Clock,
    ProviderDestinations,
    Repositories,
    Tx,
    Units,
)
from platform_core.api import PageQuery
from platform_core.contract_types import CustomProfileRef, ProfileRef, utc_now
from platform_core.errors import ValidationFailed
from platform_core.paging import Page


@dataclass(frozen=True)
class ProfileRules:
    callback_url: str
    allow_insecure: bool


@dataclass(frozen=True)
class NewProfile:
    name: str
    integration: str
    idp_name: str
    client_id: str
    client_secret: Secret
    authorization_url: str
    token_url: str
    refresh_url: str | None
    scopes: tuple[str, ...]
    callback_url: str | None


class Profiles:
    def __init__(
        self,
        uow: Units,
        providers: Providers,
        rules: ProfileRules,
        destinations: ProviderDestinations,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._rules = rules
        self._destinations = destinations
        self._clock = clock

    def system_profiles(self) -> list[SystemProfile]:
        return [system_profile(p, self._rules.callback_url) for p in self._providers]

    async def create(self, app_id: str, new: NewProfile) -> CustomProfile:
        self._providers.get(new.integration)
        await self._check(vars(new))
        now = self._clock()
        profile = CustomProfile(
            profile_id=f"prof_{uuid.uuid4().hex}",
            app_id=app_id,
            name=new.name,
            integration=new.integration,
            idp_name=new.idp_name,
            client_id=new.client_id,
            client_secret=new.client_secret,
            authorization_url=new.authorization_url,
            token_url=new.token_url,
            refresh_url=new.refresh_url,
            scopes=new.scopes,
            callback_url=new.callback_url or self._rules.callback_url,
            created_at=now,
            updated_at=now,
        )
        await self._uow.run(lambda tx: tx.repos.profiles.add(profile))
        return profile

    async def get(self, app_id: str, profile_id: str) -> CustomProfile:
        return _found(await self._uow.reads().profiles.get(app_id, profile_id), profile_id)

    async def page(self, app_id: str, query: PageQuery) -> Page[CustomProfile]:
        return await self._uow.reads().profiles.page(app_id, query)

    async def patch(
        self, app_id: str, profile_id: str, changes: Mapping[str, Any]
    ) -> CustomProfile:
        await self._check(changes)

        async def work(tx: Tx) -> CustomProfile:
            current = _found(await tx.repos.profiles.get(app_id, profile_id), profile_id)
            patched = current.patched(changes, self._clock())
            await tx.repos.profiles.save(patched)
            return patched

        return await self._uow.run(work)

    async def delete(self, app_id: str, profile_id: str) -> None:
        async def work(tx: Tx) -> None:
            current = _found(await tx.repos.profiles.get(app_id, profile_id), profile_id)
            if await tx.repos.usage.in_use(profile_id) or await tx.repos.credentials.issued_through(
                profile_id
            ):
                raise AuthProfileInUse("An integration of this app uses this profile")
            await tx.repos.profiles.save(current.deleted(self._clock()))

        await self._uow.run(work)

    async def client(
        self,
        app_id: str,
        integration: str,
        ref: ProfileRef,
        repos: Repositories | None = None,
    ) -> OAuthClient:
        """The OAuth client for `ref`, or the contract's errors for a profile that cannot be
        used; `repos` reads inside a caller's transaction."""
        provider = self._providers.get(integration)
        if not isinstance(ref, CustomProfileRef):
            client = system_client(provider, self._rules.callback_url)
            if client is None:
                raise SystemProfileUnavailable(
                    f"No system OAuth app is configured for {integration}"
                )
            return client
        reads = repos or self._uow.reads()
        profile = await reads.profiles.get(app_id, ref.profile_id)
        custom = profile.client(provider) if profile is not None else None
        if custom is None or profile is None or profile.integration != integration:
            raise AuthProfileNotFound(
                f"No usable custom profile {ref.profile_id!r} for {integration}"
            )
        return custom

    async def _check(self, fields: Mapping[str, Any]) -> None:
        urls = {name: fields.get(name) for name in URL_FIELDS}
        problems = url_problems(urls, allow_insecure=self._rules.allow_insecure)
        problems += await self._resolution_problems(urls, {p["field"] for p in problems})
        if fields.get("scopes") is not None:
            problems += scope_problems(fields["scopes"])
        if fields.get("client_id") in self._providers.system_client_ids():
            problems.append(
                {
                    "field": "client_id",
                    "location": "body",
                    "message": "is the platform's own OAuth app; use the system profile",
                    "type": "system_client_id",
                }
            )
        if problems:
            raise ValidationFailed(problems)
        callback = fields.get("callback_url")
        if callback is not None and callback != self._rules.callback_url:
            raise InvalidCallbackUrl(f"The callback URL must be {self._rules.callback_url}")

    async def _resolution_problems(
        self, urls: Mapping[str, str | None], refused: set[str]
    ) -> list[dict[str, str]]:
        judged = {name: url for name, url in urls.items() if url and name not in refused}
        reasons = await asyncio.gather(*(self._destinations.refusal(u) for u in judged.values()))
        return [
            {"field": name, "location": "body", "message": reason, "type": "url_rejected"}
            for name, reason in zip(judged, reasons, strict=True)
            if reason is not None
        ]


def _found(profile: CustomProfile | None, profile_id: str) -> CustomProfile:
    if profile is None:
        raise ProfileNotFound(f"No authorization profile {profile_id!r} in this app")
    return profile
