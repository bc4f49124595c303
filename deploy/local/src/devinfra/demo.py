"""`make demo`: the whole story against the running system, told step by step.

It plays every role in turn: the admin looking at the catalog (Confluence and Jira, both as
data) and configuring Confluence for a Developer app with the platform's own OAuth app, a
browser consenting at the identity provider and choosing a site, a subscriber on RabbitMQ
seeing `integration.configured`, the admin installing "Create Content", a platform service
fetching an access token; then an app whose end users authorize themselves, and a Trial app
being refused. It ends by running "Create Content" as the bot would and printing its message
with the link to the new page. Any surprise ends it with a non-zero exit.

The platform's side goes through the typed client (`integrations_client`), as another platform
service would call it; only the browser's part (`devinfra.consent.follow_link`) is by hand.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

import aio_pika
import aiohttp

from devinfra.consent import follow_link
from devinfra.secrets import SECRETS_FILE
from devinfra.stack import read_env_values, state_dir
from devinfra.standins import LOCAL_SITES
from integrations_client import (
    AppSubject,
    ClientError,
    IntegrationsClient,
    ServiceUrls,
    SystemProfileRef,
    UserSubject,
    errors,
)
from integrations_client.models import AccessToken, Installation, Integration, SiteResource
from platform_core.events import EXCHANGE

CONFLUENCE = "confluence"
CONFIGURED = "integration.configured"
CREATE_CONTENT = "confluence.create_content"


class DemoFailed(RuntimeError):
    """A service answered something the walkthrough did not expect."""


def say(step: str, detail: str = "") -> None:
    print(f"\n==> {step}")
    if detail:
        print(f"    {detail}")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailed(message)


async def subscribe(
    amqp_url: str,
) -> tuple[aio_pika.abc.AbstractRobustConnection, asyncio.Queue[Any]]:
    """Bind a queue of our own to `integration.configured`, as any other consumer would."""
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key=CONFIGURED)
    received: asyncio.Queue[Any] = asyncio.Queue()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await received.put(json.loads(message.body))

    await queue.consume(on_message, no_ack=True)
    return connection, received


async def next_event_about(events: asyncio.Queue[Any], app_id: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = await asyncio.wait_for(events.get(), 10)
        if event["data"]["app_id"] == app_id:
            return event


def resource(token: AccessToken) -> SiteResource:
    if token.resource is None:
        raise DemoFailed("the access token names no site")
    return token.resource


async def wait_configured(client: IntegrationsClient, app_id: str) -> Integration:
    for _ in range(100):
        state = await client.get_integration(app_id, CONFLUENCE)
        if state.state == "configured" and state.connection.status == "connected":
            return state
        await asyncio.sleep(0.1)
    raise DemoFailed(f"{app_id} never became configured: {state.model_dump(mode='json')}")


async def install_when_installable(
    client: IntegrationsClient, app_id: str, template_id: str
) -> Installation:
    """template-service learns of a configuration from an event: wait for it, then install."""
    for _ in range(150):
        async for item in client.list_app_templates(app_id):
            if item.template_id == template_id and item.installable:
                return await client.install(app_id, template_id)
        await asyncio.sleep(0.1)
    raise DemoFailed(f"{template_id} never became installable for {app_id}")


async def catalog(client: IntegrationsClient) -> None:
    say("The catalog lists every integration folder")
    async for entry in client.list_catalog():
        scopes = ", ".join(entry.default_scopes)
        print(f"    - {entry.integration:11} {entry.display_name}: {scopes}")


async def pre_authorized_app(
    client: IntegrationsClient, browser: aiohttp.ClientSession, events: asyncio.Queue[Any]
) -> tuple[str, str]:
    app_id = f"demo-dev-{uuid.uuid4().hex[:6]}"
    say("Register a Developer app", app_id)
    await client.put_app(app_id, name="Demo (Developer)", edition="developer")

    state = await client.get_integration(app_id, CONFLUENCE)
    say("Confluence is listed", f"state: {state.state}")
    check(state.state == "available", "Confluence should start Available")

    say("Pre-authorize with the system profile")
    started = await client.configure(
        app_id, CONFLUENCE, "pre_authorize", profile=SystemProfileRef()
    )
    link = started.authorization.authorization_url
    print(f"    consent link: {link}")

    site = LOCAL_SITES[0]
    say("Follow the link like a browser: sign in, consent, choose a site", site["url"])
    page = await follow_link(browser, link, cloud_id=site["id"])
    check(page.status in (200, 302), f"consent ended with {page.status}: {page.text[:300]}")

    state = await wait_configured(client, app_id)
    say("Confluence is Configured", f"state: {state.state}, connection: connected")
    event = await next_event_about(events, app_id)
    data = event["data"]
    say(
        "integration.configured arrived on our own queue",
        f"app {data['app_id']}, first_configuration={data['first_configuration']}",
    )

    say('Install "Create Content"')
    installation = await install_when_installable(client, app_id, CREATE_CONTENT)
    task = await client.get_dialog_task(app_id, installation.dialog_task_id)
    print(f"    dialog task {task.name} ({task.status}):")
    for node in task.nodes:
        print(f"      - {node.type:8} {node.name}")

    say("A platform service asks for an access token")
    token = await client.issue_access_token(app_id, CONFLUENCE, subject=AppSubject())
    site_of_token = resource(token)
    print(f"    site {site_of_token.site_url}, expires {token.expires_at}")
    print(f"    api base {site_of_token.api_base_url}")
    return app_id, installation.dialog_task_id


async def run_create_content(client: IntegrationsClient, app_id: str, dialog_task_id: str) -> None:
    entities = {
        "contentType": "page",
        "spaceKey": "ENG",
        "contentTitle": f"Demo page {uuid.uuid4().hex[:6]}",
        "contentBody": "<p>Written by the bot.</p>",
    }
    say('The bot runs "Create Content"', json.dumps(entities))
    run = await client.start_run(app_id, dialog_task_id, entities=entities)
    for step in run.steps:
        print(f"    - {step.type:8} {step.node}: {step.status}")
    steps = [step.model_dump(mode="json") for step in run.steps]
    check(run.status == "succeeded", f"the run ended {run.status}: {steps}")
    for message in run.messages:
        print(f"    {message}")


async def user_authorized_app(client: IntegrationsClient, browser: aiohttp.ClientSession) -> None:
    app_id = f"demo-ent-{uuid.uuid4().hex[:6]}"
    say("Register an Enterprise app whose end users authorize themselves", app_id)
    await client.put_app(app_id, name="Demo (Enterprise)", edition="enterprise")
    state = await client.configure(app_id, CONFLUENCE, "user_authorize")
    say(
        "Enable 'Allow users to authorize'",
        f"state: {state.state}, connection: {state.connection.status}",
    )
    check(state.connection.status == "per_user", "expected per-user connections")

    link = await client.create_user_link(app_id, CONFLUENCE, "user-42")
    say("Issue a link for end user user-42", f"expires {link.expires_at}")
    site = LOCAL_SITES[1]
    page = await follow_link(browser, link.link, login="user-42", cloud_id=site["id"])
    check(page.status in (200, 302), f"consent ended with {page.status}")
    say("user-42 consented and chose a site", site["url"])

    user = UserSubject(user_id="user-42")
    token = await client.issue_access_token(app_id, CONFLUENCE, subject=user)
    say("The end user's access token", f"site {resource(token).site_url}")


async def trial_app(client: IntegrationsClient) -> None:
    app_id = f"demo-trial-{uuid.uuid4().hex[:6]}"
    say("Register a Trial app and try to configure Confluence", app_id)
    await client.put_app(app_id, name="Demo (Trial)", edition="trial")
    try:
        await client.configure(app_id, CONFLUENCE, "pre_authorize", profile=SystemProfileRef())
    except errors.EditionNotSupported as refused:
        print(f"    refused: {refused.code}: {refused.detail}")
        check(refused.status == 403, f"refused with {refused.status}, not 403")
        return
    raise DemoFailed("expected edition_not_supported")


async def run() -> None:
    env = read_env_values(state_dir())
    secrets = dict(
        line.split("=", 1)
        for line in (state_dir() / SECRETS_FILE).read_text().splitlines()
        if "=" in line
    )
    urls = ServiceUrls(
        env["AUTH_SERVICE_URL"], env["INTEGRATION_SERVICE_URL"], env["TEMPLATE_SERVICE_URL"]
    )
    connection, events = await subscribe(env["AMQP_URL"])
    try:
        async with (
            IntegrationsClient.with_secret(
                urls, secrets["PLATFORM_JWT_SECRET"], subject="demo"
            ) as client,
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser,
        ):
            await catalog(client)
            app_id, dialog_task_id = await pre_authorized_app(client, browser, events)
            browser.cookie_jar.clear()
            await user_authorized_app(client, browser)
            await trial_app(client)
            await run_create_content(client, app_id, dialog_task_id)
    finally:
        await connection.close()
    say("Done: every step answered as expected")


def main() -> int:
    try:
        asyncio.run(run())
    except (DemoFailed, ClientError, KeyError, OSError, TimeoutError) as exc:
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("is the system running? `make run` starts it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
