"""docs/asyncapi.json is what the event models generate, and the AsyncAPI parser accepts it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from platform_core.asyncapi import build_asyncapi, package_version, producer_of, render
from platform_core.events import CONTENT_TYPE, EVENT_TYPES, EXCHANGE
from tests.support.infra import REPO_ROOT

DOCUMENT = REPO_ROOT / "docs" / "asyncapi.json"
TOOLS = REPO_ROOT / "tools" / "asyncapi"
REGENERATE = "uv run --frozen python -m platform_core.asyncapi > docs/asyncapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def resolve(document: dict[str, Any], ref: str) -> Any:
    """What a local `$ref` points at, following references to references."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if isinstance(node, dict) and set(node) == {"$ref"}:
        return resolve(document, node["$ref"])
    return node


def ensure_parser(tools: Path) -> None:
    """`npm ci` from the checked-in lock file when the parser is not installed yet."""
    if (tools / "node_modules" / "@asyncapi" / "parser").is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None, "npm is not installed; the AsyncAPI check needs Node 20+"
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=tools,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"npm ci in {tools} failed:\n{result.stdout}{result.stderr}"


def test_the_checked_in_document_is_what_the_event_models_generate_now() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(package_version()), (
        f"docs/asyncapi.json is out of date with platform_core.events; regenerate it: {REGENERATE}"
    )


def test_the_command_line_prints_the_document() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "platform_core.asyncapi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == render(package_version())


def test_generating_twice_gives_the_same_bytes() -> None:
    assert render("1.2.3") == render("1.2.3")
    assert build_asyncapi("1.2.3")["info"]["version"] == "1.2.3"


def test_the_official_asyncapi_parser_accepts_the_document_without_errors() -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed; the AsyncAPI check needs Node 20+"
    ensure_parser(TOOLS)
    result = subprocess.run(
        [node, str(TOOLS / "validate.mjs"), str(DOCUMENT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("error ")]
    assert result.returncode == 0, output
    assert errors == [], output
    assert "AsyncAPI 3.0.0: 0 errors" in result.stdout, output


def test_the_document_describes_the_durable_topic_exchange_over_amqp_0_9_1(
    document: dict[str, Any],
) -> None:
    assert document["asyncapi"] == "3.0.0"
    server = document["servers"]["amqp"]
    assert (server["protocol"], server["protocolVersion"]) == ("amqp", "0-9-1")
    assert set(server["variables"]) == {"host", "vhost"}
    assert document["defaultContentType"] == CONTENT_TYPE
    for text in ("at least once", "dedupe on `id`", "No event ever carries a token or a secret"):
        assert text in document["info"]["description"]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_has_a_channel_a_message_and_a_send_operation(
    document: dict[str, Any], event_type: str
) -> None:
    model = EVENT_TYPES[event_type]
    service = producer_of(event_type)

    channel = document["channels"][event_type]
    assert channel["address"] == event_type
    assert channel["bindings"]["amqp"]["is"] == "routingKey"
    assert channel["bindings"]["amqp"]["exchange"] == {
        "name": EXCHANGE,
        "type": "topic",
        "durable": True,
        "autoDelete": False,
    }
    [channel_message] = channel["messages"].values()
    message = resolve(document, channel_message["$ref"])
    assert message["contentType"] == CONTENT_TYPE
    assert message["bindings"]["amqp"]["messageType"] == event_type
    assert message["bindings"]["amqp"]["x-message-id"] == "$message.payload#/id"

    [operation] = [
        op
        for op in document["operations"].values()
        if resolve(document, op["channel"]["$ref"]) is channel
    ]
    assert operation["action"] == "send"
    assert operation["x-producer"] == service
    assert [resolve(document, tag["$ref"])["name"] for tag in operation["tags"]] == [service]
    assert [resolve(document, m["$ref"]) for m in operation["messages"]] == [message]
    assert operation["bindings"]["amqp"]["deliveryMode"] == 2

    envelope = resolve(document, message["payload"]["$ref"])
    properties = envelope["properties"]
    assert properties["type"]["const"] == event_type
    assert properties["source"]["const"] == f"/{service}"
    assert properties["specversion"]["const"] == "1.0"
    assert properties["traceparent"]["type"] == "string"
    assert "traceparent" not in envelope["required"]
    assert {"specversion", "id", "source", "type", "time", "subject", "data"} <= set(
        envelope["required"]
    )

    data = resolve(document, properties["data"]["$ref"])
    model_required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert model_required <= set(data["required"])
    assert set(data["properties"]) == set(model.model_fields)


def test_no_event_schema_has_a_field_for_a_token_or_a_secret(document: dict[str, Any]) -> None:
    def field_names(node: Any) -> set[str]:
        if isinstance(node, list):
            return set().union(*(field_names(item) for item in node))
        if not isinstance(node, dict):
            return set()
        names = set(node.get("properties", {}))
        return names.union(*(field_names(value) for value in node.values()))

    names = field_names(document["components"]["schemas"])
    assert "app_id" in names
    assert [n for n in names if any(w in n for w in ("token", "secret", "password"))] == []


async def test_every_service_serves_the_document_at_asyncapi_json() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from platform_core.app import create_http_app
    from platform_core.settings import ServiceSettings

    class Settings(ServiceSettings):
        port: int = 1

    app = create_http_app(
        Settings(platform_jwt_secret="x" * 32), service="demo", version="1", routes=[]
    )
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/asyncapi.json")
        assert response.status == 200
        assert await response.json() == json.loads(DOCUMENT.read_text())
