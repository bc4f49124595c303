"""The integration lifecycle state machine: every transition, and every refused one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integration_service.domain.errors import (
    IllegalTransition,
    IntegrationNotConfigured,
    ReauthorizationRequired,
)
from integration_service.domain.integration import (
    Integration,
    PendingAuthorization,
    new_integration,
)
from platform_core.contract_types import CustomProfileRef, ErrorInfo, SystemProfileRef
from platform_core.events import (
    IntegrationConfigured,
    IntegrationDisabled,
    IntegrationEnabled,
    IntegrationReauthorizationRequired,
    IntegrationRemoved,
)

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
SYSTEM = SystemProfileRef()
CUSTOM = CustomProfileRef(profile_id="prof-1")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def pending(authorization_id: str = "authz-1", profile: object = SYSTEM) -> PendingAuthorization:
    return PendingAuthorization(
        authorization_id=authorization_id,
        profile=profile,
        authorization_url=f"https://auth.example/connect/{authorization_id}",
        expires_at=at(30),
        requested_at=T0,
    )


def fresh() -> Integration:
    return new_integration("app-1", "confluence")


def connected(credential_id: str = "cred-1") -> Integration:
    requested = fresh().request_pre_authorize(pending(), at(0)).after
    return requested.complete_authorization("authz-1", credential_id, at(1)).after


def per_user(profile: object = SYSTEM) -> Integration:
    return fresh().configure_user_authorize(profile, at(0)).after  # type: ignore[arg-type]


def lost() -> Integration:
    return connected().lose_credential("cred-1", at(2)).after


# --- the starting point ---------------------------------------------------------------------


def test_an_untouched_integration_is_available_and_not_connected() -> None:
    integration = fresh()
    assert integration.state == "available"
    assert integration.connection_status == "not_connected"
    assert integration.authorization is None
    assert integration.version == 0


# --- pre_authorize --------------------------------------------------------------------------


def test_requesting_pre_authorize_waits_for_consent_without_changing_state() -> None:
    transition = fresh().request_pre_authorize(pending(), at(0))
    after = transition.after
    assert transition.name == "pre_authorize_requested"
    assert transition.events == ()
    assert after.state == "available"
    assert after.connection_status == "pending"
    assert after.pending is not None and after.pending.authorization_id == "authz-1"
    assert after.version == 1
    assert after.updated_at == at(0)


def test_completing_the_pending_consent_configures_and_connects_for_the_first_time() -> None:
    requested = fresh().request_pre_authorize(pending(), at(0)).after
    transition = requested.complete_authorization("authz-1", "cred-1", at(1))
    after = transition.after
    assert transition.name == "pre_authorize_completed"
    assert after.state == "configured"
    assert after.connection_status == "connected"
    assert after.authorization is not None
    assert after.authorization.type == "pre_authorize"
    assert after.authorization.profile == SYSTEM
    assert after.credential_id == "cred-1"
    assert after.pending is None
    assert after.first_configured_at == at(1)
    assert after.version == 2
    assert transition.events == (
        IntegrationConfigured(
            app_id="app-1",
            integration="confluence",
            authorization_type="pre_authorize",
            profile=SYSTEM,
            first_configuration=True,
            configured_at=at(1),
        ),
    )


def test_a_second_request_replaces_the_pending_one_and_the_first_completion_is_ignored() -> None:
    first = fresh().request_pre_authorize(pending("authz-1"), at(0)).after
    second = first.request_pre_authorize(pending("authz-2", CUSTOM), at(1)).after
    assert second.pending is not None and second.pending.authorization_id == "authz-2"

    stale = second.complete_authorization("authz-1", "cred-1", at(2))
    assert stale.name == "stale_authorization_ignored"
    assert not stale.changed
    assert stale.events == ()

    done = second.complete_authorization("authz-2", "cred-2", at(3)).after
    assert done.authorization is not None and done.authorization.profile == CUSTOM


def test_a_completion_without_any_pending_consent_is_ignored() -> None:
    transition = fresh().complete_authorization("authz-1", "cred-1", at(0))
    assert not transition.changed
    assert connected().complete_authorization("authz-1", "cred-9", at(5)).changed is False


def test_a_failed_consent_keeps_the_state_and_records_the_error() -> None:
    requested = fresh().request_pre_authorize(pending(), at(0)).after
    transition = requested.fail_authorization("authz-1", "access_denied", "User said no", at(1))
    after = transition.after
    assert transition.name == "pre_authorize_failed"
    assert transition.events == ()
    assert after.state == "available"
    assert after.connection_status == "not_connected"
    assert after.pending is None
    assert after.last_error == ErrorInfo(code="access_denied", description="User said no")


def test_a_failure_of_an_authorization_that_is_no_longer_pending_is_ignored() -> None:
    second = (
        fresh()
        .request_pre_authorize(pending("authz-1"), at(0))
        .after.request_pre_authorize(pending("authz-2"), at(1))
        .after
    )
    assert not second.fail_authorization("authz-1", "access_denied", None, at(2)).changed
    assert not fresh().fail_authorization("authz-1", "access_denied", None, at(2)).changed


def test_a_new_request_clears_the_last_error() -> None:
    failed = (
        fresh()
        .request_pre_authorize(pending("authz-1"), at(0))
        .after.fail_authorization("authz-1", "access_denied", None, at(1))
        .after
    )
    assert failed.request_pre_authorize(pending("authz-2"), at(2)).after.last_error is None


def test_reconfiguring_keeps_the_integration_configured_until_the_new_consent_completes() -> None:
    current = connected()
    waiting = current.request_pre_authorize(pending("authz-2", CUSTOM), at(5)).after
    assert waiting.state == "configured"
    assert waiting.connection_status == "connected"
    assert waiting.authorization == current.authorization
    assert waiting.pending is not None

    transition = waiting.complete_authorization("authz-2", "cred-2", at(6))
    after = transition.after
    assert after.authorization is not None and after.authorization.profile == CUSTOM
    assert after.credential_id == "cred-2"
    assert after.first_configured_at == at(1)
    event = transition.events[0]
    assert isinstance(event, IntegrationConfigured)
    assert event.first_configuration is False


def test_a_failed_reconfiguration_keeps_the_working_configuration() -> None:
    waiting = connected().request_pre_authorize(pending("authz-2", CUSTOM), at(5)).after
    after = waiting.fail_authorization("authz-2", "access_denied", None, at(6)).after
    assert after.state == "configured"
    assert after.connection_status == "connected"
    assert after.authorization is not None and after.authorization.profile == SYSTEM
    assert after.last_error is not None


def test_completing_a_consent_requested_while_disabled_configures_the_integration() -> None:
    disabled = connected().disable(at(2)).after
    waiting = disabled.request_pre_authorize(pending("authz-2"), at(3)).after
    assert waiting.state == "disabled"
    after = waiting.complete_authorization("authz-2", "cred-2", at(4)).after
    assert after.state == "configured"


# --- user_authorize -------------------------------------------------------------------------


def test_user_authorize_configures_at_once_with_per_user_connections() -> None:
    transition = fresh().configure_user_authorize(SYSTEM, at(0))
    after = transition.after
    assert transition.name == "user_authorize_configured"
    assert after.state == "configured"
    assert after.connection_status == "per_user"
    assert after.first_configured_at == at(0)
    (event,) = transition.events
    assert isinstance(event, IntegrationConfigured)
    assert event.authorization_type == "user_authorize"
    assert event.first_configuration is True


def test_user_authorize_again_with_the_same_settings_changes_nothing() -> None:
    transition = per_user().configure_user_authorize(SYSTEM, at(1))
    assert transition.name == "already_configured"
    assert not transition.changed


def test_user_authorize_with_the_same_settings_drops_a_pending_consent_without_an_event() -> None:
    waiting = per_user().request_pre_authorize(pending(), at(1)).after
    assert waiting.connection_status == "per_user"
    transition = waiting.configure_user_authorize(SYSTEM, at(2))
    assert transition.name == "pending_authorization_replaced"
    assert transition.after.pending is None
    assert transition.events == ()


def test_user_authorize_with_another_profile_reconfigures() -> None:
    transition = per_user().configure_user_authorize(CUSTOM, at(1))
    assert transition.after.authorization is not None
    assert transition.after.authorization.profile == CUSTOM
    (event,) = transition.events
    assert isinstance(event, IntegrationConfigured) and event.first_configuration is False


def test_user_authorize_replaces_pre_authorize_and_forgets_the_app_credential() -> None:
    transition = connected().configure_user_authorize(SYSTEM, at(2))
    after = transition.after
    assert after.connection_status == "per_user"
    assert after.credential_id is None
    assert len(transition.events) == 1


def test_user_authorize_configures_a_disabled_integration() -> None:
    disabled = per_user().disable(at(1)).after
    after = disabled.configure_user_authorize(SYSTEM, at(2)).after
    assert after.state == "configured"


# --- disable / enable -----------------------------------------------------------------------


def test_disabling_a_configured_integration() -> None:
    transition = connected().disable(at(2))
    assert transition.name == "disabled"
    assert transition.after.state == "disabled"
    assert transition.after.connection_status == "connected"
    assert transition.events == (IntegrationDisabled(app_id="app-1", integration="confluence"),)


def test_disabling_a_disabled_integration_changes_nothing() -> None:
    disabled = connected().disable(at(2)).after
    assert not disabled.disable(at(3)).changed


def test_enabling_a_disabled_integration() -> None:
    disabled = per_user().disable(at(1)).after
    transition = disabled.enable(at(2))
    assert transition.name == "enabled"
    assert transition.after.state == "configured"
    assert transition.events == (IntegrationEnabled(app_id="app-1", integration="confluence"),)


def test_enabling_a_configured_integration_changes_nothing() -> None:
    assert not connected().enable(at(2)).changed


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_an_available_integration_can_be_neither_disabled_nor_enabled(command: str) -> None:
    waiting = fresh().request_pre_authorize(pending(), at(0)).after
    for integration in (fresh(), waiting):
        with pytest.raises(IntegrationNotConfigured) as refused:
            getattr(integration, command)(at(1))
        assert refused.value.status == 409
        assert refused.value.code == "integration_not_configured"
        assert isinstance(refused.value, IllegalTransition)


def test_enabling_a_pre_authorize_integration_whose_credential_is_lost_is_refused() -> None:
    disabled = lost().disable(at(3)).after
    with pytest.raises(ReauthorizationRequired) as refused:
        disabled.enable(at(4))
    assert refused.value.status == 409
    assert refused.value.code == "reauthorization_required"


# --- remove ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        connected,
        per_user,
        lambda: connected().disable(at(3)).after,
        lambda: fresh().request_pre_authorize(pending(), at(0)).after,
        lost,
    ],
    ids=["connected", "per_user", "disabled", "pending", "reauthorization_required"],
)
def test_removing_returns_to_available_and_forgets_the_settings(start: object) -> None:
    integration: Integration = start()  # type: ignore[operator]
    transition = integration.remove(at(9))
    after = transition.after
    assert transition.name == "removed"
    assert after.state == "available"
    assert after.connection_status == "not_connected"
    assert after.authorization is None
    assert after.pending is None
    assert after.credential_id is None
    assert after.first_configured_at == integration.first_configured_at
    assert transition.events == (IntegrationRemoved(app_id="app-1", integration="confluence"),)


def test_removing_an_available_integration_changes_nothing() -> None:
    transition = fresh().remove(at(0))
    assert transition.name == "already_available"
    assert not transition.changed


def test_configuring_again_after_removal_is_not_a_first_configuration() -> None:
    removed = per_user().remove(at(1)).after
    (event,) = removed.configure_user_authorize(SYSTEM, at(2)).events
    assert isinstance(event, IntegrationConfigured)
    assert event.first_configuration is False


# --- the app credential ---------------------------------------------------------------------


def test_losing_the_app_credential_requires_reauthorization() -> None:
    transition = connected().lose_credential("cred-1", at(2))
    assert transition.name == "reauthorization_required"
    assert transition.after.state == "configured"
    assert transition.after.connection_status == "reauthorization_required"
    assert transition.events == (
        IntegrationReauthorizationRequired(
            app_id="app-1", integration="confluence", credential_id="cred-1"
        ),
    )


def test_losing_it_twice_raises_one_event() -> None:
    assert lost().lose_credential("cred-1", at(3)).name == "already_reauthorization_required"
    assert not lost().lose_credential("cred-1", at(3)).changed


def test_losing_a_disabled_integrations_credential_is_recorded() -> None:
    disabled = connected().disable(at(2)).after
    after = disabled.lose_credential("cred-1", at(3)).after
    assert after.state == "disabled"
    assert after.connection_status == "reauthorization_required"


@pytest.mark.parametrize(
    ("start", "credential_id"),
    [
        (connected, "cred-other"),
        (per_user, "cred-1"),
        (fresh, "cred-1"),
        (lambda: connected().remove(at(5)).after, "cred-1"),
    ],
    ids=["another_credential", "user_authorize", "available", "removed"],
)
def test_losing_a_credential_the_integration_does_not_run_on_is_ignored(
    start: object, credential_id: str
) -> None:
    integration: Integration = start()  # type: ignore[operator]
    transition = integration.lose_credential(credential_id, at(6))
    assert transition.name == "unrelated_credential_ignored"
    assert not transition.changed


def test_a_new_successful_consent_clears_reauthorization_required() -> None:
    waiting = lost().request_pre_authorize(pending("authz-2"), at(3)).after
    assert waiting.connection_status == "reauthorization_required"
    after = waiting.complete_authorization("authz-2", "cred-2", at(4)).after
    assert after.connection_status == "connected"
    assert after.credential_lost is False


# --- user links -----------------------------------------------------------------------------


def test_user_links_use_the_profile_of_a_configured_user_authorize_integration() -> None:
    assert per_user(CUSTOM).require_user_links() == CUSTOM


@pytest.mark.parametrize(
    "start",
    [fresh, connected, lambda: per_user().disable(at(1)).after],
    ids=["available", "pre_authorize", "disabled"],
)
def test_user_links_are_refused_unless_configured_with_user_authorize(start: object) -> None:
    integration: Integration = start()  # type: ignore[operator]
    with pytest.raises(IntegrationNotConfigured):
        integration.require_user_links()
