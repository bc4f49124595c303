"""Prometheus metrics of one service: HTTP requests, the outbox relay and the event consumer,
and the shape of the provider-call metrics that the services calling a provider share.

Each app gets its own registry, so several services (or test apps) in one process never share
counters.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to serve an HTTP request",
            ["method", "route", "status"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.outbox_published = Counter(
            "outbox_events_published_total", "Events the relay published", ["type"], registry=r
        )
        self.outbox_failures = Counter(
            "outbox_publish_failures_total", "Failed attempts to publish an event", registry=r
        )
        self.outbox_pending = Gauge(
            "outbox_events_pending", "Events stored but not yet published", registry=r
        )
        self.outbox_lag = Histogram(
            "outbox_publish_lag_seconds",
            "Time from an event's commit to the broker's confirm",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120),
        )
        self.events_consumed = Counter(
            "events_consumed_total",
            "Events the consumer finished with, by outcome",
            ["queue", "type", "outcome"],
            registry=r,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ProviderCallMetrics:
    """Latency and errors of calls to a provider, per integration and operation (`token` and
    `sites` from auth-service, `api` from template-service's runs). The outcome is the answer's
    status class (`2xx`…`5xx`) or `timeout` / `connection` when there was no answer."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["integration", "operation", "outcome"]
        self.latency = Histogram(
            "provider_request_duration_seconds",
            "Time for a provider to answer one call",
            labels,
            registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.errors = Counter(
            "provider_errors_total",
            "Provider calls that failed: an error status, a timeout or no connection",
            labels,
            registry=registry,
        )

    def answered(self, integration: str, operation: str, status: int, seconds: float) -> None:
        outcome = f"{status // 100}xx"
        self.latency.labels(integration, operation, outcome).observe(seconds)
        if status >= 400:
            self.errors.labels(integration, operation, outcome).inc()

    def failed(self, integration: str, operation: str, timed_out: bool, seconds: float) -> None:
        outcome = "timeout" if timed_out else "connection"
        self.latency.labels(integration, operation, outcome).observe(seconds)
        self.errors.labels(integration, operation, outcome).inc()


METRICS_KEY = web.AppKey("metrics", ServiceMetrics)
