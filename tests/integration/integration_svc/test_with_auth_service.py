"""integration-service with the real auth-service, the real OAuth server (oidc-provider standing
in for Atlassian) and the Atlassian API stand-in: consent is driven through the browser pages,
and the two services coordinate only over HTTP and RabbitMQ, as in production."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from devinfra.atlassian_fake import AtlassianFake
from devinfra.consent import complete_consent
from devinfra.idp import IdentityProvider
from devinfra.process import free_port
from integration_manifests import load_integrations
from integration_service.app import create_app as create_integration_app
from integration_service.settings import IntegrationSettings
from platform_core.service_auth import Scope
from tests.integration.integration_svc.conftest import Service
from tests.support.apps import serving
from tests.support.events import EventTap
from tests.support.infra import TEST_ENCRYPTION_KEYS, Infra
from tests.support.profiles import custom_profile_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

CLIENT_ID = "platform-confluence"
CLIENT_SECRET = "platform-confluence-secret"
OTHER_CLIENT_ID = "team-confluence"
OTHER_CLIENT_SECRET = "team-confluence-secret"


@dataclass(frozen=True)
class AuthPort:
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def callback_url(self) -> str:
        return f"{self.base_url}/oauth/callback"


@pytest.fixture(scope="module")
def auth_port() -> AuthPort:
    """auth-service's public origin is fixed first: the IdP must know its callback URL."""
    return AuthPort(free_port())


@pytest.fixture(scope="module")
def idp(
    tmp_path_factory: pytest.TempPathFactory, auth_port: AuthPort
) -> Iterator[IdentityProvider]:
    server = IdentityProvider(
        Path(tmp_path_factory.mktemp("idp")),
        free_port(),
        [
            {
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uris": [auth_port.callback_url],
            }
            for client_id, secret in (
                (CLIENT_ID, CLIENT_SECRET),
                (OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
            )
        ],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def atlassian(idp: IdentityProvider) -> AsyncIterator[AtlassianFake]:
    fake = AtlassianFake(idp.base_url)  # one site, so consent binds to it without a choice
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(autouse=True)
async def no_faults(idp: IdentityProvider) -> AsyncIterator[None]:
    await idp.clear_faults()
    yield
    await idp.clear_faults()


@contextlib.asynccontextmanager
async def served_on(app: web.Application, port: int) -> AsyncIterator[None]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@dataclass
class Platform:
    auth_url: str
    auth_headers: dict[str, str]
    integration: Service
    http: aiohttp.ClientSession
    idp_url: str

    async def auth_call(
        self, method: str, path: str, json: Any = None, authorization: str | None = None
    ) -> tuple[int, Any]:
        """Call auth-service as a platform service would (another bearer if given)."""
        headers = self.auth_headers if authorization is None else {"Authorization": authorization}
        async with self.http.request(
            method, f"{self.auth_url}{path}", json=json, headers=headers
        ) as response:
            body = await response.json(content_type=None) if response.status != 204 else None
            return response.status, body


@pytest.fixture
async def platform(
    service_settings: Callable[[str], dict[str, object]],
    token: Callable[..., str],
    auth_port: AuthPort,
    idp: IdentityProvider,
    atlassian: AtlassianFake,
) -> AsyncIterator[Platform]:
    from auth_service.app import create_app as create_auth_app
    from auth_service.settings import AuthSettings

    auth_settings = AuthSettings(
        **service_settings("auth-service"),  # type: ignore[arg-type]
        port=auth_port.port,
        public_base_url=auth_port.base_url,
        token_encryption_keys=TEST_ENCRYPTION_KEYS,
        allow_insecure_provider_urls=True,
    )
    integrations = load_integrations(
        {
            "CONFLUENCE_CLIENT_ID": CLIENT_ID,
            "CONFLUENCE_CLIENT_SECRET": CLIENT_SECRET,
            "ATLASSIAN_AUTH_BASE_URL": idp.base_url,
            "ATLASSIAN_API_BASE_URL": atlassian.base_url,
        }
    )
    integration_settings = IntegrationSettings(
        **service_settings("integration-service"),  # type: ignore[arg-type]
        auth_service_url=auth_port.base_url,
    )
    bearer = {"Authorization": f"Bearer {token()}"}
    async with (
        served_on(create_auth_app(auth_settings, integrations), auth_port.port),
        serving(create_integration_app(integration_settings, integrations)) as client,
        aiohttp.ClientSession() as http,
    ):
        service = Service(client, client.app, bearer, integration_settings.event_queue)
        yield Platform(auth_port.base_url, bearer, service, http, idp.base_url)


@pytest.fixture
async def tap(infra: Infra) -> AsyncIterator[EventTap]:
    async with EventTap(infra.amqp_url, ["integration.*", "authorization.*", "credential.*"]) as t:
        yield t


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def of_app(tap: EventTap, app_id: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in tap.of_type(event_type) if e["subject"] == app_id]


async def state_of(platform: Platform, app_id: str) -> dict[str, Any]:
    return await platform.integration.integration(app_id)


async def pre_authorize(
    platform: Platform,
    browser: aiohttp.ClientSession,
    app_id: str,
    profile: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Configure pre_authorize and consent as the admin; returns the configured integration."""
    status, body = await platform.integration.configure(app_id, "pre_authorize", profile)
    assert status == 202, body
    url = body["authorization"]["authorization_url"]
    assert url.startswith(f"{platform.auth_url}/connect/")
    result = await complete_consent(browser, url)
    assert result.status == 200, result.text[:500]
    assert await eventually(lambda: _is(platform, app_id, "state", "configured"), timeout=15), (
        "the integration never became configured"
    )
    return await state_of(platform, app_id)


async def _is(platform: Platform, app_id: str, key: str, value: str) -> bool:
    return bool((await state_of(platform, app_id))[key] == value)


async def _connection_is(platform: Platform, app_id: str, status: str) -> bool:
    return bool((await state_of(platform, app_id))["connection"]["status"] == status)


async def credentials(platform: Platform, app_id: str, query: str = "") -> list[dict[str, Any]]:
    status, body = await platform.auth_call(
        "GET", f"/v1/apps/{app_id}/credentials?integration=confluence{query}"
    )
    assert status == 200, body
    return list(body["items"])


async def test_pre_authorize_through_real_consent_configures_the_integration(
    platform: Platform, browser: aiohttp.ClientSession, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    item = await pre_authorize(platform, browser, app_id)
    assert item["authorization"] == {"type": "pre_authorize", "profile": {"kind": "system"}}
    assert item["connection"]["status"] == "connected"

    (configured,) = await tap.wait_for_type("integration.configured")
    assert configured["data"]["first_configuration"] is True
    (credential,) = await credentials(platform, app_id)
    assert credential["subject"] == {"type": "app"}
    assert credential["status"] == "active"


async def test_a_denied_consent_leaves_the_state_and_records_the_error(
    platform: Platform, browser: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    status, body = await platform.integration.configure(app_id, "pre_authorize")
    assert status == 202, body
    await complete_consent(browser, body["authorization"]["authorization_url"], deny=True)
    assert await eventually(lambda: _last_error(platform, app_id), timeout=15), (
        "authorization.failed never reached integration-service"
    )
    item = await state_of(platform, app_id)
    assert item["state"] == "available"
    assert item["connection"]["last_error"]["code"] == "access_denied"


async def _last_error(platform: Platform, app_id: str) -> bool:
    return (await state_of(platform, app_id))["connection"]["last_error"] is not None


async def test_user_authorize_and_a_user_link_give_that_user_a_credential(
    platform: Platform, browser: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    status, body = await platform.integration.configure(app_id, "user_authorize")
    assert status == 200, body
    assert body["connection"]["status"] == "per_user"

    status, link = await platform.integration.call(
        "POST", f"/v1/apps/{app_id}/integrations/confluence/user-links", {"user_id": "user-7"}
    )
    assert status == 201, link
    assert link["link"].startswith(f"{platform.auth_url}/connect/")
    result = await complete_consent(browser, link["link"])
    assert result.status == 200, result.text[:500]
    (credential,) = await credentials(platform, app_id, "&user_id=user-7")
    assert credential["subject"] == {"type": "user", "user_id": "user-7"}


async def test_a_custom_profile_of_another_app_is_refused(platform: Platform, unique: str) -> None:
    app_id, other = f"app-{unique}", f"other-{unique}"
    await platform.integration.put_app(app_id)
    status, profile = await platform.auth_call(
        "POST",
        f"/v1/apps/{other}/auth-profiles",
        custom_profile_body(platform.idp_url, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
    )
    assert status == 201, profile
    for kind in ("pre_authorize", "user_authorize"):
        status, body = await platform.integration.configure(
            app_id, kind, {"kind": "custom", "profile_id": profile["profile_id"]}
        )
        assert (status, body["code"]) == (422, "auth_profile_not_found")
    assert (await state_of(platform, app_id))["version"] == 0


async def test_a_trial_app_is_refused_without_reaching_auth_service(
    platform: Platform, unique: str
) -> None:
    app_id = f"trial-{unique}"
    await platform.integration.put_app(app_id, "trial")
    status, body = await platform.integration.configure(app_id, "pre_authorize")
    assert (status, body["code"]) == (403, "edition_not_supported")


async def test_the_provider_killing_the_refresh_token_requires_reauthorization(
    platform: Platform,
    browser: aiohttp.ClientSession,
    idp: IdentityProvider,
    tap: EventTap,
    token: Callable[..., str],
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    await pre_authorize(platform, browser, app_id)
    assert await idp.revoke_grants() >= 1
    # The access token lives an hour: asking for one valid that long makes auth-service refresh
    # now (a forced refresh right after the consent would fall in its anti-stampede window).

    issuer = f"Bearer {token(scopes=[Scope.ISSUE_TOKENS])}"
    status, body = await platform.auth_call(
        "POST",
        f"/v1/apps/{app_id}/integrations/confluence/access-token",
        {"subject": {"type": "app"}, "min_valid_seconds": 3600, "force_refresh": False},
        authorization=issuer,
    )
    assert (status, body["code"]) == (409, "reauthorization_required")
    assert await eventually(
        lambda: _connection_is(platform, app_id, "reauthorization_required"), timeout=15
    )
    (event,) = await tap.wait_for_type("integration.reauthorization_required")
    assert event["subject"] == app_id

    path = f"/v1/apps/{app_id}/integrations/confluence"
    await platform.integration.call("PATCH", path, {"enabled": False})
    status, body = await platform.integration.call("PATCH", path, {"enabled": True})
    assert (status, body["code"]) == (409, "reauthorization_required")

    await pre_authorize(platform, browser, app_id)
    assert await eventually(lambda: _connection_is(platform, app_id, "connected"), timeout=15)


async def test_disable_enable_delete_and_first_configuration_across_both_services(
    platform: Platform, browser: aiohttp.ClientSession, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await platform.integration.put_app(app_id)
    await pre_authorize(platform, browser, app_id)
    path = f"/v1/apps/{app_id}/integrations/confluence"
    status, body = await platform.integration.call("PATCH", path, {"enabled": False})
    assert (status, body["state"]) == (200, "disabled")
    status, body = await platform.integration.call("PATCH", path, {"enabled": True})
    assert (status, body["state"]) == (200, "configured")
    status, _ = await platform.integration.call("DELETE", path)
    assert status == 204
    # auth-service destroys the credentials when it sees integration.removed.
    assert await eventually(lambda: _no_credentials(platform, app_id), timeout=15)
    assert (await state_of(platform, app_id))["state"] == "available"

    await pre_authorize(platform, browser, app_id)
    configured = await tap.wait_for_type("integration.configured", 2)
    assert [e["data"]["first_configuration"] for e in configured] == [True, False]
    kinds = [
        e["type"] for e in tap.events if e["subject"] == app_id and "integration." in e["type"]
    ]
    assert kinds == [
        "integration.configured",
        "integration.disabled",
        "integration.enabled",
        "integration.removed",
        "integration.configured",
    ]
    assert of_app(tap, app_id, "integration.reauthorization_required") == []


async def _no_credentials(platform: Platform, app_id: str) -> bool:
    return not [c for c in await credentials(platform, app_id) if c["status"] == "active"]
