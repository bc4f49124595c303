"""Reacting to integration events, and deleting credentials: tokens erased, not only flagged."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from aio_pika.exceptions import AMQPError

from platform_core.broker import Broker
from platform_core.contract_types import SystemProfileRef, utc_now
from platform_core.events import EventData, IntegrationConfigured, IntegrationRemoved, new_event
from tests.integration.auth.conftest import Api, Stack
from tests.support.infra import Infra
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]


@pytest.fixture
def publish(infra: Infra) -> Any:
    """Publish as integration-service would. A fresh connection per event, retried: RabbitMQ 3.10
    can close a connection with INTERNAL_ERROR when a publish races another test's quorum queue
    being deleted (a broker bug), which says nothing about auth-service."""

    async def send(data: EventData) -> None:
        event = new_event("/integration-service", data)
        for attempt in range(3):
            broker = Broker(infra.amqp_url, "integration-service-test")
            try:
                await broker.connect()
                await broker.publish(event)
                return
            except (AMQPError, asyncio.CancelledError):
                task = asyncio.current_task()
                if attempt == 2 or (task is not None and task.cancelling()):
                    raise
            finally:
                with contextlib.suppress(Exception):
                    await broker.close()

    return send


def revoked(stack: Stack, credential_id: str) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in stack.events.of_type("credential.revoked")
        if e["data"]["credential_id"] == credential_id
    ]


async def raw(auth_db: Any, credential_id: str) -> dict[str, Any]:
    return dict(await auth_db.credentials.find_one({"_id": credential_id}))


async def test_deleting_a_credential_erases_its_tokens_and_publishes_credential_revoked(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    status, _ = await api.call("DELETE", f"/v1/apps/{app_id}/credentials/{credential_id}")
    assert status == 204
    doc = await raw(auth_db, credential_id)
    assert doc["status"] == "revoked"
    assert "access_token" not in doc and "refresh_token" not in doc
    await eventually(lambda: revoked(stack, credential_id))
    assert revoked(stack, credential_id)[0]["reason"] == "deleted"
    status, problem = await api.access_token(app_id)
    assert status == 404 and problem["code"] == "credential_not_found"
    status, _ = await api.call("DELETE", f"/v1/apps/{app_id}/credentials/{credential_id}")
    assert status == 404


async def test_integration_removed_destroys_every_credential_of_that_app_and_integration(
    api: Api, stack: Stack, connect: Any, auth_db: Any, publish: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    app_credential = await connect(api, app_id)
    user_credential = await connect(api, app_id, subject={"type": "user", "user_id": "u1"})
    other_app = await connect(api, f"other-{unique}")

    await publish(IntegrationRemoved(app_id=app_id, integration="confluence"))
    await eventually(lambda: revoked(stack, app_credential) and revoked(stack, user_credential))
    for credential_id in (app_credential, user_credential):
        doc = await raw(auth_db, credential_id)
        assert doc["status"] == "revoked" and "refresh_token" not in doc
        assert revoked(stack, credential_id)[0]["reason"] == "integration_removed"
    assert (await raw(auth_db, other_app))["status"] == "active"


async def test_switching_to_user_authorize_destroys_only_the_app_credential(
    api: Api, stack: Stack, connect: Any, auth_db: Any, publish: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    app_credential = await connect(api, app_id)
    user_credential = await connect(api, app_id, subject={"type": "user", "user_id": "u1"})
    await publish(
        IntegrationConfigured(
            app_id=app_id,
            integration="confluence",
            authorization_type="user_authorize",
            profile=SystemProfileRef(),
            first_configuration=False,
            configured_at=utc_now(),
        )
    )
    await eventually(lambda: revoked(stack, app_credential))
    assert revoked(stack, app_credential)[0]["reason"] == "switched_to_user_authorize"
    assert (await raw(auth_db, user_credential))["status"] == "active"


async def test_a_profile_configured_for_an_integration_cannot_be_deleted_until_removed(
    api: Api, stack: Stack, publish: Any, auth_db: Any, unique: str
) -> None:
    from tests.integration.auth.test_browser_dance import create_custom_profile

    app_id = f"app-{unique}"
    profile_id = await create_custom_profile(api, stack, app_id)
    await publish(
        IntegrationConfigured.model_validate(
            {
                "app_id": app_id,
                "integration": "confluence",
                "authorization_type": "pre_authorize",
                "profile": {"kind": "custom", "profile_id": profile_id},
                "first_configuration": True,
                "configured_at": utc_now(),
            }
        )
    )
    await eventually(lambda: auth_db.profile_usage.find_one({"profile_id": profile_id}))
    path = f"/v1/apps/{app_id}/auth-profiles/{profile_id}"
    status, problem = await api.call("DELETE", path)
    assert status == 409 and problem["code"] == "auth_profile_in_use"

    await publish(IntegrationRemoved(app_id=app_id, integration="confluence"))

    async def freed() -> bool:
        return await auth_db.profile_usage.find_one({"profile_id": profile_id}) is None

    await eventually(freed)
    assert (await api.call("DELETE", path))[0] == 204
    assert (await api.call("GET", path))[0] == 404
    doc = await auth_db.profiles.find_one({"_id": profile_id})
    assert "client_secret" not in doc
    body = {"app_id": app_id, "integration": "confluence", "subject": {"type": "app"}}
    status, problem = await api.call(
        "POST",
        "/v1/authorizations",
        {**body, "profile": {"kind": "custom", "profile_id": profile_id}},
    )
    assert status == 422 and problem["code"] == "auth_profile_not_found"
