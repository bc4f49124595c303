"""template-service's business metrics on the app's Prometheus registry: runs by status."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class PrometheusRunMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._runs = Counter(
            "runs_total",
            "Runs of installed dialog tasks that finished, by integration and status",
            ["integration", "status"],
            registry=registry,
        )

    def run_finished(self, integration: str, status: str) -> None:
        self._runs.labels(integration, status).inc()
