"""Nothing secret leaks. Runs last in the auth suite: after its own tour of every path (a real
process with DEBUG logs, both subjects, both profile kinds, a refusal, a refresh, a deletion), it
scans every log line, API response (but the access-token call's), HTML page, event and raw
MongoDB document the whole suite produced for every access token, refresh token, client secret
and authorization code the suite saw."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from platform_core.contract_types import utc_now
from platform_core.mongo import Document
from tests.integration.auth.conftest import (
    CUSTOM_CLIENT_ID,
    CUSTOM_CLIENT_SECRET,
    Api,
    Leaks,
    Stack,
    click,
    process_env,
    scan_database,
    stored_tokens,
    visit,
)
from tests.support.processes import ServiceProcess
from tests.support.profiles import custom_profile_body

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth, pytest.mark.slow]


async def tour(
    api: Api,
    stack: Stack,
    connect: Any,
    consent: Any,
    leaks: Leaks,
    app_id: str,
    db: Any,
    vault: Any,
) -> None:
    credential_id = await connect(api, app_id)
    await stored_tokens(db, vault, credential_id, leaks)
    status, _ = await api.access_token(app_id)
    assert status == 200
    await db.credentials.update_one(
        {"_id": credential_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}}
    )
    assert (await api.access_token(app_id))[0] == 200
    await stored_tokens(db, vault, credential_id, leaks)

    status, profile = await api.call(
        "POST",
        f"/v1/apps/{app_id}/auth-profiles",
        custom_profile_body(stack.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET),
    )
    assert status == 201
    user = {"type": "user", "user_id": "leak-check"}
    user_credential = await connect(
        api, app_id, subject=user, profile={"kind": "custom", "profile_id": profile["profile_id"]}
    )
    await stored_tokens(db, vault, user_credential, leaks)
    assert (await api.access_token(app_id, subject=user, force_refresh=True))[0] == 200
    await stored_tokens(db, vault, user_credential, leaks)

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        issued = await api.authorize(app_id, subject={"type": "user", "user_id": "refuses"})
        first = await click(browser, issued["authorization_url"], leaks)
        refused = await consent(browser, first.headers["Location"], deny=True)
        assert (await visit(browser, refused.url, leaks)).status == 400
    assert (await api.call("DELETE", f"/v1/apps/{app_id}/credentials/{credential_id}"))[0] == 204


async def test_no_token_secret_or_code_appears_in_any_log_response_event_or_document(
    stack: Stack,
    service_env: Callable[[str], dict[str, str]],
    service_settings: Callable[[str], dict[str, object]],
    token: Callable[..., str],
    connect: Any,
    consent: Any,
    auth_db: Any,
    vault: Any,
    mongo_client: AsyncMongoClient[Document],
    leaks: Leaks,
    tmp_path: Path,
    unique: str,
) -> None:
    service = ServiceProcess(
        "auth_service",
        {**process_env(stack, service_env), "PORT": str(stack.public_port)},
        tmp_path / "auth-service.log",
    )
    leaks.log_files.append(service.log_path)
    await service.start()
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, service.url, token(), leaks)
            await tour(api, stack, connect, consent, leaks, f"app-{unique}", auth_db, vault)
    finally:
        await service.stop()

    await scan_database(
        mongo_client, str(service_settings("auth-service")["mongodb_database"]), leaks
    )
    for event in stack.events.events:
        leaks.seen(f"event {event['type']}", str(event))
    places = leaks.all_places()
    kinds = {where.split()[0] for where, _ in places}
    assert {"api", "page", "event", "mongo", "log", "in-process"} <= kinds, kinds
    assert "credential_refreshed" in service.log_text()
    assert len(leaks.secrets) >= 10

    leaked = [
        (where, secret[:6] + "...")
        for where, text in places
        for secret in leaks.secrets
        if secret in text
    ]
    assert leaked == []
