"""Concurrent changes to one integration: compare-and-set keeps it in a state the machine allows,
with exactly one published event per real transition."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import pytest

from platform_core.events import new_event
from tests.integration.integration_svc.conftest import AuthEvents, AuthStub, Service
from tests.integration.integration_svc.test_lifecycle_flows import completed, lost
from tests.support.events import EventTap
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.slow]

CALLS = 50
CUSTOM = {"kind": "custom", "profile_id": "prof-1"}


def integration_events(tap: EventTap, app_id: str) -> list[dict[str, Any]]:
    return [e for e in tap.events if e["subject"] == app_id]


async def settled_events(tap: EventTap, app_id: str, expected: int) -> list[dict[str, Any]]:
    """Wait for `expected` events, then a little longer to be sure no extra one follows."""
    await eventually(lambda: len(integration_events(tap, app_id)) >= expected)
    await asyncio.sleep(0.5)
    return integration_events(tap, app_id)


async def test_fifty_identical_user_authorize_calls_configure_once(
    service: Service, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    answers = await asyncio.gather(
        *(service.configure(app_id, "user_authorize") for _ in range(CALLS))
    )
    assert Counter(status for status, _ in answers) == {200: CALLS}
    item = await service.integration(app_id)
    assert item["state"] == "configured"
    assert item["connection"]["status"] == "per_user"
    assert item["version"] == 1
    events = await settled_events(tap, app_id, 1)
    assert [(e["type"], e["data"]["first_configuration"]) for e in events] == [
        ("integration.configured", True)
    ]


async def test_fifty_calls_switching_profiles_raise_one_event_per_real_change(
    service: Service, auth_stub: AuthStub, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    auth_stub.custom_profiles["prof-1"] = app_id
    profiles = [CUSTOM if n % 2 else {"kind": "system"} for n in range(CALLS)]
    answers = await asyncio.gather(
        *(service.configure(app_id, "user_authorize", profile) for profile in profiles)
    )
    assert Counter(status for status, _ in answers) == {200: CALLS}

    item = await service.integration(app_id)
    events = await settled_events(tap, app_id, item["version"])
    # Every write was a real transition with its one event, and none was lost or doubled.
    assert len(events) == item["version"]
    assert {e["type"] for e in events} == {"integration.configured"}
    assert [e["data"]["first_configuration"] for e in events] == [True] + [False] * (
        len(events) - 1
    )
    published = [e["data"]["profile"] for e in events]
    assert all(a != b for a, b in itertools.pairwise(published))
    assert item["authorization"]["profile"] == published[-1]


async def test_fifty_concurrent_pre_authorize_calls_leave_one_pending_consent_that_alone_counts(
    service: Service, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    answers = await asyncio.gather(
        *(service.configure(app_id, "pre_authorize") for _ in range(CALLS))
    )
    assert Counter(status for status, _ in answers) == {202: CALLS}
    issued = {body["authorization"]["authorization_id"] for _, body in answers}
    assert len(issued) == CALLS

    item = await service.integration(app_id)
    assert item["state"] == "available"
    assert item["version"] == CALLS
    pending = item["connection"]["pending_authorization_id"]
    assert pending in issued

    await asyncio.gather(
        *(
            auth_events.broker.publish(
                new_event("/auth-service", completed(app_id, authorization_id))
            )
            for authorization_id in sorted(issued)
        )
    )
    await eventually(lambda: service.consumed("authorization.completed") >= CALLS, timeout=20)
    item = await service.integration(app_id)
    assert item["state"] == "configured"
    assert item["connection"]["status"] == "connected"
    assert item["version"] == CALLS + 1
    events = await settled_events(tap, app_id, 1)
    assert [e["type"] for e in events] == ["integration.configured"]


async def test_patches_racing_a_lost_credential_end_in_a_state_the_machine_allows(
    service: Service, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    _, body = await service.configure(app_id, "pre_authorize")
    await auth_events.publish(completed(app_id, body["authorization"]["authorization_id"]))
    configured_version = (await service.integration(app_id))["version"]
    path = f"/v1/apps/{app_id}/integrations/confluence"

    async def lose() -> tuple[int, Any]:
        await asyncio.sleep(0.05)
        await auth_events.publish(lost(app_id, "cred-1"))
        return 0, None

    patches = [service.call("PATCH", path, {"enabled": n % 2 == 1}) for n in range(CALLS)]
    answers = await asyncio.gather(*patches, lose())
    statuses = Counter(status for status, _ in answers[:-1])
    assert set(statuses) <= {200, 409}
    refused = [body for status, body in answers[:-1] if status == 409]
    assert {body["code"] for body in refused} <= {"reauthorization_required"}

    item = await service.integration(app_id)
    assert item["connection"]["status"] == "reauthorization_required"
    changes = item["version"] - configured_version
    events = await settled_events(tap, app_id, 1 + changes)
    kinds = Counter(e["type"] for e in events)
    assert len(events) == 1 + changes
    assert kinds["integration.reauthorization_required"] == 1
    assert kinds["integration.disabled"] - kinds["integration.enabled"] == (
        1 if item["state"] == "disabled" else 0
    )
