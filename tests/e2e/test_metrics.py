"""The business metrics operators read from `/metrics`, per integration, after real traffic:
runs by status and provider calls by outcome from template-service; token vends, refreshes,
consents and token-endpoint calls from auth-service (summed over its replicas)."""

from __future__ import annotations

import aiohttp
import pytest

from devinfra.consent import complete_consent
from integrations_client import IntegrationsClient
from platform_core.contract_types import SystemProfileRef
from tests.e2e.conftest import System
from tests.support.metrics import Samples, scrape, value
from tests.support.scenarios import connected_app, control, installed, new_app, new_browser

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


async def scrape_all(urls: list[str]) -> Samples:
    total: Samples = {}
    for url in urls:
        for key, sample in (await scrape(url)).items():
            total[key] = total.get(key, 0.0) + sample
    return total


async def test_runs_and_provider_calls_are_counted_per_integration(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    app_id = await connected_app(api, browser=browser)
    spaces = await installed(api, app_id, "confluence.list_spaces")
    before = await scrape(system.template.url)

    assert (await api.start_run(app_id, spaces)).status == "succeeded"
    await control(system, "POST", "rate-limit", {"count": 10, "status": 503})
    try:
        assert (await api.start_run(app_id, spaces)).status == "failed"
    finally:
        await control(system, "DELETE", "rate-limit")

    after = await scrape(system.template.url)
    runs = "runs_total"
    for status in ("succeeded", "failed"):
        assert value(after, runs, integration="confluence", status=status) == (
            value(before, runs, integration="confluence", status=status) + 1
        )
    api_calls = {"integration": "confluence", "operation": "api"}
    calls = "provider_request_duration_seconds_count"
    answered = {**api_calls, "outcome": "2xx"}
    assert value(after, calls, **answered) > value(before, calls, **answered)
    failed = {**api_calls, "outcome": "5xx"}
    errors = "provider_errors_total"
    assert value(after, errors, **failed) >= value(before, errors, **failed) + 1


async def test_vends_refreshes_consents_and_token_calls_are_counted_per_integration(
    system: System, api: IntegrationsClient, browser: aiohttp.ClientSession
) -> None:
    replicas = [replica.url for replica in system.auth]
    before = await scrape_all(replicas)
    app_id = await connected_app(api, browser=browser)
    await api.issue_access_token(app_id, "confluence")
    await api.issue_access_token(app_id, "confluence", force_refresh=True)

    refused = new_app()
    await api.put_app(refused, name="Refused", edition="enterprise")
    await api.configure(refused, "confluence", "user_authorize", profile=SystemProfileRef())
    link = await api.create_user_link(refused, "confluence", "user-9")
    async with new_browser() as someone:
        denied = await complete_consent(someone, link.link, deny=True, login="user-9")
    assert denied.status == 400, denied.text

    after = await scrape_all(replicas)

    def grew(name: str, *, by: float = 1, **labels: str) -> bool:
        return value(after, name, **labels) >= value(before, name, **labels) + by

    assert grew("consents_total", integration="confluence", outcome="completed", code="")
    assert grew("consents_total", integration="confluence", outcome="failed", code="access_denied")
    assert grew("token_vends_total", integration="confluence", outcome="served")
    assert grew("token_vends_total", integration="confluence", outcome="refreshed")
    assert grew("token_refreshes_total", integration="confluence", outcome="rotated")
    count = "provider_request_duration_seconds_count"
    # The code exchange and the refresh at the token endpoint, the site list after the consent.
    assert grew(count, by=2, integration="confluence", operation="token", outcome="2xx")
    assert grew(count, integration="confluence", operation="sites", outcome="2xx")
