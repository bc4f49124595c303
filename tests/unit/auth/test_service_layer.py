"""auth-service's service layer on fakes (no MongoDB, no broker, no provider): the dance, the
single-flight refresh, invalid_grant with and without a concurrent rotation, revocation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from auth_service.domain.authorization import Site
from auth_service.domain.credential import Credential
from auth_service.domain.errors import (
    CredentialNotFound,
    IntegrationDisabled,
    ReauthorizationRequired,
)
from auth_service.domain.secrets import Secret
from auth_service.service_layer.endings import Completed, PageError, SiteChoice
from platform_core.contract_types import AppSubject, SystemProfileRef, UserSubject
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
from tests.unit.auth.fakes import NOW, Auth, FakeLeases, UnreadableSecret, replica

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
    link_token = issued.authorization_url.rsplit("/", 1)[1]
    redirect = await auth.links.start(link_token, COOKIE)
    state = dict(parse_qsl(urlsplit(redirect.url).query))["state"]
    return await auth.callbacks.callback({"state": state, "code": "the-code"}, COOKIE)


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
    redirect = await auth.links.start(issued.authorization_url.rsplit("/", 1)[1], COOKIE)
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
