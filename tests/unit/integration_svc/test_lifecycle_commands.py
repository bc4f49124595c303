"""The service layer's commands and event reactions over in-memory ports and a fake auth-service."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from integration_service.domain.errors import (
    AppNotFound,
    AuthServiceUnavailable,
    ConcurrentChange,
    EditionNotSupported,
    IntegrationNotConfigured,
    IntegrationNotFound,
)
from integration_service.service_layer.lifecycle import Lifecycle
from integration_service.service_layer.reactions import Reactions
from platform_core.contract_types import AppSubject, CustomProfileRef, SystemProfileRef, UserSubject
from platform_core.events import (
    AuthorizationCompleted,
    CredentialRevoked,
    IntegrationConfigured,
    IntegrationRemoved,
    new_event,
)
from tests.support.fake_uow import FakeUnitOfWork
from tests.unit.integration_svc.fakes import (
    CONFLUENCE_ONLY,
    NOW,
    FakeApps,
    FakeAuth,
    FakeIntegrations,
    FakeRepositories,
    unit_of_work,
)

SYSTEM = SystemProfileRef()


@dataclass
class World:
    uow: FakeUnitOfWork[FakeRepositories]
    apps: FakeApps
    integrations: FakeIntegrations
    auth: FakeAuth
    lifecycle: Lifecycle
    reactions: Reactions


@pytest.fixture
def world() -> World:
    uow, auth = unit_of_work(), FakeAuth()
    uow.repos.apps.add_app("app-1")
    lifecycle = Lifecycle(uow, auth, CONFLUENCE_ONLY, clock=lambda: NOW, max_attempts=3)
    reactions = Reactions(CONFLUENCE_ONLY, clock=lambda: NOW)
    return World(uow, uow.repos.apps, uow.repos.integrations, auth, lifecycle, reactions)


async def complete(world: World, authorization_id: str, subject: object = None) -> None:
    data = AuthorizationCompleted(
        app_id="app-1",
        authorization_id=authorization_id,
        integration="confluence",
        subject=subject or AppSubject(),
        credential_id="cred-1",
        profile=SYSTEM,
        scopes=["write:confluence-content"],
        resource=None,
    )

    await world.uow.run(
        lambda tx: world.reactions.authorization_completed(
            tx, data, new_event("/auth-service", data)
        )
    )


async def test_pre_authorize_asks_auth_service_for_an_app_consent_and_records_it(
    world: World,
) -> None:
    view, pending = await world.lifecycle.configure_pre_authorize(
        "app-1", "confluence", SYSTEM, "https://console.example/back"
    )
    (request,) = world.auth.requests
    assert request.subject == AppSubject()
    assert request.profile == SYSTEM
    assert request.return_url == "https://console.example/back"
    assert pending.authorization_id == "authz-1"
    assert view.integration.state == "available"
    assert view.integration.connection_status == "pending"
    assert world.uow.published == []


async def test_the_pending_consent_completing_configures_the_integration(world: World) -> None:
    await world.lifecycle.configure_pre_authorize("app-1", "confluence", SYSTEM, None)
    await complete(world, "authz-1")
    view = await world.lifecycle.view("app-1", "confluence")
    assert view.integration.state == "configured"
    assert view.integration.connection_status == "connected"
    (event,) = world.uow.published
    assert isinstance(event, IntegrationConfigured) and event.first_configuration


async def test_a_completion_for_an_end_user_changes_nothing(world: World) -> None:
    await world.lifecycle.configure_pre_authorize("app-1", "confluence", SYSTEM, None)
    await complete(world, "authz-1", UserSubject(user_id="u-1"))
    assert (await world.lifecycle.view("app-1", "confluence")).integration.state == "available"


async def test_events_about_unknown_apps_or_integrations_are_ignored(world: World) -> None:
    data = CredentialRevoked(
        app_id="ghost",
        credential_id="cred-1",
        integration="confluence",
        subject=AppSubject(),
        reason="deleted",
    )

    event = new_event("/auth-service", data)
    other = data.model_copy(update={"app_id": "app-1", "integration": "servicenow"})
    await world.uow.run(lambda tx: world.reactions.credential_lost(tx, data, event))
    await world.uow.run(lambda tx: world.reactions.credential_lost(tx, other, event))
    assert world.integrations.docs == {}


async def test_a_trial_app_is_refused_before_auth_service_is_asked(world: World) -> None:
    world.apps.add_app("trial-1", "trial")
    with pytest.raises(EditionNotSupported):
        await world.lifecycle.configure_pre_authorize("trial-1", "confluence", SYSTEM, None)
    with pytest.raises(EditionNotSupported):
        await world.lifecycle.configure_user_authorize("trial-1", "confluence", SYSTEM)
    assert world.auth.requests == []
    view = await world.lifecycle.view("trial-1", "confluence")
    assert view.configurable is False


async def test_a_trial_app_keeps_its_configuration_and_may_still_disable_and_remove_it(
    world: World,
) -> None:
    await world.lifecycle.configure_user_authorize("app-1", "confluence", SYSTEM)
    world.apps.add_app("app-1", "trial")
    assert (await world.lifecycle.view("app-1", "confluence")).integration.state == "configured"
    with pytest.raises(EditionNotSupported):
        await world.lifecycle.configure_user_authorize(
            "app-1", "confluence", CustomProfileRef(profile_id="p")
        )
    disabled = await world.lifecycle.set_enabled("app-1", "confluence", False)
    assert disabled.integration.state == "disabled"
    await world.lifecycle.remove("app-1", "confluence")
    assert isinstance(world.uow.published[-1], IntegrationRemoved)


async def test_unknown_apps_and_integrations_are_not_found(world: World) -> None:
    with pytest.raises(AppNotFound):
        await world.lifecycle.view("ghost", "confluence")
    with pytest.raises(IntegrationNotFound):
        await world.lifecycle.view("app-1", "servicenow")
    with pytest.raises(IntegrationNotFound):
        await world.lifecycle.configure_pre_authorize("app-1", "servicenow", SYSTEM, None)
    assert world.auth.requests == []


async def test_when_auth_service_fails_nothing_is_written(world: World) -> None:
    world.auth.error = AuthServiceUnavailable("down")
    with pytest.raises(AuthServiceUnavailable):
        await world.lifecycle.configure_pre_authorize("app-1", "confluence", SYSTEM, None)
    assert world.integrations.docs == {}


async def test_user_authorize_checks_the_profile_with_auth_service_before_writing(
    world: World,
) -> None:
    world.auth.error = AuthServiceUnavailable("down")
    with pytest.raises(AuthServiceUnavailable):
        await world.lifecycle.configure_user_authorize("app-1", "confluence", SYSTEM)
    assert world.auth.checked == [SYSTEM]
    assert world.integrations.docs == {}
    assert world.uow.published == []


async def test_a_lost_compare_and_set_is_decided_again_on_a_fresh_read(world: World) -> None:
    world.integrations.conflicts = 2
    view = await world.lifecycle.configure_user_authorize("app-1", "confluence", SYSTEM)
    assert view.integration.state == "configured"
    assert world.integrations.saves == 1
    assert len(world.uow.published) == 1


async def test_a_change_that_keeps_losing_answers_conflict(world: World) -> None:
    world.integrations.conflicts = 10
    with pytest.raises(ConcurrentChange) as refused:
        await world.lifecycle.configure_user_authorize("app-1", "confluence", SYSTEM)
    assert refused.value.status == 409
    assert refused.value.code == "conflict"
    assert world.uow.published == []


async def test_a_user_link_asks_auth_service_for_that_user_with_the_configured_profile(
    world: World,
) -> None:
    profile = CustomProfileRef(profile_id="prof-9")
    await world.lifecycle.configure_user_authorize("app-1", "confluence", profile)
    issued = await world.lifecycle.issue_user_link("app-1", "confluence", "u-7", None)
    (request,) = world.auth.requests
    assert request.subject == UserSubject(user_id="u-7")
    assert request.profile == profile
    assert issued.authorization_url.startswith("https://auth.example/connect/")


async def test_a_user_link_needs_a_user_authorize_configuration(world: World) -> None:
    with pytest.raises(IntegrationNotConfigured):
        await world.lifecycle.issue_user_link("app-1", "confluence", "u-7", None)
    assert world.auth.requests == []
