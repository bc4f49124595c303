"""Key rotation while the service serves: no access-token call fails, and afterwards no record
(credential, profile, authorization) uses the old key."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from auth_service.adapters.key_rotation import rotate_keys
from auth_service.adapters.vault import Vault
from tests.integration.auth.conftest import (
    CUSTOM_CLIENT_ID,
    CUSTOM_CLIENT_SECRET,
    Api,
    Stack,
    process_env,
)
from tests.support.infra import TEST_ENCRYPTION_KEYS
from tests.support.profiles import custom_profile_body

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]

NEW_KEY = "k2:" + base64.b64encode(os.urandom(32)).decode()
BOTH_KEYS = f"{NEW_KEY},{TEST_ENCRYPTION_KEYS}"


async def sealed_kids(db: Any) -> set[str]:
    kids = set()
    for collection in ("credentials", "profiles", "authorizations"):
        async for doc in db[collection].find():
            kids |= {v["kid"] for v in doc.values() if isinstance(v, dict) and "kid" in v}
    return kids


async def test_rotating_keys_while_tokens_are_vended_fails_no_call_and_leaves_no_old_key(
    start_auth: Callable[..., Any], stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    async with start_auth() as api:
        for user in range(5):
            await connect(api, app_id, subject={"type": "user", "user_id": f"u{user}"})
        status, _ = await api.call(
            "POST",
            f"/v1/apps/{app_id}/auth-profiles",
            custom_profile_body(stack.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET),
        )
        assert status == 201
    assert await sealed_kids(auth_db) == {"k1"}

    async with start_auth(token_encryption_keys=BOTH_KEYS) as api:
        stop = asyncio.Event()

        async def vend(user: int) -> list[int]:
            statuses = []
            while not stop.is_set():
                status, _ = await api.access_token(
                    app_id, subject={"type": "user", "user_id": f"u{user}"}
                )
                statuses.append(status)
            return statuses

        callers = [asyncio.create_task(vend(i % 5)) for i in range(20)]
        try:
            await asyncio.sleep(0.2)
            counts = (await rotate_keys(auth_db, Vault.from_setting(BOTH_KEYS))).counts
            await asyncio.sleep(0.2)
        finally:
            stop.set()
            statuses = [s for task in callers for s in await task]

    assert counts["credentials"] == 5 and counts["profiles"] == 1
    assert len(statuses) > 40 and set(statuses) == {200}
    assert await sealed_kids(auth_db) == {"k2"}


async def test_the_rotate_keys_command_reencrypts_under_the_first_key(
    api: Api,
    stack: Stack,
    connect: Any,
    auth_db: Any,
    service_env: Callable[[str], dict[str, str]],
    unique: str,
) -> None:
    await connect(api, f"app-{unique}")
    env = {**os.environ, **process_env(stack, service_env, TOKEN_ENCRYPTION_KEYS=BOTH_KEYS)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "auth_service",
        "rotate-keys",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "credentials=1" in out.decode()
    assert await sealed_kids(auth_db) == {"k2"}
