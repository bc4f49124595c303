"""A hostile tenant's provider against the running service: profile URLs aimed inward (refused
when the profile is saved, and again at call time after the name is rebound), and a token
endpoint of its own that redirects, answers megabytes, a pathological error string, `{}`, a bad
`expires_in` or deep JSON. Whatever it does, nothing is sent past it, nothing is stored, the
service keeps answering `/healthz` in time, the callback shows its 400 page and the refresh
path answers 503 provider_unavailable. A change of where the secret goes needs the secret.

No packet leaves for a non-loopback address: names resolve through the tests' own table
(`names`), and `tripwire` refuses and records any other connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from platform_core.contract_types import utc_now
from tests.integration.auth.conftest import (
    CUSTOM_CLIENT_ID,
    CUSTOM_CLIENT_SECRET,
    PUBLIC_ADDRESS,
    SYSTEM_CLIENT_ID,
    Api,
    Leaks,
    Names,
    Stack,
    click,
    stored_tokens,
    visit,
)
from tests.integration.auth.test_browser_dance import credentials_of, failed_event
from tests.support.profiles import custom_profile_body

pytestmark = [pytest.mark.mongo, pytest.mark.broker, pytest.mark.oauth]

MEGABYTE = 1 << 20
HEALTHZ_DEADLINE_SECONDS = 1.0


# --- a token endpoint of the tenant's own -------------------------------------------------------

Behaviour = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Endpoint:
    """A small HTTP server on a loopback address, answering as it is told, counting requests."""

    behaviour: Behaviour
    host: str = "127.0.0.1"
    requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/oauth/token"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        self.requests.append({key: str(value) for key, value in form.items()})
        return await self.behaviour(request)


@contextlib.asynccontextmanager
async def endpoint(behaviour: Behaviour, host: str = "127.0.0.1") -> AsyncIterator[Endpoint]:
    served = Endpoint(behaviour, host)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", served._handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    served.port = runner.addresses[0][1]
    try:
        yield served
    finally:
        await runner.cleanup()


def json_answer(body: Any, status: int = 200) -> Behaviour:
    async def answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)  # long enough for /healthz to be asked meanwhile
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    return answer


def raw_answer(text: str, status: int = 200) -> Behaviour:
    async def answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.Response(status=status, text=text, content_type="application/json")

    return answer


async def declared_megabytes(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b" " * (8 * MEGABYTE), content_type="application/json")


async def endless_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        await response.write(b'{"access_token": "')
        for _ in range(64 * MEGABYTE // 65536):
            await response.write(b"a" * 65536)
    return response


PATHOLOGICAL = "-eyJ" * 7000  # what made the old redactor quadratic, within the size bound

HOSTILE: dict[str, Behaviour] = {
    "megabytes declared": declared_megabytes,
    "megabytes streamed": endless_stream,
    "a pathological error string": json_answer(
        {"error": PATHOLOGICAL, "error_description": PATHOLOGICAL}, status=400
    ),
    "an empty object": json_answer({}),
    "a token without a number of seconds": json_answer(
        {"access_token": "at-1", "token_type": "Bearer", "expires_in": "NaN"}
    ),
    "a negative lifetime": json_answer(
        {"access_token": "at-1", "token_type": "Bearer", "expires_in": -5}
    ),
    "an infinite lifetime": raw_answer(
        '{"access_token": "at-1", "token_type": "Bearer", "expires_in": 1e400}'
    ),
    "deep json": raw_answer('{"access_token": ' + "[" * 20_000 + "]" * 20_000 + "}"),
    "html": raw_answer("<html><body>Sign in</body></html>"),
    "a token of the wrong type": json_answer({"access_token": "at-1", "token_type": "mac"}),
}


@dataclass
class Healthz:
    answered: list[float] = field(default_factory=list)
    late: int = 0


@contextlib.asynccontextmanager
async def healthz_answering_in_time(api: Api) -> AsyncIterator[Healthz]:
    """Ask /healthz every 50 ms meanwhile; each answer must come within the deadline."""
    seen = Healthz()
    stop = asyncio.Event()

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            try:
                async with asyncio.timeout(HEALTHZ_DEADLINE_SECONDS):
                    async with api.session.get(f"{api.base_url}/healthz") as resp:
                        assert resp.status == 200
                seen.answered.append(loop.time() - started)
            except TimeoutError:
                seen.late += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(probe())
    try:
        yield seen
    finally:
        stop.set()
        await task
    assert seen.late == 0, f"/healthz missed its deadline {seen.late} times"
    assert seen.answered, "/healthz was never asked"


async def custom_profile(api: Api, stack: Stack, app_id: str, **urls: str) -> str:
    api.leaks.secret(CUSTOM_CLIENT_SECRET)
    status, body = await api.call(
        "POST",
        f"/v1/apps/{app_id}/auth-profiles",
        custom_profile_body(stack.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, **urls),
    )
    assert status == 201, body
    return str(body["profile_id"])


async def dance_to_callback(
    api: Api, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks, app_id: str, profile: str
) -> tuple[str, str]:
    """Up to the IdP's redirect back: the authorization id and the callback URL, unvisited."""
    issued = await api.authorize(app_id, profile={"kind": "custom", "profile_id": profile})
    first = await click(browser, issued["authorization_url"], leaks)
    assert first.status == 302, first.text
    result = await consent(browser, first.headers["Location"])
    return issued["authorization_id"], result.url


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
async def test_a_hostile_token_endpoint_fails_the_callback_with_its_400_page_storing_nothing(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    unique: str,
    tripwire: list[str],
    hostile: str,
) -> None:
    app_id = f"app-{unique}"
    async with endpoint(HOSTILE[hostile]) as token_endpoint:
        profile = await custom_profile(api, stack, app_id, token_url=token_endpoint.url)
        authorization_id, callback = await dance_to_callback(
            api, browser, consent, leaks, app_id, profile
        )
        async with healthz_answering_in_time(api):
            page = await visit(browser, callback, leaks)
    assert page.status == 400, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert PATHOLOGICAL[:400] not in page.text
    assert len(token_endpoint.requests) == 1  # a code is never sent twice
    failed = await failed_event(stack, authorization_id)
    assert failed["error"] in {"provider_unavailable", "provider_error"}
    assert len(failed["error_description"] or "") <= 300
    assert await credentials_of(api, app_id) == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_token_endpoint_that_redirects_sends_nothing_past_itself(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    unique: str,
    tripwire: list[str],
    status: int,
) -> None:
    app_id = f"app-{unique}"
    async with endpoint(json_answer({"access_token": "stolen"}), host="127.0.0.2") as target:

        async def redirect(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": target.url})

        async with endpoint(redirect) as origin:
            profile = await custom_profile(api, stack, app_id, token_url=origin.url)
            authorization_id, callback = await dance_to_callback(
                api, browser, consent, leaks, app_id, profile
            )
            page = await visit(browser, callback, leaks)
    assert page.status == 400
    assert len(origin.requests) == 1 and origin.requests[0]["code_verifier"]
    assert target.requests == []
    assert (await failed_event(stack, authorization_id))["error"] == "provider_unavailable"
    assert await credentials_of(api, app_id) == []


async def expire(auth_db: Any, credential_id: str) -> None:
    await auth_db.credentials.update_one(
        {"_id": credential_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=5)}}
    )


@pytest.mark.parametrize("hostile", [*sorted(HOSTILE), "a redirect"])
async def test_a_hostile_refresh_endpoint_answers_503_and_keeps_the_credential_as_it_was(
    api: Api,
    stack: Stack,
    connect: Any,
    auth_db: Any,
    vault: Any,
    leaks: Leaks,
    unique: str,
    tripwire: list[str],
    hostile: str,
) -> None:
    app_id = f"app-{unique}"
    profile = await custom_profile(api, stack, app_id)
    credential_id = await connect(api, app_id, profile={"kind": "custom", "profile_id": profile})
    async with contextlib.AsyncExitStack() as servers:
        target = await servers.enter_async_context(endpoint(json_answer({}), host="127.0.0.2"))

        async def redirect(request: web.Request) -> web.StreamResponse:
            return web.Response(status=307, headers={"Location": target.url})

        behaviour = redirect if hostile == "a redirect" else HOSTILE[hostile]
        refresh = await servers.enter_async_context(endpoint(behaviour))
        status, _ = await api.call(
            "PATCH",
            f"/v1/apps/{app_id}/auth-profiles/{profile}",
            {"refresh_url": refresh.url, "client_secret": CUSTOM_CLIENT_SECRET},
        )
        assert status == 200
        before = await stored_tokens(auth_db, vault, credential_id, leaks)
        await expire(auth_db, credential_id)
        async with healthz_answering_in_time(api):
            status, problem = await api.access_token(app_id)
    assert (status, problem["code"]) == (503, "provider_unavailable")
    assert len(refresh.requests) == 1 and target.requests == []
    after = await stored_tokens(auth_db, vault, credential_id, leaks)
    assert after["status"] == "active"
    assert (after["access_token"], after["refresh_token"], after["version"]) == (
        before["access_token"],
        before["refresh_token"],
        before["version"],
    )


# --- profile URLs aimed inward -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "url", "aim"),
    [
        ("token_url", "https://metadata.tenant.test/latest", ["169.254.169.254"]),
        ("token_url", "https://idp.tenant.test/oauth/token", ["10.1.2.3"]),
        ("refresh_url", "https://idp.tenant.test/oauth/token", [PUBLIC_ADDRESS, "192.168.1.9"]),
        ("authorization_url", "https://idp.tenant.test/authorize", ["::ffff:10.0.0.1"]),
        ("token_url", "https://idp.tenant.test/oauth/token", ["fd00::5"]),
        ("token_url", "https://idp.tenant.test/oauth/token", ["100.64.0.1"]),
        ("token_url", "https://nowhere.tenant.test/oauth/token", []),
        ("token_url", "https://169.254.169.254/latest/meta-data/", []),
        ("token_url", "https://[fd00::1]/token", []),
        ("token_url", "https://10.0.0.1/token", []),
        ("token_url", "https://0xa9fea9fe/token", []),
    ],
)
async def test_a_profile_url_that_is_or_resolves_to_an_internal_address_is_refused_naming_it(
    api: Api,
    stack: Stack,
    names: Names,
    unique: str,
    tripwire: list[str],
    field: str,
    url: str,
    aim: list[str],
) -> None:
    app_id = f"app-{unique}"
    host = url.split("/")[2]
    if aim:
        names.aim(host, *aim)
    body = custom_profile_body(
        stack.idp.base_url, CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, **{field: url}
    )
    status, problem = await api.call("POST", f"/v1/apps/{app_id}/auth-profiles", body)
    assert (status, problem["code"]) == (422, "validation_error"), problem
    assert [error["field"] for error in problem["errors"]] == [field]
    assert host not in problem["errors"][0]["message"]

    profile = await custom_profile(api, stack, app_id)
    status, problem = await api.call(
        "PATCH",
        f"/v1/apps/{app_id}/auth-profiles/{profile}",
        {field: url, "client_secret": CUSTOM_CLIENT_SECRET},
    )
    assert (status, problem["code"]) == (422, "validation_error"), problem
    assert [error["field"] for error in problem["errors"]] == [field]
    _, stored = await api.call("GET", f"/v1/apps/{app_id}/auth-profiles/{profile}")
    assert stored[field] != url


async def test_a_name_rebound_inward_after_the_profile_was_saved_is_refused_at_the_callback(
    api: Api,
    stack: Stack,
    browser: aiohttp.ClientSession,
    consent: Any,
    leaks: Leaks,
    names: Names,
    unique: str,
    tripwire: list[str],
) -> None:
    app_id = f"app-{unique}"
    names.aim("rebind.tenant.test", PUBLIC_ADDRESS)
    profile = await custom_profile(
        api, stack, app_id, token_url="https://rebind.tenant.test/oauth/token"
    )
    authorization_id, callback = await dance_to_callback(
        api, browser, consent, leaks, app_id, profile
    )
    names.aim("rebind.tenant.test", "10.0.0.9")
    page = await visit(browser, callback, leaks)
    assert page.status == 400
    assert (await failed_event(stack, authorization_id))["error"] == "provider_unavailable"
    assert await credentials_of(api, app_id) == []
    assert names.asked.count("rebind.tenant.test") >= 2  # when saved, and at the call


async def test_a_refresh_url_rebound_inward_answers_503_without_a_packet_sent(
    api: Api,
    stack: Stack,
    connect: Any,
    auth_db: Any,
    names: Names,
    unique: str,
    tripwire: list[str],
) -> None:
    app_id = f"app-{unique}"
    profile = await custom_profile(api, stack, app_id)
    credential_id = await connect(api, app_id, profile={"kind": "custom", "profile_id": profile})
    names.aim("rebind.tenant.test", PUBLIC_ADDRESS)
    status, _ = await api.call(
        "PATCH",
        f"/v1/apps/{app_id}/auth-profiles/{profile}",
        {"refresh_url": "https://rebind.tenant.test/token", "client_secret": CUSTOM_CLIENT_SECRET},
    )
    assert status == 200
    names.aim("rebind.tenant.test", "192.168.0.20")
    await expire(auth_db, credential_id)
    status, problem = await api.access_token(app_id)
    assert (status, problem["code"]) == (503, "provider_unavailable")
    [credential] = await credentials_of(api, app_id)
    assert credential["status"] == "active"


# --- secrets follow their URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("token_url", "https://t.io/t"),
        ("refresh_url", "https://t.io/r"),
        ("authorization_url", "https://t.io/a"),
        ("client_id", "someone-elses-app"),
    ],
)
async def test_moving_where_the_secret_goes_needs_the_secret_in_the_same_request(
    api: Api, stack: Stack, unique: str, field: str, value: str
) -> None:
    app_id = f"app-{unique}"
    profile = await custom_profile(api, stack, app_id)
    path = f"/v1/apps/{app_id}/auth-profiles/{profile}"
    _, before = await api.call("GET", path)
    status, problem = await api.call("PATCH", path, {field: value})
    assert (status, problem["code"]) == (422, "client_secret_required")
    assert field in problem["detail"]
    status, unchanged = await api.call("GET", path)
    assert unchanged == before
    status, same = await api.call("PATCH", path, {field: before[field], "name": "Renamed"})
    assert status == 200 and same["name"] == "Renamed"  # the same value moves nothing
    api.leaks.secret("a-new-secret-for-the-move")
    status, moved = await api.call(
        "PATCH", path, {field: value, "client_secret": "a-new-secret-for-the-move"}
    )
    assert status == 200 and moved[field] == value


async def test_a_custom_profile_may_not_present_the_platforms_own_client_id(
    api: Api, stack: Stack, unique: str
) -> None:
    app_id = f"app-{unique}"
    body = custom_profile_body(stack.idp.base_url, SYSTEM_CLIENT_ID, "guessed")
    status, problem = await api.call("POST", f"/v1/apps/{app_id}/auth-profiles", body)
    assert (status, problem["code"]) == (422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["client_id"]
    profile = await custom_profile(api, stack, app_id)
    status, problem = await api.call(
        "PATCH",
        f"/v1/apps/{app_id}/auth-profiles/{profile}",
        {"client_id": SYSTEM_CLIENT_ID, "client_secret": "guessed"},
    )
    assert (status, problem["code"]) == (422, "validation_error")
