"""`make demo`: the whole story against the running system, told step by step.

It plays every role in turn: the admin looking at the catalog (Confluence and Jira, both as
data) and configuring Confluence for a Developer app with the platform's own OAuth app, a
browser consenting at the identity provider and choosing a site, a subscriber on RabbitMQ
seeing `integration.configured`, the admin installing "Create Content", a platform service
fetching an access token; then an app whose end users authorize themselves, and a Trial app
being refused. It ends by running "Create Content" as the bot would and printing its message
with the link to the new page. Any surprise ends it with a non-zero exit.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

import aio_pika
import aiohttp

from devinfra.platform_client import PlatformClient, ServiceUrls, UnexpectedAnswer
from devinfra.secrets import SECRETS_FILE
from devinfra.stack import read_env_values, state_dir
from devinfra.standins import LOCAL_SITES
from platform_core.events import EXCHANGE

CONFIGURED = "integration.configured"


def say(step: str, detail: str = "") -> None:
    print(f"\n==> {step}")
    if detail:
        print(f"    {detail}")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise UnexpectedAnswer(message)


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


async def wait_configured(client: PlatformClient, app_id: str) -> dict[str, Any]:
    for _ in range(100):
        state = await client.integration(app_id)
        if state["state"] == "configured" and state["connection"]["status"] == "connected":
            return state
        await asyncio.sleep(0.1)
    raise UnexpectedAnswer(f"{app_id} never became configured: {state}")


async def catalog(client: PlatformClient) -> None:
    say("The catalog lists every integration folder")
    for entry in await client.catalog():
        scopes = ", ".join(entry["default_scopes"])
        print(f"    - {entry['integration']:11} {entry['display_name']}: {scopes}")


async def pre_authorized_app(client: PlatformClient, events: asyncio.Queue[Any]) -> tuple[str, str]:
    app_id = f"demo-dev-{uuid.uuid4().hex[:6]}"
    say("Register a Developer app", app_id)
    await client.register_app(app_id, "developer", "Demo (Developer)")

    state = await client.integration(app_id)
    say("Confluence is listed", f"state: {state['state']}")
    check(state["state"] == "available", "Confluence should start Available")

    say("Pre-authorize with the system profile")
    started = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}
    )
    link = started["authorization"]["authorization_url"]
    print(f"    consent link: {link}")

    site = LOCAL_SITES[0]
    say("Follow the link like a browser: sign in, consent, choose a site", site["url"])
    page = await client.consent(link, cloud_id=site["id"])
    check(page.status in (200, 302), f"consent ended with {page.status}: {page.text[:300]}")

    state = await wait_configured(client, app_id)
    say("Confluence is Configured", f"state: {state['state']}, connection: connected")
    event = await next_event_about(events, app_id)
    data = event["data"]
    say(
        "integration.configured arrived on our own queue",
        f"app {data['app_id']}, first_configuration={data['first_configuration']}",
    )

    say('Install "Create Content"')
    installation = await client.install_when_installable(app_id, "confluence.create_content")
    task = await client.dialog_task(app_id, installation["dialog_task_id"])
    print(f"    dialog task {task['name']} ({task['status']}):")
    for node in task["nodes"]:
        print(f"      - {node['type']:8} {node['name']}")

    say("A platform service asks for an access token")
    token = await client.access_token(app_id, {"type": "app"})
    print(f"    site {token['resource']['site_url']}, expires {token['expires_at']}")
    print(f"    api base {token['resource']['api_base_url']}")
    return app_id, installation["dialog_task_id"]


async def run_create_content(client: PlatformClient, app_id: str, dialog_task_id: str) -> None:
    entities = {
        "contentType": "page",
        "spaceKey": "ENG",
        "contentTitle": f"Demo page {uuid.uuid4().hex[:6]}",
        "contentBody": "<p>Written by the bot.</p>",
    }
    say('The bot runs "Create Content"', json.dumps(entities))
    run = await client.run(app_id, dialog_task_id, entities)
    for step in run["steps"]:
        print(f"    - {step['type']:8} {step['node']}: {step['status']}")
    check(run["status"] == "succeeded", f"the run ended {run['status']}: {run['steps']}")
    for message in run["messages"]:
        print(f"    {message}")


async def user_authorized_app(client: PlatformClient) -> None:
    app_id = f"demo-ent-{uuid.uuid4().hex[:6]}"
    say("Register an Enterprise app whose end users authorize themselves", app_id)
    await client.register_app(app_id, "enterprise", "Demo (Enterprise)")
    state = await client.configure(app_id, {"type": "user_authorize"}, expect=200)
    say(
        "Enable 'Allow users to authorize'",
        f"state: {state['state']}, connection: {state['connection']['status']}",
    )
    check(state["connection"]["status"] == "per_user", "expected per-user connections")

    link = await client.user_link(app_id, "user-42")
    say("Issue a link for end user user-42", f"expires {link['expires_at']}")
    site = LOCAL_SITES[1]
    page = await client.consent(link["link"], login="user-42", cloud_id=site["id"])
    check(page.status in (200, 302), f"consent ended with {page.status}")
    say("user-42 consented and chose a site", site["url"])

    token = await client.access_token(app_id, {"type": "user", "user_id": "user-42"})
    say("The end user's access token", f"site {token['resource']['site_url']}")


async def trial_app(client: PlatformClient) -> None:
    app_id = f"demo-trial-{uuid.uuid4().hex[:6]}"
    say("Register a Trial app and try to configure Confluence", app_id)
    await client.register_app(app_id, "trial", "Demo (Trial)")
    refused = await client.configure(
        app_id, {"type": "pre_authorize", "profile": {"kind": "system"}}, expect=403
    )
    print(f"    refused: {refused['code']}: {refused['detail']}")
    check(refused["code"] == "edition_not_supported", "expected edition_not_supported")


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
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            client = PlatformClient(session, urls, secrets["PLATFORM_JWT_SECRET"])
            await catalog(client)
            app_id, dialog_task_id = await pre_authorized_app(client, events)
            session.cookie_jar.clear()
            await user_authorized_app(client)
            await trial_app(client)
            await run_create_content(client, app_id, dialog_task_id)
    finally:
        await connection.close()
    say("Done: every step answered as expected")


def main() -> int:
    try:
        asyncio.run(run())
    except (UnexpectedAnswer, KeyError, OSError, TimeoutError) as exc:
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("is the system running? `make run` starts it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
