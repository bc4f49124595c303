"""auth-service's business metrics on the app's Prometheus registry, per integration: token
vends and refreshes by outcome, consents by how they ended."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class PrometheusAuthMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._vends = Counter(
            "token_vends_total",
            "Access-token calls, by outcome (served, refreshed, or the problem code refused)",
            ["integration", "outcome"],
            registry=registry,
        )
        self._refreshes = Counter(
            "token_refreshes_total",
            "Refreshes at the token endpoint, by outcome",
            ["integration", "outcome"],
            registry=registry,
        )
        self._consents = Counter(
            "consents_total",
            "Authorizations that ended, completed or failed (with the error code)",
            ["integration", "outcome", "code"],
            registry=registry,
        )

    def vended(self, integration: str, outcome: str) -> None:
        self._vends.labels(integration, outcome).inc()

    def refreshed(self, integration: str, outcome: str) -> None:
        self._refreshes.labels(integration, outcome).inc()

    def consent_ended(self, integration: str, outcome: str, code: str) -> None:
        self._consents.labels(integration, outcome, code).inc()
