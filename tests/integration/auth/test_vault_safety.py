"""The vault fails safe: a key id whose key changed refuses the start (so two deployments or two
checkouts can never write under one id with two keys), a record no key opens is a 409 and its
event (never a 500), and `rotate-keys` rotates everything else before it reports what it could
not open."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from auth_service.adapters.key_checks import KEY_CHECKS, KeyMismatch, verify_keys
from auth_service.adapters.key_rotation import rotate_keys
from auth_service.adapters.vault import Vault
from tests.integration.auth.conftest import (
    TWO_SITES,
    Api,
    Leaks,
    Stack,
    click,
    process_env,
    visit,
)
from tests.integration.auth.test_browser_dance import credentials_of, failed_event
from tests.integration.auth.test_key_rotation import sealed_kids
from tests.integration.auth.test_refresh import events_for, expire
from tests.support.infra import TEST_ENCRYPTION_KEYS

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]

OTHER_KEY_SAME_ID = "k1:" + base64.b64encode(b"another key under the same id!!!").decode()
NEW_KEY = "k2:" + base64.b64encode(os.urandom(32)).decode()


def tampered(sealed: dict[str, Any]) -> dict[str, Any]:
    flipped = bytearray(sealed["ciphertext"])
    flipped[0] ^= 0x01
    return {**sealed, "ciphertext": bytes(flipped)}


async def run_auth_service(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "auth_service",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- key check values --------------------------------------------------------------------------


async def test_every_configured_key_id_gets_a_check_value_that_reveals_nothing(
    start_auth: Callable[..., Any], auth_db: Any
) -> None:
    async with start_auth(token_encryption_keys=f"{NEW_KEY},{TEST_ENCRYPTION_KEYS}"):
        pass
    checks = {doc["_id"]: doc async for doc in auth_db[KEY_CHECKS].find()}
    assert set(checks) == {"k1", "k2"}
    material = base64.b64decode(TEST_ENCRYPTION_KEYS.split(":", 1)[1])
    assert material not in bytes(checks["k1"]["check"]["ciphertext"])
    assert Vault.from_setting(TEST_ENCRYPTION_KEYS).verifies("k1", checks["k1"]["check"])
    assert not Vault.from_setting(OTHER_KEY_SAME_ID).verifies("k1", checks["k1"]["check"])


async def test_a_key_id_whose_key_changed_refuses_the_start_before_anything_is_written(
    start_auth: Callable[..., Any], start_fails: Callable[..., Any], auth_db: Any, unique: str
) -> None:
    async with start_auth() as api:
        await api.authorize(f"app-{unique}")
    refused = await start_fails(KeyMismatch, token_encryption_keys=OTHER_KEY_SAME_ID)
    assert "key 'k1' is not the key this database stores" in str(refused)
    with pytest.raises(KeyMismatch):
        await verify_keys(auth_db, Vault.from_setting(f"{NEW_KEY},{OTHER_KEY_SAME_ID}"))
    assert await auth_db[KEY_CHECKS].count_documents({}) == 1  # k2 was not registered either
    async with start_auth(token_encryption_keys=f"{NEW_KEY},{TEST_ENCRYPTION_KEYS}"):
        pass  # a new key under a new id is welcome


async def test_the_process_refuses_to_start_with_a_changed_key_in_one_line_exit_2(
    start_auth: Callable[..., Any],
    stack: Stack,
    service_env: Callable[[str], dict[str, str]],
) -> None:
    async with start_auth():
        pass
    env = process_env(stack, service_env, TOKEN_ENCRYPTION_KEYS=OTHER_KEY_SAME_ID)
    for args in ((), ("rotate-keys",)):
        code, _, err = await run_auth_service(env, *args)
        assert code == 2, err
        [line] = err.splitlines()
        assert line == (
            "auth-service: refusing to start: TOKEN_ENCRYPTION_KEYS key 'k1' is not the key this "
            "database stores under that id (give a new key a new id)"
        )
        assert OTHER_KEY_SAME_ID.split(":")[1] not in err


async def test_two_starts_racing_to_register_one_new_key_id_agree_on_one_check_value(
    auth_db: Any,
) -> None:
    vault = Vault.from_setting(NEW_KEY)
    registered = await asyncio.gather(*(verify_keys(auth_db, vault) for _ in range(5)))
    assert sum(len(ids) for ids in registered) == 1
    assert await auth_db[KEY_CHECKS].count_documents({}) == 1


# --- a record no key opens ---------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["tampered", "key removed"])
async def test_an_access_token_no_key_opens_answers_409_with_its_event_never_a_500(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str, damage: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    doc = await auth_db.credentials.find_one({"_id": credential_id})
    broken = (
        tampered(doc["access_token"])
        if damage == "tampered"
        else {
            **doc["access_token"],
            "kid": "removed",
        }
    )
    await auth_db.credentials.update_one({"_id": credential_id}, {"$set": {"access_token": broken}})
    status, problem = await api.access_token(app_id)
    assert (status, problem["code"]) == (409, "reauthorization_required")
    [event] = await events_for(stack, "credential.reauthorization_required", credential_id)
    assert event["data"]["reason"] == "undecryptable"
    [credential] = await credentials_of(api, app_id)
    assert credential["status"] == "reauthorization_required"
    status, _ = await api.access_token(app_id)
    assert status == 409


async def test_a_refresh_token_no_key_opens_answers_409_with_its_event(
    api: Api, stack: Stack, connect: Any, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    credential_id = await connect(api, app_id)
    doc = await auth_db.credentials.find_one({"_id": credential_id})
    await auth_db.credentials.update_one(
        {"_id": credential_id}, {"$set": {"refresh_token": tampered(doc["refresh_token"])}}
    )
    await expire(auth_db, credential_id)
    await stack.idp.reset_stats()
    status, problem = await api.access_token(app_id)
    assert (status, problem["code"]) == (409, "reauthorization_required")
    [event] = await events_for(stack, "credential.reauthorization_required", credential_id)
    assert event["data"]["reason"] == "undecryptable"
    assert (await stack.idp.token_request_counts())["total"] == 0


async def test_site_choice_tokens_no_key_opens_fail_the_dance_with_a_page_not_a_500(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    auth_db: Any,
    unique: str,
) -> None:
    stack.atlassian.state.replace_sites(TWO_SITES)
    app_id = f"app-{unique}"
    issued = await api.authorize(app_id)
    first = await click(browser, issued["authorization_url"], leaks)
    picker = await visit(browser, (await consent(browser, first.headers["Location"])).url, leaks)
    selection = picker.text.split('name="selection" value="')[1].split('"')[0]
    doc = await auth_db.authorizations.find_one({"_id": issued["authorization_id"]})
    await auth_db.authorizations.update_one(
        {"_id": issued["authorization_id"]},
        {"$set": {"pending_access_token": tampered(doc["pending_access_token"])}},
    )
    page = await visit(
        browser,
        f"{stack.public_url}/oauth/site",
        leaks,
        data={"selection": selection, "cloud_id": TWO_SITES[0]["id"]},
    )
    assert page.status == 400 and "undecryptable" in page.text
    assert (await failed_event(stack, issued["authorization_id"]))["error"] == "undecryptable"
    assert await credentials_of(api, app_id) == []


# --- rotation around what cannot be opened -----------------------------------------------------


async def test_rotation_rotates_every_record_it_can_open_and_names_the_one_it_cannot(
    api: Api,
    stack: Stack,
    connect: Any,
    auth_db: Any,
    service_env: Callable[[str], dict[str, str]],
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    held = [
        await connect(api, app_id, subject={"type": "user", "user_id": f"u{i}"}) for i in range(3)
    ]
    unreadable = held[1]
    doc = await auth_db.credentials.find_one({"_id": unreadable})
    await auth_db.credentials.update_one(
        {"_id": unreadable}, {"$set": {"refresh_token": tampered(doc["refresh_token"])}}
    )
    both = f"{NEW_KEY},{TEST_ENCRYPTION_KEYS}"
    code, out, err = await run_auth_service(
        process_env(stack, service_env, TOKEN_ENCRYPTION_KEYS=both), "rotate-keys"
    )
    assert code == 1, err
    assert "credentials=2" in out
    [line] = err.splitlines()
    assert line.endswith(f"were left as they are: credentials/{unreadable}")
    for credential_id in held:
        doc = await auth_db.credentials.find_one({"_id": credential_id})
        kids = {doc["access_token"]["kid"], doc["refresh_token"]["kid"]}
        assert kids == ({"k1"} if credential_id == unreadable else {"k2"})

    again = await rotate_keys(auth_db, Vault.from_setting(both))
    assert again.counts["credentials"] == 0
    assert again.unreadable == [("credentials", unreadable)]
    assert await sealed_kids(auth_db) == {"k1", "k2"}
