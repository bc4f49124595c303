"""The business metrics operators read from `/metrics`, per integration, after real traffic:
runs by status and provider calls by outcome from template-service."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from integrations_client import IntegrationsClient
from tests.e2e.conftest import System
from tests.support.scenarios import connected_app, control, installed

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


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
