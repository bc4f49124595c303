"""auth-service's service layer on fakes (no MongoDB, no broker, no provider): the dance and its
confirmation page, the single-flight refresh, invalid_grant with and without a concurrent
rotation, revocation, issuing limits, profile URLs judged by resolution, and maintenance that
isolates failures."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from auth_service.domain.authorization import Site
from auth_service.domain.credential import Credential
from auth_service.domain.errors import (
    CredentialNotFound,
    IntegrationDisabled,
    ProviderUnavailable,
    ReauthorizationRequired,
    ReturnUrlNotAllowed,
    TooManyOpenAuthorizations,
)
from auth_service.domain.profiles import CustomProfile, system_client
from auth_service.domain.secrets import Secret
from auth_service.service_layer.endings import Completed, PageError, SiteChoice
from auth_service.service_layer.links import Redirect
from auth_service.service_layer.maintenance import Maintenance
from auth_service.service_layer.profiles import NewProfile
from platform_core.contract_types import AppSubject, SystemProfileRef, UserSubject
from platform_core.errors import ValidationFailed
from platform_core.events import (
    AuthorizationCompleted,
    AuthorizationFailed,
    AuthorizationLinkIssued,
    CredentialReauthorizationRequired,
    CredentialRefreshed,
    CredentialRevoked,
    IntegrationEnabled,
    IntegrationRemoved,
    new_event,
)
from platform_core.events import (
    IntegrationDisabled as IntegrationDisabledEvent,
)
from tests.unit.auth.fakes import (
    NOW,
    PROVIDERS,
    SETTINGS,
    Auth,
    FakeIdentityProvider,
    FakeLeases,
    UnreadableSecret,
    replica,
)

APP = "app-1"
COOKIE = "c" * 43
ACME = Site("c-acme", "acme", "https://acme.atlassian.net")
GLOBEX = Site("c-globex", "globex", "https://globex.atlassian.net")


async def consent(auth: Auth, subject: object = None) -> Completed | SiteChoice:
    issued = await auth.links.issue(
        app_id=APP,
        integration="confluence",
        profile=SystemProfileRef(),
        subject=subject or AppSubject(),  # type: ignore[arg-type]
        return_url=None,
        ttl_seconds=None,
    )
    redirect = await click(auth, issued.authorization_url)
    state = dict(parse_qsl(urlsplit(redirect.url).query))["state"]
    return await auth.callbacks.callback({"state": state, "code": "the-code"}, COOKIE)


async def click(auth: Auth, link: str) -> Redirect:
    """What a person does with a link: open its page, press Continue."""
    link_token = link.rsplit("/", 1)[1]
    page = await auth.links.confirmation(link_token)
    return await auth.links.start(link_token, page.form_token, COOKIE)


async def connected(auth: Auth) -> Credential:
    assert isinstance(await consent(auth), Completed)
    (credential,) = auth.repos.credentials.items.values()
    return credential  # type: ignore[no-any-return]


def expiring(auth: Auth) -> Credential:
    """Make the stored credential expire now, as time passing would."""
    (credential,) = auth.repos.credentials.items.values()
    soon = credential.model_copy(update={"expires_at": NOW + timedelta(seconds=5)})
    auth.repos.credentials.items[credential.credential_id] = soon
    return soon  # type: ignore[no-any-return]


async def vend(auth: Auth, force: bool = False) -> str:
    vended = await auth.tokens.access_token(
        APP, "confluence", AppSubject(), min_valid_seconds=60, force_refresh=force
    )
    return vended.access_token.reveal()


# --- the dance --------------------------------------------------------------------------------


async def test_a_completed_consent_stores_one_credential_on_the_only_site_and_says_so() -> None:
    auth = replica(sites=[ACME])
    outcome = await consent(auth)
    assert isinstance(outcome, Completed) and outcome.site == ACME
    credential = await connected_credential(auth)
    assert credential.resource is not None and credential.resource.cloud_id == "c-acme"
    assert credential.access_token is not None
    assert credential.access_token.reveal() == "access-consent-1"
    (completed,) = auth.uow.of_type(AuthorizationCompleted)
    assert completed.credential_id == credential.credential_id
    assert completed.resource.api_base_url.endswith("/ex/confluence/c-acme")
    (authorization,) = auth.repos.authorizations.items.values()
    assert authorization.status == "completed" and authorization.code_verifier is None


async def connected_credential(auth: Auth) -> Credential:
    (credential,) = auth.repos.credentials.items.values()
    return credential  # type: ignore[no-any-return]


async def test_several_sites_ask_the_user_and_the_chosen_one_is_bound() -> None:
    auth = replica(sites=[ACME, GLOBEX])
    choice = await consent(auth, UserSubject(user_id="u-1"))
    assert isinstance(choice, SiteChoice) and choice.sites == [ACME, GLOBEX]
    assert auth.repos.credentials.items == {}
    (authorization,) = auth.repos.authorizations.items.values()
    assert authorization.status == "site_selection_required"
    assert authorization.pending_tokens is not None

    done = await auth.callbacks.choose_site(choice.selection, "c-globex", COOKIE)
    assert done.site == GLOBEX
    credential = await connected_credential(auth)
    assert credential.resource is not None and credential.resource.cloud_id == "c-globex"
    assert credential.subject == UserSubject(user_id="u-1")
    assert len(auth.uow.of_type(AuthorizationLinkIssued)) == 1
    with pytest.raises(PageError) as again:
        await auth.callbacks.choose_site(choice.selection, "c-acme", COOKIE)
    assert again.value.code == "selection_used"


async def test_a_state_presented_twice_or_from_another_browser_binds_nothing() -> None:
    auth = replica()
    issued = await auth.links.issue(
        app_id=APP,
        integration="confluence",
        profile=SystemProfileRef(),
        subject=AppSubject(),
        return_url=None,
        ttl_seconds=None,
    )
    redirect = await click(auth, issued.authorization_url)
    state = dict(parse_qsl(urlsplit(redirect.url).query))["state"]
    with pytest.raises(PageError) as stolen:
        await auth.callbacks.callback({"state": state, "code": "x"}, "d" * 43)
    assert stolen.value.code == "browser_mismatch"
    with pytest.raises(PageError) as replayed:
        await auth.callbacks.callback({"state": state, "code": "x"}, COOKIE)
    assert replayed.value.code == "state_used"
    assert auth.repos.credentials.items == {}
    (failed,) = auth.uow.of_type(AuthorizationFailed)
    assert failed.error == "browser_mismatch"
    assert auth.idp.exchanges == []


# --- refresh ----------------------------------------------------------------------------------


async def test_many_callers_of_an_expiring_token_cause_one_provider_call() -> None:
    auth = replica()
    await connected(auth)
    expiring(auth)
    auth.idp.hold = asyncio.Event()
    callers = [asyncio.create_task(vend(auth)) for _ in range(50)]
    await asyncio.sleep(0)
    auth.idp.hold.set()
    tokens = await asyncio.gather(*callers)
    assert set(tokens) == {"access-refresh-1"}
    assert len(auth.idp.refreshes) == 1
    assert len(auth.uow.of_type(CredentialRefreshed)) == 1


async def test_two_replicas_share_one_refresh_through_the_lease() -> None:
    first = replica()
    await connected(first)
    expiring(first)
    second = replica(first.uow, idp=first.idp, leases=first.leases)
    first.idp.hold = asyncio.Event()
    callers = [asyncio.create_task(vend(r)) for r in (first, second) * 10]
    await asyncio.sleep(0.01)
    first.idp.hold.set()
    assert set(await asyncio.gather(*callers)) == {"access-refresh-1"}
    assert len(first.idp.refreshes) == 1


async def test_invalid_grant_with_nobody_else_rotating_requires_reauthorization() -> None:
    auth = replica()
    credential = await connected(auth)
    expiring(auth)
    auth.idp.refusal = "invalid_grant"
    with pytest.raises(ReauthorizationRequired):
        await vend(auth)
    stored = auth.repos.credentials.items[credential.credential_id]
    assert stored.status == "reauthorization_required"
    (lost,) = auth.uow.of_type(CredentialReauthorizationRequired)
    assert lost.reason == "invalid_grant"
    with pytest.raises(ReauthorizationRequired):
        await vend(auth)
    assert len(auth.idp.refreshes) == 1


async def test_invalid_grant_after_another_replica_rotated_uses_the_new_token() -> None:
    auth = replica()
    await connected(auth)
    seen = expiring(auth)

    async def other_replica_rotates() -> None:
        rotated = seen.rotate(auth.idp._tokens("elsewhere"), NOW).after
        auth.repos.credentials.items[seen.credential_id] = rotated

    auth.idp.refusal = "invalid_grant"
    auth.idp.before_refusing = other_replica_rotates
    assert await vend(auth) == "access-elsewhere"
    assert auth.repos.credentials.items[seen.credential_id].status == "active"
    assert auth.uow.of_type(CredentialReauthorizationRequired) == []


async def test_other_refusals_are_an_outage_and_keep_the_credential_active() -> None:
    auth = replica()
    credential = await connected(auth)
    expiring(auth)
    auth.idp.refusal = "invalid_client"
    with pytest.raises(Exception) as refused:
        await vend(auth)
    assert getattr(refused.value, "code", None) == "provider_unavailable"
    assert auth.repos.credentials.items[credential.credential_id].status == "active"


async def test_a_token_no_key_opens_needs_reauthorization_not_a_crash() -> None:
    auth = replica()
    credential = await connected(auth)
    auth.repos.credentials.items[credential.credential_id] = credential.model_copy(
        update={"access_token": UnreadableSecret()}
    )
    with pytest.raises(ReauthorizationRequired):
        await vend(auth)
    (lost,) = auth.uow.of_type(CredentialReauthorizationRequired)
    assert lost.reason == "undecryptable"


# --- revocation and the integration's events ---------------------------------------------------


async def test_a_revoked_credential_loses_its_tokens_and_vends_nothing() -> None:
    auth = replica()
    credential = await connected(auth)
    await auth.credentials.delete(APP, credential.credential_id)
    stored = auth.repos.credentials.items[credential.credential_id]
    assert stored.status == "revoked"
    assert stored.access_token is None and stored.refresh_token is None
    (revoked,) = auth.uow.of_type(CredentialRevoked)
    assert revoked.reason == "deleted"
    with pytest.raises(CredentialNotFound):
        await vend(auth)
    with pytest.raises(CredentialNotFound):
        await auth.credentials.delete(APP, credential.credential_id)


async def test_a_revocation_during_a_refresh_wins_over_the_refresh() -> None:
    auth = replica()
    credential = await connected(auth)
    expiring(auth)
    auth.idp.hold = asyncio.Event()
    caller = asyncio.create_task(vend(auth))
    await asyncio.sleep(0)
    await auth.credentials.delete(APP, credential.credential_id)
    auth.idp.hold.set()
    with pytest.raises(CredentialNotFound):
        await caller
    assert auth.repos.credentials.items[credential.credential_id].status == "revoked"


async def test_removing_the_integration_revokes_its_credentials() -> None:
    auth = replica()
    await connected(auth)
    removed = IntegrationRemoved(app_id=APP, integration="confluence")
    await auth.uow.run(
        lambda tx: auth.credentials.integration_removed(
            tx, removed, new_event("/integration-service", removed)
        )
    )
    assert [c.status for c in auth.repos.credentials.items.values()] == ["revoked"]
    assert auth.uow.of_type(CredentialRevoked)[0].reason == "integration_removed"


async def test_a_disabled_integration_vends_nothing_until_it_is_enabled_again() -> None:
    auth = replica()
    await connected(auth)
    disabled = IntegrationDisabledEvent(app_id=APP, integration="confluence")
    await auth.uow.run(
        lambda tx: auth.credentials.integration_disabled(
            tx, disabled, new_event("/integration-service", disabled)
        )
    )
    with pytest.raises(IntegrationDisabled):
        await vend(auth)
    enabled = IntegrationEnabled(app_id=APP, integration="confluence")
    await auth.uow.run(
        lambda tx: auth.credentials.integration_enabled(
            tx, enabled, new_event("/integration-service", enabled)
        )
    )
    assert await vend(auth) == "access-consent-1"


def test_a_secret_never_prints() -> None:
    secret = Secret.of("s3cr3t")
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in str(secret)
    assert secret.reveal() == "s3cr3t"
    assert FakeLeases().held == {}


# --- the confirmation page and the person's Continue -------------------------------------------


async def issue(auth: Auth, **options: Any) -> str:
    issued = await auth.links.issue(
        app_id=APP,
        integration="confluence",
        profile=SystemProfileRef(),
        subject=options.pop("subject", AppSubject()),
        return_url=options.pop("return_url", None),
        ttl_seconds=None,
        **options,
    )
    return issued.authorization_url.rsplit("/", 1)[1]


async def test_the_page_names_what_is_connected_and_showing_it_again_spends_nothing() -> None:
    auth = replica()
    link = await issue(auth, subject=UserSubject(user_id="u-7"), app_name="Support Bot")
    (before,) = auth.repos.authorizations.items.values()
    pages = [await auth.links.confirmation(link) for _ in range(3)]
    assert {p.form_token for p in pages} == {pages[0].form_token}
    assert (pages[0].display_name, pages[0].app_label, pages[0].user_id) == (
        "Confluence",
        "Support Bot",
        "u-7",
    )
    assert pages[0].identity_provider_origin == "https://auth.atlassian.com"
    (after,) = auth.repos.authorizations.items.values()
    assert after == before and after.clicked_at is None
    assert (await auth.links.confirmation(await issue(auth))).app_label == APP


@pytest.mark.parametrize("presented", [None, "", "forged", "é" * 43])
async def test_continuing_without_the_pages_form_token_spends_nothing(
    presented: str | None,
) -> None:
    auth = replica()
    link = await issue(auth)
    with pytest.raises(PageError) as refused:
        await auth.links.start(link, presented, COOKIE)
    assert (refused.value.status, refused.value.code) == (400, "invalid_form_token")
    (authorization,) = auth.repos.authorizations.items.values()
    assert authorization.clicked_at is None
    token = (await auth.links.confirmation(link)).form_token
    assert (await auth.links.start(link, token, COOKIE)).url.startswith("https://auth.atlassian")


async def test_a_form_token_of_another_link_does_not_continue_this_one() -> None:
    auth = replica()
    first, second = await issue(auth), await issue(auth)
    other = (await auth.links.confirmation(second)).form_token
    with pytest.raises(PageError) as refused:
        await auth.links.start(first, other, COOKIE)
    assert refused.value.code == "invalid_form_token"


async def test_a_spent_link_shows_410_and_its_token_cannot_continue_again() -> None:
    auth = replica()
    link = await issue(auth)
    token = (await auth.links.confirmation(link)).form_token
    await auth.links.start(link, token, COOKIE)
    for attempt in (auth.links.confirmation(link), auth.links.start(link, token, COOKIE)):
        with pytest.raises(PageError) as used:
            await attempt
        assert (used.value.status, used.value.code) == (410, "link_used")


# --- issuing: return URLs and the cap on open authorizations -----------------------------------


async def test_a_return_url_with_control_characters_is_a_validation_error_naming_it() -> None:
    auth = replica(settings=SETTINGS.model_copy(update={"return_url_allowlist": "https://a.io/"}))
    with pytest.raises(ValidationFailed) as refused:
        await issue(auth, return_url="https://a.io/done\r\nSet-Cookie: x=y")
    assert [e["field"] for e in refused.value.extra["errors"]] == ["return_url"]
    with pytest.raises(ReturnUrlNotAllowed):
        await issue(auth, return_url="https://a.io.evil.net/done")
    assert await issue(auth, return_url="https://a.io/done?x=1")
    assert len(auth.repos.authorizations.items) == 1


async def test_an_app_cannot_hold_more_open_authorizations_than_the_cap() -> None:
    settings = SETTINGS.model_copy(update={"max_open_authorizations_per_app": 2})
    auth = replica(settings=settings)
    await issue(auth)
    await issue(auth)
    with pytest.raises(TooManyOpenAuthorizations) as refused:
        await issue(auth)
    assert (refused.value.status, refused.value.code) == (429, "too_many_open_authorizations")
    other = await auth.links.issue(
        app_id="another-app",
        integration="confluence",
        profile=SystemProfileRef(),
        subject=AppSubject(),
        return_url=None,
        ttl_seconds=None,
    )
    assert other.authorization_id
    finished = next(iter(auth.repos.authorizations.items.values()))
    failed = finished.fail("access_denied", "no", NOW).after
    auth.repos.authorizations.items[failed.authorization_id] = failed
    assert await issue(auth)


# --- profiles: URLs judged by what they resolve to ---------------------------------------------


def new_profile(**changes: Any) -> NewProfile:
    values: dict[str, Any] = {
        "name": "Team app",
        "integration": "confluence",
        "idp_name": "Atlassian",
        "client_id": "team-app",
        "client_secret": Secret.of("team-secret"),
        "authorization_url": "https://idp.tenant.example/authorize",
        "token_url": "https://idp.tenant.example/oauth/token",
        "refresh_url": None,
        "scopes": ("offline_access",),
        "callback_url": None,
        **changes,
    }
    return NewProfile(**values)


async def test_a_profile_url_whose_host_resolves_inward_is_refused_naming_the_field() -> None:
    auth = replica()
    auth.destinations.internal.add("metadata.tenant.example")
    inward = "https://metadata.tenant.example/oauth/token"
    with pytest.raises(ValidationFailed) as refused:
        await auth.profiles.create(APP, new_profile(refresh_url=inward))
    assert [e["field"] for e in refused.value.extra["errors"]] == ["refresh_url"]
    assert auth.repos.profiles.items == {}

    created = await auth.profiles.create(APP, new_profile())
    with pytest.raises(ValidationFailed) as patched:
        await auth.profiles.patch(
            APP, created.profile_id, {"token_url": inward, "client_secret": Secret.of("s")}
        )
    assert [e["field"] for e in patched.value.extra["errors"]] == ["token_url"]
    stored = auth.repos.profiles.items[created.profile_id]
    assert stored.token_url == "https://idp.tenant.example/oauth/token"


async def test_a_url_refused_by_the_static_rules_is_not_resolved_at_all() -> None:
    auth = replica()
    with pytest.raises(ValidationFailed):
        await auth.profiles.create(APP, new_profile(token_url="https://10.0.0.1/token"))
    assert "https://10.0.0.1/token" not in auth.destinations.judged


def test_no_secret_shows_in_the_repr_of_anything_holding_one() -> None:
    client = system_client(PROVIDERS.get("confluence"), SETTINGS.callback_url)
    assert client is not None
    profile = CustomProfile(
        profile_id="prof_1",
        app_id=APP,
        name="n",
        integration="confluence",
        idp_name="Atlassian",
        client_id="team-app",
        client_secret=Secret.of("team-s3cret"),
        authorization_url="https://a.example/authorize",
        token_url="https://a.example/token",
        scopes=("x",),
        callback_url=SETTINGS.callback_url,
        created_at=NOW,
        updated_at=NOW,
    )
    tokens = FakeIdentityProvider._tokens("x")
    held = [client, profile, profile.client(PROVIDERS.get("confluence")), tokens, SETTINGS]
    shown = " ".join(repr(value) + str(value) for value in held)
    for secret in ("system-secret", "team-s3cret", "access-x", "refresh-x", "MDEyMzQ1"):
        assert secret not in shown


# --- maintenance isolates failures ------------------------------------------------------------


async def idle_credentials(auth: Auth, users: list[str]) -> dict[str, Credential]:
    for user in users:
        assert isinstance(await consent(auth, UserSubject(user_id=user)), Completed)
    old = NOW - timedelta(days=31)
    for key, credential in list(auth.repos.credentials.items.items()):
        auth.repos.credentials.items[key] = credential.model_copy(
            update={"tokens_obtained_at": old}
        )
    return {c.subject.user_id: c for c in auth.repos.credentials.items.values()}


def maintenance(auth: Auth, interval: float = 3600.0) -> Maintenance:
    return Maintenance(
        auth.uow,
        PROVIDERS,
        auth.tokens,
        auth.links,
        keepalive_days=30,
        batch=100,
        interval_seconds=interval,
        clock=lambda: NOW,
    )


async def test_keepalive_refreshes_the_healthy_credentials_around_broken_ones() -> None:
    auth = replica()
    held = await idle_credentials(auth, ["ok-1", "garbage", "crashes", "ok-2"])
    auth.idp.failures = {
        "refresh-consent-2": ProviderUnavailable("unusable token response: no access_token"),
        "refresh-consent-3": RuntimeError("a bug in one credential's path"),
    }
    upkeep = maintenance(auth)
    assert await upkeep.keep_alive() == 2
    statuses = {c.subject.user_id: c for c in auth.repos.credentials.items.values()}
    assert statuses["ok-1"].version > held["ok-1"].version
    assert statuses["ok-2"].version > held["ok-2"].version
    assert statuses["garbage"] == held["garbage"] and statuses["crashes"] == held["crashes"]
    tried = len(auth.idp.refreshes)
    assert await upkeep.keep_alive() == 0  # the broken ones wait their backoff out
    assert len(auth.idp.refreshes) == tried


async def test_the_sweeper_runs_in_every_round_whatever_keepalive_met() -> None:
    auth = replica()
    await idle_credentials(auth, ["garbage"])
    auth.idp.failures = {"refresh-consent-1": ProviderUnavailable("garbage")}
    await issue(auth)
    stale = next(a for a in auth.repos.authorizations.items.values() if a.status == "pending")
    auth.repos.authorizations.items[stale.authorization_id] = stale.model_copy(
        update={"expires_at": NOW - timedelta(seconds=1), "sweep_at": NOW - timedelta(seconds=1)}
    )
    loop = asyncio.create_task(maintenance(auth, interval=0.01).run_forever())
    try:
        for _ in range(200):
            if auth.repos.authorizations.items[stale.authorization_id].status == "expired":
                break
            await asyncio.sleep(0.01)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert auth.repos.authorizations.items[stale.authorization_id].status == "expired"
    assert auth.idp.refreshes == ["refresh-consent-1"]


# --- the credential cache and the metrics ------------------------------------------------------


def cached_copy(credential: Credential, token: str, expires_in: timedelta) -> Credential:
    return credential.model_copy(
        update={"access_token": Secret.of(token), "expires_at": NOW + expires_in}
    )


async def test_the_fast_path_serves_a_cached_credential_that_is_valid_long_enough() -> None:
    auth = replica()
    credential = await connected(auth)
    auth.repos.credentials.cached[credential.credential_id] = cached_copy(
        credential, "access-from-the-cache", timedelta(hours=1)
    )
    assert await vend(auth) == "access-from-the-cache"
    assert auth.idp.refreshes == []


async def test_a_cached_credential_near_expiry_is_read_again_then_refreshed_as_stored() -> None:
    auth = replica()
    credential = await connected(auth)
    # The cache's copy expires within min_valid_seconds; what is stored is newer and valid.
    auth.repos.credentials.cached[credential.credential_id] = cached_copy(
        credential, "access-stale", timedelta(seconds=10)
    )
    assert await vend(auth) == "access-consent-1"
    assert auth.idp.refreshes == []

    expiring(auth)
    assert await vend(auth) == "access-refresh-1"
    assert auth.idp.refreshes == ["refresh-consent-1"]


async def test_a_forced_refresh_never_asks_the_cache() -> None:
    auth = replica()
    credential = await connected(auth)
    auth.repos.credentials.cached[credential.credential_id] = cached_copy(
        credential, "access-stale", timedelta(hours=1)
    )
    assert await vend(auth, force=True) == "access-refresh-1"
    assert auth.idp.refreshes == ["refresh-consent-1"]


async def test_a_subject_without_a_credential_is_refused_after_one_read() -> None:
    auth = replica()
    with pytest.raises(CredentialNotFound):
        await vend(auth)
    assert auth.repos.credentials.reads == 1


async def test_vends_refreshes_and_consents_are_counted_by_outcome() -> None:
    auth = replica()
    await connected(auth)
    await vend(auth)
    expiring(auth)
    await vend(auth)
    auth.idp.refusal = "invalid_grant"
    expiring(auth)
    with pytest.raises(ReauthorizationRequired):
        await vend(auth)
    assert auth.metrics.consents == [("confluence", "completed", "")]
    assert auth.metrics.vends == [
        ("confluence", "served"),
        ("confluence", "refreshed"),
        ("confluence", "reauthorization_required"),
    ]
    assert auth.metrics.refreshes == [("confluence", "rotated"), ("confluence", "invalid_grant")]
