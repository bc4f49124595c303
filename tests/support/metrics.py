"""A running service's Prometheus metrics, read from `/metrics` as a scraper reads them."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(base_url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(
        sample
        for (sample_name, sample_labels), sample in samples.items()
        if sample_name == name and wanted <= sample_labels
    )


async def metric(base_url: str, name: str, **labels: str) -> float:
    return value(await scrape(base_url), name, **labels)
