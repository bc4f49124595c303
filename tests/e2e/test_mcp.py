"""Installed templates as MCP tools (contract §3 "Tools"), end to end: the MCP SDK's own client over
Streamable HTTP against tool-service as a process, with the other services, the real
oidc-provider and the Atlassian stand-in behind it.

Each scenario runs in both protocol eras the SDK serves, as the client chooses them: the
initialize handshake (2025-11-25, `mode="legacy"`: a stateful session with a GET stream) and the
per-request envelope (2026-07-28, what `mode="auto"` settles on with this server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext, IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    ElicitCompleteNotification,
    ElicitRequestParams,
    ElicitRequestURLParams,
    ElicitResult,
    TextContent,
    ToolListChangedNotification,
)

from integrations_client import IntegrationsClient
from platform_core.contract_types import SystemProfileRef
from platform_core.service_auth import Scope, mint_token
from tests.e2e.conftest import SITES, System
from tests.support.infra import TEST_JWT_SECRET
from tests.support.metrics import metric
from tests.support.processes import ServiceProcess, delete_queues
from tests.support.scenarios import connected_app, consent, new_app
from tests.support.scenarios import install_when_installable as install
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

SITE = SITES[0]
ERAS = [
    pytest.param("legacy", "2025-11-25", id="2025-11-25"),
    pytest.param("auto", "2026-07-28", id="2026-07-28"),
]
GET_STREAMS_OPENED = "mcp_notification_streams_opened_total"


# --- the platform side: apps, consent, installations ---------------------------------------


async def per_user_app(api: IntegrationsClient) -> str:
    """An enterprise app whose Confluence each end user connects for themselves."""
    app_id = new_app()
    await api.put_app(app_id, name="MCP app", edition="enterprise")
    await api.configure(app_id, "confluence", "user_authorize", profile=SystemProfileRef())
    return app_id


async def template_tools(api: IntegrationsClient, app_id: str) -> list[dict[str, Any]]:
    """template-service's MCP tool definitions, as its JSON names them."""
    return [
        tool.model_dump(by_alias=True, exclude_none=True)
        for tool in await api.list_tools(app_id, format="mcp").collect()
    ]


async def landed(system: System) -> dict[str, Any]:
    url = f"{system.atlassian.base_url}/__control/content?site={SITE['id']}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        content: dict[str, Any] = await response.json()
        return content


# --- the agent side: tokens and the SDK's client --------------------------------------------


def agent_token(
    app_ids: Sequence[str] | None,
    *,
    user_id: str | None = None,
    scopes: Sequence[Scope] = (Scope.RUN_ACTIONS,),
    audience: Sequence[str] | None = ("tool-service",),
) -> str:
    return mint_token(
        TEST_JWT_SECRET,
        "agent-runtime",
        scopes,
        app_ids=app_ids,
        audience=audience,
        user_id=user_id,
    )


@contextlib.asynccontextmanager
async def agent(
    tools: ServiceProcess, token: str, mode: str, **options: Any
) -> AsyncIterator[Client]:
    """The SDK's client over Streamable HTTP, with the token on every request."""
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=120)
    )
    async with (
        http,
        Client(
            streamable_http_client(f"{tools.url}/mcp", http_client=http), mode=mode, **options
        ) as client,
    ):
        yield client


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


# --- the scenarios ---------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "version"), ERAS)
async def test_an_agent_lists_the_apps_tools_as_installed_and_creating_content_lands_the_page(
    system: System, tool_service: ServiceProcess, api: IntegrationsClient, mode: str, version: str
) -> None:
    app_id = await connected_app(api)
    await install(api, app_id, "confluence.create_content")
    await install(api, app_id, "confluence.get_content")
    installed = await template_tools(api, app_id)

    async with agent(tool_service, agent_token([app_id]), mode) as mcp:
        assert mcp.protocol_version == version
        assert mcp.server_capabilities.tools is not None
        assert mcp.server_capabilities.tools.list_changed is True

        listed = (await mcp.list_tools()).tools
        assert [tool.name for tool in listed] == [
            "confluence_create_content",
            "confluence_get_content",
        ]
        for tool, item in zip(listed, installed, strict=True):
            assert tool.title == item["title"]
            assert tool.description == item["description"]
            assert tool.input_schema == item["inputSchema"]
            assert tool.annotations is not None
            assert (
                tool.annotations.model_dump(by_alias=True, exclude_none=True) == item["annotations"]
            )
            assert tool.meta is None  # which task a tool runs stays inside the platform
        create = listed[0].annotations
        assert create is not None and (create.read_only_hint, create.destructive_hint) == (
            False,
            False,
        )

        title = f"Agent plan {uuid.uuid4().hex[:6]}"
        created = await mcp.call_tool(
            "confluence_create_content",
            {
                "contentType": "page",
                "spaceKey": "ENG",
                "contentTitle": title,
                "contentBody": "<p>Hi</p>",
            },
        )
        assert created.is_error is False, created
        assert text(created).startswith(f'Created "{title}": https://acme.atlassian.net/wiki/')
        assert created.structured_content is not None
        assert created.structured_content["status"] == "succeeded"
        assert created.structured_content["app_id"] == app_id
        assert title in [page["title"] for page in (await landed(system))["pages"]]

        missing = await mcp.call_tool("confluence_get_content", {})
        assert missing.is_error is True and "contentId" in text(missing), missing

        failed = await mcp.call_tool("confluence_get_content", {"contentId": "404404404"})
        assert failed.is_error is True, failed
        assert "failed at step" in text(failed)
        assert (
            failed.structured_content is not None
            and failed.structured_content["status"] == "failed"
        )

        with pytest.raises(MCPError, match="Unknown tool"):
            await mcp.call_tool("confluence_delete_everything", {})


@pytest.mark.parametrize(("mode", "version"), ERAS)
async def test_a_user_without_consent_is_asked_by_url_elicitation_consents_and_the_call_succeeds(
    system: System, tool_service: ServiceProcess, api: IntegrationsClient, mode: str, version: str
) -> None:
    app_id = await per_user_app(api)
    await install(api, app_id, "confluence.list_spaces")
    user = f"u-{uuid.uuid4().hex[:8]}"
    asked: list[ElicitRequestURLParams] = []
    completed: list[str] = []

    async def consent_in_the_browser(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        assert isinstance(params, ElicitRequestURLParams), params
        asked.append(params)
        page = await consent(params.url, login=user, cloud_id=SITE["id"])
        assert page.status == 200, page.text
        return ElicitResult(action="accept")

    async def notifications(message: IncomingMessage) -> None:
        if isinstance(message, ElicitCompleteNotification):
            completed.append(message.params.elicitation_id)

    async with agent(
        tool_service,
        agent_token([app_id], user_id=user),
        mode,
        elicitation_callback=consent_in_the_browser,
        message_handler=notifications,
    ) as mcp:
        assert mcp.protocol_version == version
        first = await mcp.call_tool("confluence_list_spaces", {})
        assert first.is_error is False, first
        assert "ENG" in text(first)
        (question,) = asked
        assert question.mode == "url"
        assert question.url.startswith(f"{system.auth_url}/connect/")
        assert "Confluence" in question.message
        if version == "2025-11-25":
            assert completed == [question.elicitation_id]

        again = await mcp.call_tool("confluence_list_spaces", {})
        assert again.is_error is False and "ENG" in text(again), again
        assert len(asked) == 1  # connected now: nobody is asked again


@pytest.mark.parametrize(("mode", "version"), ERAS)
async def test_a_client_without_url_elicitation_gets_the_link_then_succeeds_after_the_consent(
    system: System, tool_service: ServiceProcess, api: IntegrationsClient, mode: str, version: str
) -> None:
    app_id = await per_user_app(api)
    await install(api, app_id, "confluence.list_spaces")
    user = f"u-{uuid.uuid4().hex[:8]}"

    async with agent(tool_service, agent_token([app_id]), mode) as nobody:
        anonymous = await nobody.call_tool("confluence_list_spaces", {})
        assert anonymous.is_error is True
        assert "user_id" in text(anonymous), anonymous

    async with agent(tool_service, agent_token([app_id], user_id=user), mode) as mcp:
        assert mcp.protocol_version == version
        first = await mcp.call_tool("confluence_list_spaces", {})
        assert first.is_error is True, first
        assert first.structured_content is not None
        assert first.structured_content["status"] == "authorization_required"
        link = first.structured_content["authorization"]["link"]
        assert link.startswith(f"{system.auth_url}/connect/")
        assert link in text(first) and "confluence_list_spaces again" in text(first)

        page = await consent(link, login=user, cloud_id=SITE["id"])
        assert page.status == 200, page.text
        again = await mcp.call_tool("confluence_list_spaces", {})
        assert again.is_error is False and "ENG" in text(again), again


async def test_a_token_that_may_not_call_the_tools_is_refused_with_the_metadata_pointer(
    system: System, tool_service: ServiceProcess
) -> None:
    metadata_url = f"{tool_service.url}/.well-known/oauth-protected-resource"
    pointer = f'resource_metadata="{metadata_url}"'
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }

    async def post(authorization: str | None) -> tuple[int, str, dict[str, Any]]:
        headers = {"Accept": "application/json, text/event-stream"}
        if authorization is not None:
            headers["Authorization"] = authorization
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{tool_service.url}/mcp", json=initialize, headers=headers) as response,
        ):
            body = await response.json(content_type=None) if response.status >= 400 else {}
            return response.status, response.headers.get("WWW-Authenticate", ""), body

    status, challenge, body = await post(None)
    assert (status, body["code"]) == (401, "unauthenticated")
    assert pointer in challenge and "error=" not in challenge and 'scope="actions:run"' in challenge

    refused_tokens = {
        "garbage": (401, "invalid_token", "Bearer not-a-jwt"),
        "no aud": (401, "invalid_token", f"Bearer {agent_token(['app-1'], audience=None)}"),
        "another aud": (
            401,
            "invalid_token",
            f"Bearer {agent_token(['app-1'], audience=['template-service'])}",
        ),
        "no actions:run": (
            403,
            "insufficient_scope",
            f"Bearer {agent_token(['app-1'], scopes=(Scope.READ, Scope.WRITE))}",
        ),
        "no app": (403, "insufficient_scope", f"Bearer {agent_token(None)}"),
        "several apps": (403, "insufficient_scope", f"Bearer {agent_token(['app-1', 'app-2'])}"),
    }
    for case, (expected, error, authorization) in refused_tokens.items():
        status, challenge, body = await post(authorization)
        assert status == expected, case
        assert body["code"] == ("unauthenticated" if expected == 401 else "forbidden"), case
        assert challenge.startswith("Bearer "), case
        assert f'error="{error}"' in challenge and pointer in challenge, case
        assert 'scope="actions:run"' in challenge, case

    status, _, _ = await post(f"Bearer {agent_token(['app-1'])}")
    assert status == 200

    for path in (
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ):
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{tool_service.url}{path}") as response,
        ):
            assert response.status == 200
            document = await response.json()
        assert document["resource"] == f"{tool_service.url}/mcp"
        assert document["authorization_servers"] == [system.auth_url]
        assert document["bearer_methods_supported"] == ["header"]
        assert document["scopes_supported"] == ["actions:run"]

    with pytest.raises(ExceptionGroup) as refused:
        async with agent(tool_service, agent_token(["app-1"], audience=None), "legacy"):
            pass
    assert refused.group_contains(MCPError)

    logs = tool_service.log_text()
    assert all(token.removeprefix("Bearer ") not in logs for _, _, token in refused_tokens.values())


async def test_installing_and_uninstalling_changes_the_tools_and_tells_connected_clients(
    system: System, tool_service: ServiceProcess, api: IntegrationsClient
) -> None:
    app_id = await connected_app(api)
    await install(api, app_id, "confluence.create_content")
    other_app = await connected_app(api)
    token = agent_token([app_id])
    changed = asyncio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    streams_before = await metric(
        tool_service.url, GET_STREAMS_OPENED, channel="session_get_stream"
    )
    async with (
        agent(tool_service, token, "legacy", message_handler=on_message) as session_client,
        agent(tool_service, token, "auto") as modern_client,
        agent(tool_service, agent_token([other_app]), "auto") as bystander,
        modern_client.listen(tools_list_changed=True) as changes,
        bystander.listen(tools_list_changed=True) as bystander_changes,
    ):
        assert session_client.protocol_version == "2025-11-25"
        assert modern_client.protocol_version == "2026-07-28"

        async def session_stream_open() -> bool:
            return (
                await metric(tool_service.url, GET_STREAMS_OPENED, channel="session_get_stream")
                > streams_before
            )

        assert await eventually(session_stream_open, timeout=10)

        async def names(mcp: Client) -> list[str]:
            return [tool.name for tool in (await mcp.list_tools()).tools]

        assert await names(session_client) == ["confluence_create_content"]
        installation = await install(api, app_id, "confluence.get_content")

        await asyncio.wait_for(changed.wait(), 15)
        await asyncio.wait_for(anext(changes), 15)
        expected = ["confluence_create_content", "confluence_get_content"]
        assert await names(session_client) == expected
        assert await names(modern_client) == expected

        changed.clear()
        await api.uninstall(app_id, installation.installation_id)
        await asyncio.wait_for(changed.wait(), 15)
        await asyncio.wait_for(anext(changes), 15)
        assert await names(session_client) == ["confluence_create_content"]
        assert await names(modern_client) == ["confluence_create_content"]

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(bystander_changes), 0.5)
        assert await names(bystander) == []


async def test_a_session_answers_only_the_app_and_user_it_was_opened_for(
    tool_service: ServiceProcess,
) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    opening = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}

    async with aiohttp.ClientSession() as http:

        async def post(
            token: str, body: dict[str, Any], session_id: str | None = None
        ) -> tuple[int, str | None, str]:
            extra = {"Mcp-Session-Id": session_id} if session_id else {}
            async with http.post(
                f"{tool_service.url}/mcp",
                json=body,
                headers={**headers, **extra, "Authorization": f"Bearer {token}"},
            ) as response:
                return (
                    response.status,
                    response.headers.get("Mcp-Session-Id"),
                    await response.text(),
                )

        status, session_id, _ = await post(agent_token(["app-a"], user_id="u-1"), opening)
        assert status == 200 and session_id is not None
        for stranger in (
            agent_token(["app-b"], user_id="u-1"),
            agent_token(["app-a"], user_id="u-2"),
            agent_token(["app-a"]),
        ):
            status, _, body = await post(stranger, listing, session_id)
            assert status == 404, body
        status, _, body = await post(agent_token(["app-a"], user_id="u-1"), listing, session_id)
        assert status == 200, body


async def test_sigterm_ends_listening_clients_gracefully_and_exits_cleanly(
    system: System, tool_service: ServiceProcess, tmp_path: Path
) -> None:
    queue = f"e2e.{system.run_id}.tool-service-sigterm.events"
    env = {
        "MONGODB_URL": system.infra.mongodb_url,
        "AMQP_URL": system.infra.amqp_url,
        "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
        "EVENT_QUEUE": queue,
        "TEMPLATE_SERVICE_URL": system.template.url,
        "MCP_AUTHORIZATION_SERVERS": system.auth_url,
    }
    process = ServiceProcess("tool_service", env, tmp_path / "tool-sigterm.log")
    process.env["PUBLIC_BASE_URL"] = process.url
    try:
        await process.start()
        async with (
            agent(process, agent_token(["app-1"]), "auto") as modern,
            modern.listen(tools_list_changed=True) as changes,
        ):
            started = asyncio.get_running_loop().time()
            assert process.process is not None
            process.process.send_signal(signal.SIGTERM)
            with pytest.raises(StopAsyncIteration):  # the server ended the stream, gracefully
                await asyncio.wait_for(anext(changes), 10)
            assert await asyncio.wait_for(process.process.wait(), 10) == 0
            assert asyncio.get_running_loop().time() - started < 5
    finally:
        await process.stop()
        await delete_queues(
            system.infra.amqp_url, [queue, f"{queue}.dlq", f"{queue}.retry.1", f"{queue}.retry.2"]
        )
    lines = [json.loads(line) for line in process.log_text().splitlines() if line.startswith("{")]
    assert lines[-1]["event"] == "stopped"
    assert not [line for line in lines if line["level"] in {"error", "critical"}]
