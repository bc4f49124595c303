"""The refresh storm: two auth-service processes, one expired credential, 200 concurrent
access-token calls spread over both; exactly one call reaches the token endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from platform_core.contract_types import utc_now
from tests.integration.auth.conftest import Api, Leaks, Stack, process_env, two_replicas

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]

CALLERS = 200


async def test_200_concurrent_callers_on_two_replicas_cause_exactly_one_token_call(
    stack: Stack,
    service_env: Callable[[str], dict[str, str]],
    token: Callable[..., str],
    connect: Any,
    auth_db: Any,
    leaks: Leaks,
    tmp_path: Path,
    unique: str,
) -> None:
    env = process_env(stack, service_env)
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        two_replicas(stack, env, tmp_path, leaks) as (first, second),
        aiohttp.ClientSession(connector=connector) as session,
    ):
        replicas = [
            Api(session, first.url, token(), leaks),
            Api(session, second.url, token(), leaks),
        ]
        app_id = f"app-{unique}"
        credential_id = await connect(replicas[0], app_id)
        _, old = await replicas[1].access_token(app_id)
        await auth_db.credentials.update_one(
            {"_id": credential_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}}
        )
        await stack.idp.reset_stats()

        answers = await asyncio.gather(
            *(replicas[i % 2].access_token(app_id) for i in range(CALLERS))
        )

    assert [status for status, _ in answers] == [200] * CALLERS, answers[:3]
    tokens = {body["access_token"] for _, body in answers}
    assert len(tokens) == 1
    assert tokens != {old["access_token"]}
    assert await stack.idp.token_request_counts() == {
        "authorization_code": 0,
        "refresh_token": 1,
        "total": 1,
    }
