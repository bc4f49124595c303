"""Tracing across HTTP and AMQP with OpenTelemetry and W3C trace context, off (and free) unless
`OTEL_EXPORTER_OTLP_ENDPOINT` is set.

One configure flow is one trace: an HTTP request continues the `traceparent` it was sent
(server span), calls to peers carry it on (client span), an event raised in a unit of work gets
a producer span whose context travels in the CloudEvents `traceparent` extension through the
outbox and as an AMQP header, and the consumer that handles it continues that trace (consumer
span), raising its own events inside it. Log lines carry `trace_id` and `span_id` while a span
is current.

While no tracer provider is in use, `enabled()` is false and nothing is wrapped: the services
add no middleware, events carry no extension. `configure_tracing` installs the OTLP/HTTP
exporter from the standard OTEL_* variables; tests install their own provider with `use_provider`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACER_NAME = "integrations-platform"
_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Export spans with OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; True if it is."""
    if not environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)
    return True


def use_provider(provider: TracerProvider | None) -> None:
    """Trace with `provider` from now on (None: stop tracing)."""
    global _provider
    _provider = provider


def enabled() -> bool:
    return _provider is not None


@contextmanager
def span(
    name: str,
    kind: SpanKind,
    *,
    parent: Mapping[str, str] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A current span (None while tracing is off), continuing `parent`'s trace context when a
    carrier with a `traceparent` is given."""
    if _provider is None:
        yield None
        return
    context = _PROPAGATOR.extract(parent) if parent is not None else None
    tracer = _provider.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=dict(attributes or {})
    ) as current:
        yield current


def traceparent() -> str | None:
    """The current span's context as a `traceparent` value, or None."""
    if _provider is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def current_ids() -> tuple[str, str] | None:
    """The current trace and span ids (hex), for log lines."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _mark(current: Span | None, status: int) -> None:
    if current is None:
        return
    current.set_attribute("http.response.status_code", status)
    if status >= 500:
        current.set_status(Status(StatusCode.ERROR))


def server_middleware(service: str) -> Any:
    """A server span per request, continuing the caller's trace."""

    @web.middleware
    async def traced(request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        attributes = {"service.name": service, "http.request.method": request.method}
        with span(
            f"{request.method} {route}",
            SpanKind.SERVER,
            parent=request.headers,
            attributes={**attributes, "http.route": route},
        ) as current:
            response: web.StreamResponse = await handler(request)
            _mark(current, response.status)
            return response

    return traced


def client_middlewares(service: str, *, propagate: bool = True) -> tuple[Any, ...]:
    """A client span per outgoing call (its context sent on when `propagate`); none while off."""
    if _provider is None:
        return ()

    async def traced(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        attributes = {
            "service.name": service,
            "http.request.method": request.method,
            "server.address": request.url.host or "",
            "url.path": request.url.path,
        }
        with span(
            f"{request.method} {request.url.path}", SpanKind.CLIENT, attributes=attributes
        ) as current:
            value = traceparent()
            if propagate and value is not None:
                request.headers[TRACEPARENT] = value
            response = await handler(request)
            _mark(current, response.status)
            return response

    return (traced,)
