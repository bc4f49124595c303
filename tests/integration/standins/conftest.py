"""What the stand-in tests share: a recording OAuth callback, the real oidc-provider with a
client of its own, the Atlassian-shaped API, and helpers that walk the OAuth protocol by hand
to get real tokens with chosen scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from devinfra.atlassian_fake import KNOWN_SCOPES, AtlassianFake
from devinfra.consent import complete_consent
from devinfra.idp import IdentityProvider
from devinfra.process import free_port

CLIENT_ID = "confluence-bot"
CLIENT_SECRET = "confluence-bot-secret"
SCOPE = "write:confluence-content offline_access"
CLASSIC_SCOPES = (
    "write:confluence-content read:confluence-content.all read:confluence-content.summary "
    "read:confluence-space.summary search:confluence offline_access"
)
# Every scope the Atlassian stand-in knows (Confluence classic and granular, Jira).
ALL_SCOPES = " ".join([*sorted(KNOWN_SCOPES), "offline_access"])
SITES = [
    {
        "id": "11111111-2222-3333-4444-555555555555",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    },
    {
        "id": "99999999-8888-7777-6666-555555555555",
        "name": "globex",
        "url": "https://globex.atlassian.net",
        "avatarUrl": "https://example.invalid/globex.png",
    },
]


@dataclass
class Callback:
    url: str
    received: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Authorization:
    code: str
    state: str
    verifier: str
    params: dict[str, str]


@asynccontextmanager
async def callback_server() -> AsyncIterator[Callback]:
    """A local OAuth redirect target that records what it received."""
    port = free_port()
    recorder = Callback(f"http://127.0.0.1:{port}/oauth/callback")

    async def receive(request: web.Request) -> web.Response:
        recorder.received.append(dict(request.query))
        return web.Response(text="connected")

    app = web.Application()
    app.router.add_get("/oauth/callback", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield recorder
    finally:
        await runner.cleanup()


@contextmanager
def identity_provider(state_dir: Path, callback: Callback) -> Iterator[IdentityProvider]:
    """The real oidc-provider with this module's client, redirecting to `callback`."""
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [callback.url],
    }
    server = IdentityProvider(state_dir, free_port(), [client])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def callback() -> AsyncIterator[Callback]:
    async with callback_server() as recorder:
        yield recorder


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory, callback: Callback) -> Iterator[IdentityProvider]:
    with identity_provider(Path(tmp_path_factory.mktemp("idp")), callback) as server:
        yield server


@pytest.fixture(autouse=True)
async def no_faults(idp: IdentityProvider) -> AsyncIterator[None]:
    await idp.clear_faults()
    yield
    await idp.clear_faults()


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
async def atlassian(idp: IdentityProvider) -> AsyncIterator[AtlassianFake]:
    fake = AtlassianFake(idp.base_url, SITES)
    await fake.start()
    yield fake
    await fake.stop()


def authorize_url(
    idp: IdentityProvider,
    callback: Callback,
    *,
    state: str,
    verifier: str,
    scope: str = SCOPE,
    audience: str | None = "api.atlassian.com",
    prompt: str | None = "consent",
) -> str:
    params = [
        ("client_id", CLIENT_ID),
        ("scope", scope),
        ("redirect_uri", callback.url),
        ("state", state),
        ("response_type", "code"),
        ("code_challenge", create_s256_code_challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]
    if audience is not None:
        params.insert(0, ("audience", audience))
    if prompt is not None:
        params.append(("prompt", prompt))
    return str(add_params_to_uri(idp.authorize_url, params))


async def authorize(
    browser: aiohttp.ClientSession,
    idp: IdentityProvider,
    callback: Callback,
    **options: Any,
) -> Authorization:
    state, verifier = generate_token(24), generate_token(48)
    url = authorize_url(idp, callback, state=state, verifier=verifier, **options)
    result = await complete_consent(browser, url, stop_at_prefix=callback.url)
    assert result.stopped, result
    return Authorization(result.query.get("code", ""), state, verifier, result.query)


async def token_call(
    http: aiohttp.ClientSession, idp: IdentityProvider, **form: str
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    async with http.post(idp.token_url, data=data) as resp:
        return resp.status, await resp.json(), resp


async def exchange(
    http: aiohttp.ClientSession, idp: IdentityProvider, callback: Callback, auth: Authorization
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await token_call(
        http,
        idp,
        grant_type="authorization_code",
        code=auth.code,
        redirect_uri=callback.url,
        code_verifier=auth.verifier,
    )
    return status, body


async def refresh(
    http: aiohttp.ClientSession, idp: IdentityProvider, refresh_token: str
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await token_call(
        http, idp, grant_type="refresh_token", refresh_token=refresh_token
    )
    return status, body


async def connect(
    browser: aiohttp.ClientSession,
    http: aiohttp.ClientSession,
    idp: IdentityProvider,
    callback: Callback,
    scope: str = SCOPE,
) -> dict[str, Any]:
    auth = await authorize(browser, idp, callback, scope=scope)
    status, tokens = await exchange(http, idp, callback, auth)
    assert status == 200, tokens
    return tokens


async def grant(idp: IdentityProvider, callback: Callback, scope: str) -> dict[str, Any]:
    """Consent once, in a browser session of its own, and return the token response."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser, aiohttp.ClientSession() as http:
        return await connect(browser, http, idp, callback, scope=scope)


# --- identity provider --------------------------------------------------------------------


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture(scope="module")
async def auth(idp: IdentityProvider, callback: Callback) -> dict[str, str]:
    """A bearer header for a token holding every scope the stand-in knows."""
    return bearer(await grant(idp, callback, ALL_SCOPES))
