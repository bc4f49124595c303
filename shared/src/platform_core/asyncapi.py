"""AsyncAPI 3.0 for the `integrations` exchange, generated from the event models of `events`.

Nothing here is written by hand per event: each entry of `EVENT_TYPES` becomes a channel (its
routing key), a message (the CloudEvents envelope around that model's JSON schema) and a `send`
operation of the service that produces it. `docs/asyncapi.json` is this module's output,
regenerated with `python -m platform_core.asyncapi > docs/asyncapi.json`.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import sys
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from platform_core.events import CONTENT_TYPE, EVENT_TYPES, EXCHANGE, CloudEvent

REF = "#/components/schemas/{model}"
AMQP_BINDING_VERSION = "0.3.0"
SERVER = "amqp"

# The part of the type before the first dot names the family; each family has one producer.
PRODUCERS = {
    "authorization": "auth-service",
    "credential": "auth-service",
    "integration": "integration-service",
    "template": "template-service",
    "dialog_task": "template-service",
}

SERVICES = {
    "auth-service": "Authorization profiles, the OAuth 2.0 dance, the credential vault, refresh.",
    "integration-service": "Apps, editions, the catalog, each integration's lifecycle.",
    "template-service": "Templates, installations, dialog tasks and their runs.",
}

# CloudEvents 1.0 makes these attributes required even where the envelope model has a default.
CLOUDEVENTS_REQUIRED = ("specversion", "id", "source", "type")

TRACEPARENT = {
    "type": "string",
    "description": (
        "CloudEvents distributed-tracing extension: the W3C Trace Context `traceparent` of the "
        "operation that raised the event (`00-<trace-id>-<parent-id>-<flags>`). Optional; "
        "consumers continue the trace from it."
    ),
    "examples": ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
}

# `info.description`, one string per paragraph: CommonMark needs no hard wraps in the JSON.
DESCRIPTION = "\n\n".join(
    (
        f"Every event of the platform, published on the durable topic exchange `{EXCHANGE}`. "
        "The routing key is the event `type`, so a consumer binds its own durable queue with "
        "the types (or patterns such as `credential.*`) it needs.",
        "Each message is a CloudEvents 1.0 event in structured mode: the body is the JSON "
        f"envelope, the AMQP `content_type` is `{CONTENT_TYPE}`, `message_id` is the event "
        "`id`, `type` is the event `type`, `app_id` is the producing service, and messages are "
        "persistent (delivery mode 2). The envelope's `subject` is the `app_id` the event is "
        "about and `data` is the event's payload. The optional `traceparent` extension "
        "attribute carries the W3C Trace Context of the operation that raised the event.",
        "Delivery is at least once: an event may arrive more than once, and its `id` is stable "
        "across redeliveries, so consumers dedupe on `id`. Consumers ignore `data` fields they "
        "do not know, since producers may add some. No event ever carries a token or a secret.",
    )
)


class _AsyncApiJsonSchema(GenerateJsonSchema):
    """pydantic's JSON schema in the dialect AsyncAPI's Schema Object accepts.

    pydantic marks tagged unions with OpenAPI's `discriminator` object, which AsyncAPI's schema
    rejects (there it is a property name whose value must be a schema name, not a tag). The
    `oneOf` with a `const` tag in each branch already tells the branches apart, so it is dropped.
    """

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        json_schema = super().tagged_union_schema(schema)
        json_schema.pop("discriminator", None)
        return json_schema


def producer_of(event_type: str) -> str:
    family = event_type.split(".", 1)[0]
    try:
        return PRODUCERS[family]
    except KeyError:
        # A new family must name its producer here rather than be published undocumented.
        raise ValueError(f"no producing service recorded for event type {event_type!r}") from None


def build_asyncapi(version: str) -> dict[str, Any]:
    models = sorted(EVENT_TYPES.items())
    _, defs = models_json_schema(
        [(model, "validation") for _, model in models],
        ref_template=REF,
        schema_generator=_AsyncApiJsonSchema,
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    envelope = CloudEvent.model_json_schema(mode="validation")
    for event_type, model in models:
        name = model.__name__
        service = producer_of(event_type)
        if f"{name}Event" in schemas:
            raise ValueError(f"schema name {name}Event is taken by a model the events use")
        schemas[f"{name}Event"] = _envelope(envelope, event_type, name, service)
        messages[name] = _message(event_type, name, service)
        channels[event_type] = {
            "address": event_type,
            "title": event_type,
            "description": f"Routing key `{event_type}` on the `{EXCHANGE}` exchange.",
            "servers": [{"$ref": f"#/servers/{SERVER}"}],
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": _exchange_binding()},
        }
        operations[f"send{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{_pointer(event_type)}"},
            "messages": [{"$ref": f"#/channels/{_pointer(event_type)}/messages/{name}"}],
            "title": f"{service} publishes {event_type}",
            "summary": f"Published by {service} through its transactional outbox.",
            "tags": [{"$ref": f"#/components/tags/{service}"}],
            "x-producer": service,
            "bindings": {
                "amqp": {
                    "deliveryMode": 2,
                    "mandatory": False,
                    "timestamp": True,
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }
    return {
        "asyncapi": "3.0.0",
        "id": f"urn:integrations-platform:exchange:{EXCHANGE}",
        "info": {
            "title": f"Integrations platform events (the `{EXCHANGE}` exchange)",
            "version": version,
            "description": DESCRIPTION,
            "tags": [{"$ref": f"#/components/tags/{service}"} for service in sorted(SERVICES)],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            SERVER: {
                "host": "{host}",
                "pathname": "/{vhost}",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "title": "RabbitMQ",
                "description": "The broker every service reaches through its `AMQP_URL`.",
                "variables": {
                    "host": {
                        "default": "127.0.0.1:5672",
                        "description": "Host and port of `AMQP_URL` (`make run` uses the default).",
                    },
                    "vhost": {
                        "default": "%2F",
                        "description": "Virtual host, percent-encoded as in an AMQP URI (`%2F` "
                        "is the default vhost `/`).",
                    },
                },
                "security": [{"$ref": "#/components/securitySchemes/amqpUser"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "amqpUser": {
                    "type": "userPassword",
                    "description": "The user and password of `AMQP_URL` (SASL PLAIN).",
                }
            },
            "tags": {
                service: {"name": service, "description": description}
                for service, description in sorted(SERVICES.items())
            },
        },
    }


def _envelope(envelope: dict[str, Any], event_type: str, name: str, service: str) -> dict[str, Any]:
    schema = copy.deepcopy(envelope)
    properties = schema["properties"]
    properties["type"] = {**properties["type"], "const": event_type}
    properties["source"] = {**properties["source"], "const": f"/{service}"}
    properties["subject"] = {**properties["subject"], "description": "The event's `app_id`."}
    properties["id"]["description"] = "Unique per event and stable across redeliveries."
    properties["data"] = {"$ref": REF.format(model=name)}
    properties["traceparent"] = TRACEPARENT
    schema["required"] = sorted(set(schema["required"]) | set(CLOUDEVENTS_REQUIRED))
    schema["title"] = f"{name}Event"
    schema["description"] = f"The CloudEvents 1.0 structured envelope of `{event_type}`."
    return schema


def _message(event_type: str, name: str, service: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": event_type,
        "summary": f"`{event_type}`, published by {service}.",
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": REF.format(model=f"{name}Event")},
        "bindings": {
            "amqp": {
                "messageType": event_type,
                "bindingVersion": AMQP_BINDING_VERSION,
                # AMQP basic properties the AMQP binding has no field for.
                "x-message-id": "$message.payload#/id",
                "x-app-id": service,
            }
        },
    }


def _exchange_binding() -> dict[str, Any]:
    return {
        "is": "routingKey",
        "exchange": {"name": EXCHANGE, "type": "topic", "durable": True, "autoDelete": False},
        "bindingVersion": AMQP_BINDING_VERSION,
    }


def _pointer(key: str) -> str:
    """A JSON pointer segment (RFC 6901): event types have no `~` or `/` today, but stay safe."""
    return key.replace("~", "~0").replace("/", "~1")


def render(version: str) -> str:
    """The document exactly as checked in: sorted keys, so regenerating it is byte-stable."""
    return json.dumps(build_asyncapi(version), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def package_version() -> str:
    return importlib.metadata.version("platform-core")


def main() -> None:
    sys.stdout.write(render(package_version()))


if __name__ == "__main__":
    main()
