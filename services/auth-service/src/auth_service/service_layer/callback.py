"""The callback and the site choice (RFC 6749 §4.1.2-4.1.3, RFC 7636, contract §2).

The state is consumed by the first callback that presents it, whatever happens next; only then
are the browser cookie, the state's age and the provider's answer checked, and the code
exchanged. The integration's post-connection hook (by name) lists the reachable sites: one
binds, several bind only the one matching the hint, otherwise the user picks on a page that
posts back here. Failures before the state is consumed (no state, unknown or used state)
concern no authorization and publish nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth_service.domain.authorization import Authorization, NoSites, bind_site
from auth_service.domain.credential import TokenSet
from auth_service.domain.errors import ProviderRefused, ProviderUnavailable, Undecryptable
from auth_service.domain.oauth import error_code, safe_description
from auth_service.domain.profiles import OAuthClient
from auth_service.domain.secrets import capability_hash, new_capability, same_hash
from auth_service.service_layer.endings import (
    Completed,
    Endings,
    PageError,
    SiteChoice,
    already_finished,
)
from auth_service.service_layer.ports import Clock, IdentityProvider, PostConnectionHooks, Units
from auth_service.service_layer.profiles import Profiles
from platform_core.contract_types import utc_now
from platform_core.domain import VersionConflict
from platform_core.errors import ProblemError

MAX_CODE_LENGTH = 2048


class Callbacks:
    def __init__(
        self,
        uow: Units,
        profiles: Profiles,
        endings: Endings,
        identity_provider: IdentityProvider,
        hooks: PostConnectionHooks,
        state_ttl_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._profiles = profiles
        self._endings = endings
        self._idp = identity_provider
        self._hooks = hooks
        self._selection_ttl = state_ttl_seconds
        self._clock = clock

    async def callback(
        self, query: Mapping[str, str], browser_cookie: str | None
    ) -> Completed | SiteChoice:
        authorization = await self._consume_state(query.get("state"))
        end = self._endings
        if not same_hash(browser_cookie, authorization.browser_hash):
            await end.fail_and_raise(
                authorization, "browser_mismatch", "The sign-in was started in another browser."
            )
        expires = authorization.state_expires_at
        if expires is None or self._clock() >= expires:
            await end.fail_and_raise(authorization, "expired", "The sign-in took too long.")
        if query.get("error"):
            description = safe_description(query.get("error_description"))
            await end.fail_and_raise(
                authorization,
                error_code(query["error"]),
                description or "The identity provider refused.",
            )
        code = query.get("code")
        if not code or len(code) > MAX_CODE_LENGTH:
            await end.fail_and_raise(authorization, "invalid_request", "The provider sent no code.")
        client = await self._client(authorization)
        try:
            tokens = await self._idp.exchange_code(client, code, authorization.code_verifier)
        except ProviderRefused as exc:
            await end.fail_and_raise(
                authorization, exc.error, exc.description or "The code was refused."
            )
        except ProviderUnavailable:
            await end.fail_and_raise(
                authorization, "provider_unavailable", "The provider did not answer."
            )
        except Undecryptable:
            await end.fail_and_raise(
                authorization, "undecryptable", "This sign-in's secrets cannot be read."
            )
        return await self._bind(authorization, client, tokens)

    async def choose_site(
        self, selection: str, cloud_id: str | None, browser_cookie: str | None
    ) -> Completed:
        """The picker's form: a cloud id, or none to cancel (site_selection_abandoned)."""
        found = await self._uow.reads().authorizations.by_selection(capability_hash(selection))
        chosen_already = PageError(
            400, "Already chosen", "This choice was already made.", "selection_used"
        )
        if found is None or found.status != "site_selection_required":
            raise chosen_already
        try:
            authorization = await self._endings.commit(found.consume_selection())
        except VersionConflict:
            raise chosen_already from None
        end = self._endings
        if not same_hash(browser_cookie, authorization.browser_hash):
            await end.fail_and_raise(
                authorization, "browser_mismatch", "The sign-in was started in another browser."
            )
        expires = authorization.selection_expires_at
        if expires is None or self._clock() >= expires:
            await end.fail_and_raise(authorization, "expired", "The site choice took too long.")
        if not cloud_id:
            await end.fail_and_raise(
                authorization, "site_selection_abandoned", "No site was chosen."
            )
        site = next((s for s in authorization.sites if s.cloud_id == cloud_id), None)
        tokens = authorization.pending_tokens
        if site is None or tokens is None:
            await end.fail_and_raise(authorization, "invalid_site", "That site was not offered.")
        try:
            return await end.complete(authorization, tokens, site)
        except Undecryptable:
            await end.fail_and_raise(
                authorization, "undecryptable", "This sign-in's secrets cannot be read."
            )

    async def _consume_state(self, state: str | None) -> Authorization:
        if not state:
            raise PageError(
                400, "Missing state", "The identity provider sent no state.", "missing_state"
            )
        found = await self._uow.reads().authorizations.by_state(capability_hash(state))
        if found is None:
            raise PageError(400, "Unknown sign-in", "This sign-in is not known.", "unknown_state")
        used = PageError(
            400, "Already used", "This sign-in was already completed or refused.", "state_used"
        )
        if found.state_used:
            raise used
        try:
            authorization = await self._endings.commit(found.consume_state(self._clock()))
        except VersionConflict:
            raise used from None
        if authorization.status != "pending":
            raise already_finished()
        return authorization

    async def _client(self, authorization: Authorization) -> OAuthClient:
        try:
            return await self._profiles.client(
                authorization.app_id, authorization.integration, authorization.profile
            )
        except ProblemError as exc:
            await self._endings.fail_and_raise(authorization, exc.code, exc.detail)

    async def _bind(
        self, authorization: Authorization, client: OAuthClient, tokens: TokenSet
    ) -> Completed | SiteChoice:
        hook = client.provider.oauth.post_connection
        end = self._endings
        if hook is None:
            return await end.complete(authorization, tokens, None)
        try:
            sites = await self._hooks.sites(hook, client.provider, tokens.access_token)
            site = bind_site(sites, authorization.site_hint)
        except ProviderUnavailable:
            await end.fail_and_raise(
                authorization, "site_lookup_failed", "Could not list your sites."
            )
        except NoSites:
            await end.fail_and_raise(
                authorization, "no_accessible_resources", "This account reaches no site."
            )
        if site is not None:
            return await end.complete(authorization, tokens, site)
        selection = new_capability()
        asked = authorization.ask_for_site(
            sites,
            tokens,
            selection_hash=capability_hash(selection),
            ttl_seconds=self._selection_ttl,
            now=self._clock(),
        )
        try:
            await end.commit(asked)
        except VersionConflict:
            raise already_finished() from None
        return SiteChoice(
            authorization.authorization_id, client.provider.display_name, sites, selection
        )
