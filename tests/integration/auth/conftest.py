"""Fixtures for auth-service against real infrastructure: MongoDB-compatible server, RabbitMQ,
the real OAuth 2.0 server (oidc-provider on Atlassian's paths, confidential clients, rotation,
PKCE required) and the Atlassian-shaped fake for accessible-resources.

`leaks` collects, for the whole auth suite, every secret the tests saw (codes, tokens, client
secrets) and every place one must never appear (log lines, API responses, events, raw MongoDB
documents); test_zz_no_secret_leaks.py scans them at the end.

Names never reach a real DNS server: every app served here resolves provider hosts through
`names`, a table the tests control (a name may be aimed at any address without a packet going
there), and `tripwire` refuses and records any connection to a non-loopback address.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from pymongo import AsyncMongoClient

from auth_service.adapters.vault import Vault
from auth_service.app import create_app
from auth_service.settings import AuthSettings
from devinfra.atlassian_fake import AtlassianFake
from devinfra.consent import ConsentResult, complete_consent
from devinfra.idp import IdentityProvider
from devinfra.process import free_port
from integration_manifests import Integrations, load_integrations
from platform_core.logs import configure_logging
from platform_core.mongo import Document
from tests.support.apps import serving
from tests.support.events import EventTap
from tests.support.infra import TEST_ENCRYPTION_KEYS, Infra
from tests.support.processes import ServiceProcess
from tests.support.tripwire import tripwire as refusing_outside

SYSTEM_CLIENT_ID = "confluence-system-app"
SYSTEM_CLIENT_SECRET = "system-client-secret-0f3a9c"
CUSTOM_CLIENT_ID = "team-confluence-app"
CUSTOM_CLIENT_SECRET = "custom-client-secret-7d1e22"
ALLOWED_RETURN = "https://app.example.com/integrations"
ONE_SITE = [
    {
        "id": "11111111-aaaa-4bbb-8ccc-000000000001",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    }
]
TWO_SITES = [
    *ONE_SITE,
    {
        "id": "22222222-aaaa-4bbb-8ccc-000000000002",
        "name": "globex",
        "url": "https://globex.atlassian.net",
    },
]


# Public unicast addresses to resolve names to: judged, never connected to.
PUBLIC_ADDRESS = "104.192.136.1"
KNOWN_NAMES = {
    "auth.atlassian.com": [PUBLIC_ADDRESS],
    "api.atlassian.com": [PUBLIC_ADDRESS],
    "t.io": ["2606:4700::1111"],
    "x.example.com": [PUBLIC_ADDRESS],
}


class Names(AbstractResolver):
    """A resolver answering from a table the test may change at any time (DNS rebinding)."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {name: list(a) for name, a in KNOWN_NAMES.items()}
        self.asked: list[str] = []

    def aim(self, name: str, *addresses: str) -> None:
        self.table[name] = list(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.table.get(host.lower())
        if not addresses:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=flags,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
def names() -> Names:
    return Names()


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with refusing_outside(monkeypatch) as attempts:
        yield attempts


@dataclass
class Leaks:
    secrets: set[str] = field(default_factory=set)
    places: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    log_files: list[Path] = field(default_factory=list)
    log_stream: io.StringIO = field(default_factory=io.StringIO)

    def secret(self, value: str | None) -> None:
        if value:
            self.secrets.add(value)

    def seen(self, where: str, text: str) -> None:
        self.places.append((where, text))

    def all_places(self) -> list[tuple[str, str]]:
        places = list(self.places)
        places += [("in-process log", line) for line in self.log_stream.getvalue().splitlines()]
        for path in self.log_files:
            if path.exists():
                places += [(f"log {path.name}", line) for line in path.read_text().splitlines()]
        return places


@dataclass
class Stack:
    idp: IdentityProvider
    atlassian: AtlassianFake
    public_port: int
    events: EventTap

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    @property
    def callback_url(self) -> str:
        return f"{self.public_url}/oauth/callback"


@pytest.fixture(scope="session")
def leaks() -> Leaks:
    found = Leaks(secrets={SYSTEM_CLIENT_SECRET, CUSTOM_CLIENT_SECRET})
    configure_logging("auth-service", "DEBUG", stream=found.log_stream)
    return found


@pytest.fixture(scope="session")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, infra: Infra, leaks: Leaks
) -> AsyncIterator[Stack]:
    public_port = free_port()
    callback = f"http://127.0.0.1:{public_port}/oauth/callback"
    idp = IdentityProvider(
        tmp_path_factory.mktemp("auth-idp"),
        free_port(),
        [
            {"client_id": cid, "client_secret": secret, "redirect_uris": [callback]}
            for cid, secret in (
                (SYSTEM_CLIENT_ID, SYSTEM_CLIENT_SECRET),
                (CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET),
            )
        ],
        name="auth-idp",
    )
    idp.start()
    atlassian = AtlassianFake(idp.base_url, ONE_SITE)
    await atlassian.start()
    try:
        async with EventTap(infra.amqp_url, ["#"]) as tap:
            yield Stack(idp, atlassian, public_port, tap)
            for event in tap.events:
                leaks.seen(f"event {event['type']}", json.dumps(event))
    finally:
        await atlassian.stop()
        idp.stop()


@pytest.fixture(autouse=True)
async def _clean_provider(stack: Stack) -> AsyncIterator[None]:
    await stack.idp.clear_faults()
    stack.atlassian.state.replace_sites(ONE_SITE)
    yield
    await stack.idp.clear_faults()
    stack.atlassian.state.replace_sites(ONE_SITE)


def _dump(value: Any) -> str:
    return json.dumps(value, default=lambda v: bytes(v).hex() if isinstance(v, bytes) else str(v))


async def scan_database(
    client: AsyncMongoClient[Document], db_name: str, leaks: Leaks, keys: str = TEST_ENCRYPTION_KEYS
) -> None:
    """Record every raw document, and every token still sealed in it as a secret."""
    db = client[db_name]
    vault = Vault.from_setting(keys)
    for name in await db.list_collection_names():
        async for doc in db[name].find():
            leaks.seen(f"mongo {db_name}.{name}", _dump(doc))
            if name == "credentials":
                for part in ("access_token", "refresh_token"):
                    if doc.get(part):
                        with contextlib.suppress(Exception):
                            leaks.secret(vault.open(doc[part], doc["_id"], part))


# Settings the integrations' manifests declare, given by their lower-case names like the rest.
MANIFEST_VARIABLES = (
    "confluence_client_id",
    "confluence_client_secret",
    "jira_client_id",
    "jira_client_secret",
    "atlassian_auth_base_url",
    "atlassian_api_base_url",
)


@pytest.fixture
def settings_for(
    stack: Stack, service_settings: Callable[[str], dict[str, object]]
) -> Callable[..., tuple[AuthSettings, Integrations]]:
    def make(**overrides: Any) -> tuple[AuthSettings, Integrations]:
        values: dict[str, Any] = {
            **service_settings("auth-service"),
            "token_encryption_keys": TEST_ENCRYPTION_KEYS,
            "public_base_url": stack.public_url,
            "allow_insecure_provider_urls": True,
            "return_url_allowlist": ALLOWED_RETURN,
            "refresh_timeout_seconds": 1.0,
            "refresh_backoff_seconds": 0.05,
            "refresh_max_backoff_seconds": 0.3,
            "port": stack.public_port,
        }
        variables: dict[str, Any] = {
            "confluence_client_id": SYSTEM_CLIENT_ID,
            "confluence_client_secret": SYSTEM_CLIENT_SECRET,
            "atlassian_auth_base_url": stack.idp.base_url,
            "atlassian_api_base_url": stack.atlassian.base_url,
        }
        for name, value in overrides.items():
            (variables if name in MANIFEST_VARIABLES else values)[name] = value
        environ = {name.upper(): value for name, value in variables.items() if value is not None}
        return AuthSettings(**values), load_integrations(environ)

    return make


@pytest.fixture(autouse=True)
async def _scan_after_each_test(
    service_settings: Callable[[str], dict[str, object]],
    mongo_client: AsyncMongoClient[Document],
    leaks: Leaks,
) -> AsyncIterator[None]:
    yield
    database = str(service_settings("auth-service")["mongodb_database"])
    await scan_database(mongo_client, database, leaks)


class Api:
    """A platform-service caller of auth-service's JSON API; records responses for the leak scan."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        leaks: Leaks,
        app: web.Application | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.leaks = leaks
        self._app = app

    @property
    def app(self) -> web.Application:
        assert self._app is not None, "this API runs in another process"
        return self._app

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        url = f"{self.base_url}{path}"
        async with self.session.request(method, url, json=body, headers=headers) as resp:
            text = await resp.text()
            if not path.endswith("/access-token"):
                self.leaks.seen(f"api {method} {path}", text)
            return resp.status, json.loads(text) if text else None

    async def authorize(
        self,
        app_id: str,
        *,
        subject: dict[str, str] | None = None,
        profile: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        status, body = await self.call(
            "POST",
            "/v1/authorizations",
            {
                "app_id": app_id,
                "integration": "confluence",
                "profile": profile or {"kind": "system"},
                "subject": subject or {"type": "app"},
                **extra,
            },
        )
        assert status == 201, body
        return dict(body)

    async def access_token(self, app_id: str, **body: Any) -> tuple[int, Any]:
        body.setdefault("subject", {"type": "app"})
        status, answer = await self.call(
            "POST", f"/v1/apps/{app_id}/integrations/confluence/access-token", body
        )
        if status == 200:
            self.leaks.secret(answer["access_token"])
        return status, answer


@pytest.fixture
def start_auth(
    stack: Stack,
    settings_for: Callable[..., tuple[AuthSettings, Integrations]],
    token: Callable[..., str],
    leaks: Leaks,
    names: Names,
) -> Callable[..., contextlib.AbstractAsyncContextManager[Api]]:
    @contextlib.asynccontextmanager
    async def start(maintenance_loop: bool = False, **overrides: Any) -> AsyncIterator[Api]:
        settings, integrations = settings_for(**overrides)
        app = create_app(settings, integrations, maintenance_loop=maintenance_loop, resolver=names)
        async with serving(app, settings.port) as client:
            base = str(client.make_url(""))
            yield Api(client.session, base, token(), leaks, app)

    return start


@pytest.fixture
def start_fails(
    settings_for: Callable[..., tuple[AuthSettings, Integrations]], names: Names
) -> Callable[..., Any]:
    """Start the app as `run_service` would, expecting its start-up to raise; cleans up."""

    async def start(expected: type[BaseException], **overrides: Any) -> BaseException:
        settings, integrations = settings_for(**overrides)
        runner = web.AppRunner(
            create_app(settings, integrations, maintenance_loop=False, resolver=names)
        )
        try:
            with pytest.raises(expected) as raised:
                await runner.setup()
        finally:
            await runner.cleanup()
        return raised.value

    return start


@pytest.fixture
async def api(
    start_auth: Callable[..., contextlib.AbstractAsyncContextManager[Api]],
) -> AsyncIterator[Api]:
    async with start_auth() as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.fixture
def consent(stack: Stack, leaks: Leaks) -> Callable[..., Any]:
    """Walk the IdP from our /connect link up to (not into) our callback; record the code."""

    async def walk(browser: aiohttp.ClientSession, link: str, **options: Any) -> ConsentResult:
        result = await complete_consent(browser, link, stop_at_prefix=stack.callback_url, **options)
        leaks.secret(result.query.get("code"))
        return result

    return walk


@dataclass
class Page:
    status: int
    text: str
    headers: dict[str, str]


async def visit(
    browser: aiohttp.ClientSession, url: str, leaks: Leaks, *, data: dict[str, str] | None = None
) -> Page:
    method = "POST" if data is not None else "GET"
    async with browser.request(method, url, data=data, allow_redirects=False) as resp:
        text = await resp.text()
        leaks.seen(f"page {url.split('?')[0]}", text)
        return Page(resp.status, text, dict(resp.headers))


FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def form_token_of(page: Page) -> str:
    found = FORM_TOKEN.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def click(browser: aiohttp.ClientSession, link: str, leaks: Leaks) -> Page:
    """What a person does with a link: open its page, press Continue; the answer to Continue."""
    shown = await visit(browser, link, leaks)
    if shown.status != 200:
        return shown
    return await visit(browser, link, leaks, data={"form_token": form_token_of(shown)})


@pytest.fixture
def auth_db(
    mongo_client: AsyncMongoClient[Document], service_settings: Callable[[str], dict[str, object]]
) -> Any:
    return mongo_client[str(service_settings("auth-service")["mongodb_database"])]


@pytest.fixture
def vault() -> Vault:
    return Vault.from_setting(TEST_ENCRYPTION_KEYS)


@pytest.fixture
def connect(
    stack: Stack, browser: aiohttp.ClientSession, consent: Any, leaks: Leaks
) -> Callable[..., Any]:
    """A whole successful dance; returns the credential id."""

    async def run(api: Api, app_id: str, **authorize: Any) -> str:
        issued = await api.authorize(app_id, **authorize)
        first = await click(browser, issued["authorization_url"], leaks)
        assert first.status == 302, first.text
        result = await consent(browser, first.headers["Location"])
        page = await visit(browser, result.url, leaks)
        assert page.status in (200, 302), page.text
        _, body = await api.call("GET", f"/v1/authorizations/{issued['authorization_id']}")
        assert body["status"] == "completed", body
        return str(body["credential_id"])

    return run


async def stored_tokens(db: Any, vault: Vault, credential_id: str, leaks: Leaks) -> dict[str, Any]:
    """The credential's raw document with its tokens opened (and recorded as secrets)."""
    doc = dict(await db.credentials.find_one({"_id": credential_id}))
    for part in ("access_token", "refresh_token"):
        if doc.get(part):
            doc[part] = vault.open(doc[part], credential_id, part)
            leaks.secret(doc[part])
    return doc


def process_env(
    stack: Stack, service_env: Callable[[str], dict[str, str]], **overrides: str
) -> dict[str, str]:
    """auth-service's environment for a real process (`python -m auth_service`)."""
    return {
        **service_env("auth-service"),
        "TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "PUBLIC_BASE_URL": stack.public_url,
        "CONFLUENCE_CLIENT_ID": SYSTEM_CLIENT_ID,
        "CONFLUENCE_CLIENT_SECRET": SYSTEM_CLIENT_SECRET,
        "ATLASSIAN_AUTH_BASE_URL": stack.idp.base_url,
        "ATLASSIAN_API_BASE_URL": stack.atlassian.base_url,
        "ALLOW_INSECURE_PROVIDER_URLS": "true",
        "RETURN_URL_ALLOWLIST": ALLOWED_RETURN,
        "LOG_LEVEL": "DEBUG",
        **overrides,
    }


@contextlib.asynccontextmanager
async def two_replicas(
    stack: Stack, env: dict[str, str], logs: Path, leaks: Leaks
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess]]:
    """Two auth-service processes with `env`; the first answers on the stack's public port,
    where the identity provider sends the browser back."""
    first = ServiceProcess("auth_service", {**env, "PORT": str(stack.public_port)}, logs / "a.log")
    second = ServiceProcess("auth_service", env, logs / "b.log")
    leaks.log_files += [first.log_path, second.log_path]
    try:
        await first.start()
        await second.start()
        yield first, second
    finally:
        await first.stop()
        await second.stop()
