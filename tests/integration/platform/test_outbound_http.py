"""The provider session against local servers: destinations aimed inward are refused before any
connection (literals, names, rebinding, redirects), bodies are bounded, JSON objects are strict,
no cookie is kept and no proxy is taken from the environment.

No test here sends a packet to a non-loopback address: names resolve through a resolver the test
controls, and a tripwire on `socket.connect` refuses (and records) any other destination, so a
broken guard fails the test instead of reaching out. Nothing here needs the auth suite's
identity provider or databases: its autouse fixtures are overridden below.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from platform_core.outbound_http import (
    MAX_JSON_DEPTH,
    DestinationRefused,
    GuardedResolver,
    MalformedResponse,
    ResponseTooLarge,
    check_provider_url_resolved,
    create_provider_session,
    parse_json_document,
    parse_json_object,
    read_bounded,
    request,
)
from tests.support.tripwire import tripwire as refusing_outside

MEGABYTE = 1 << 20
TLS_NAMES = ("rebind.test", "idp.test")


@pytest.fixture(autouse=True)
def tripwire(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    with refusing_outside(monkeypatch) as attempts:
        yield attempts


class FakeResolver(AbstractResolver):
    """Answers names from a table; a name with several answers gives the next one each time."""

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self._answers = {name: list(rounds) for name, rounds in answers.items()}
        self.calls: list[tuple[str, int]] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append((host, family))
        rounds = self._answers.get(host)
        if not rounds:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = rounds.pop(0) if len(rounds) > 1 else rounds[0]
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        pass


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    return ResolveResult(
        hostname=host, host=address, port=port, family=family, proto=0, flags=flags
    )


class SlowResolver(FakeResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        await asyncio.sleep(5)
        return await super().resolve(host, port, family)


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class LocalServer:
    """An aiohttp server on a loopback address that counts connections and requests."""

    handler: Handler
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[Seen] = field(default_factory=list)
    port: int = 0

    async def __aenter__(self) -> LocalServer:
        self._web = web.Server(self._handle)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.close()
        await self._web.shutdown(0.1)  # idle keep-alive connections need no grace
        await self._server.wait_closed()

    def url(self, path: str = "/token", host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def _accept(self) -> asyncio.Protocol:
        self.connections += 1
        return self._web()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.requests.append(Seen(request.method, request.path_qs, dict(request.headers)))
        return await self.handler(request)


async def token_response(request: web.BaseRequest) -> web.StreamResponse:
    return web.json_response({"access_token": "at-1", "token_type": "Bearer"})


async def closing_token_response(request: web.BaseRequest) -> web.StreamResponse:
    response = web.json_response({"access_token": "at-1", "token_type": "Bearer"})
    response.force_close()  # the next call needs a new connection, hence a new resolution
    return response


@pytest.fixture
async def sessions() -> AsyncIterator[Callable[..., aiohttp.ClientSession]]:
    made: list[aiohttp.ClientSession] = []

    def make(
        *, allow_insecure_loopback: bool = True, resolver: AbstractResolver | None = None
    ) -> aiohttp.ClientSession:
        session = create_provider_session(
            allow_insecure_loopback=allow_insecure_loopback, resolver=resolver
        )
        made.append(session)
        return session

    yield make
    for session in made:
        await session.close()


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for the test names, trusted by the client context only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound-http test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in TLS_NAMES]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (directory / "cert.pem").write_bytes(cert_pem)
    (directory / "key.pem").write_bytes(key_pem)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return Tls(server, ssl.create_default_context(cadata=cert_pem.decode()))


# --- destinations ------------------------------------------------------------------------------


async def test_a_name_resolving_to_the_metadata_address_is_refused_before_any_connection(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    resolver = FakeResolver({"metadata.test": [["169.254.169.254"]]})
    session = sessions(allow_insecure_loopback=True, resolver=resolver)
    with pytest.raises(DestinationRefused, match="resolves to a link-local address"):
        async with request(session, "POST", "https://metadata.test/latest", data={"a": "b"}):
            pass
    with pytest.raises(DestinationRefused, match="resolves to a link-local address"):
        async with session.get("https://metadata.test/latest/meta-data/"):
            pass
    assert [host for host, _ in resolver.calls] == ["metadata.test", "metadata.test"]


@pytest.mark.parametrize(
    "addresses",
    [
        ["8.8.8.8", "10.0.0.1"],
        ["2606:4700::1", "fd00::1"],
        ["::ffff:169.254.169.254"],
        ["fe80::1%lo"],
        ["100.64.0.1"],
        ["0.0.0.0"],  # noqa: S104 - an answer to judge, nothing binds it
        ["127.0.0.1"],  # loopback, and these sessions do not allow it
    ],
)
async def test_a_name_with_any_refused_address_is_refused_whole(
    sessions: Callable[..., aiohttp.ClientSession], addresses: list[str]
) -> None:
    session = sessions(
        allow_insecure_loopback=False, resolver=FakeResolver({"idp.test": [addresses]})
    )
    with pytest.raises(DestinationRefused, match="host name resolves to"):
        async with request(session, "POST", "https://idp.test/token", data={"a": "b"}):
            pass


async def test_a_resolver_answer_that_is_not_an_address_is_refused(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    session = sessions(resolver=FakeResolver({"idp.test": [["elsewhere.example"]]}))
    with pytest.raises(DestinationRefused, match="not an address"):
        async with request(session, "GET", "https://idp.test/token"):
            pass


async def test_a_resolver_answering_nothing_is_refused() -> None:
    guarded = GuardedResolver(FakeResolver({"idp.test": [[]]}), allow_insecure_loopback=True)
    with pytest.raises(DestinationRefused, match="no address"):
        await guarded.resolve("idp.test", 443)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "link-local address"),
        ("https://10.0.0.1/token", "private address"),
        ("https://[fd00::1]/token", "private address"),
        ("https://[::ffff:169.254.169.254]/token", "link-local address"),
        ("https://[fe80::1%25lo]/token", "link-local address"),
        ("https://[64:ff9b::a9fe:a9fe]/token", "non-public IPv4"),
        ("https://0xa9fea9fe/latest", "link-local address"),
        ("https://169.254.43518/latest", "link-local address"),
        ("https://2852039166/latest", "link-local address"),
        ("http://10.0.0.1/token", "must use https"),
        ("ws://idp.test/token", "must use https"),
    ],
)
async def test_a_literal_aimed_inward_is_refused_by_the_session_before_any_connection(
    sessions: Callable[..., aiohttp.ClientSession], url: str, reason: str
) -> None:
    resolver = FakeResolver({})
    session = sessions(allow_insecure_loopback=True, resolver=resolver)
    with pytest.raises(DestinationRefused, match=reason):
        async with request(session, "POST", url, data={"code": "c"}):
            pass
    with pytest.raises(DestinationRefused, match=reason):
        async with session.get(url):
            pass
    assert resolver.calls == []


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "[::ffff:7f00:1]"])
async def test_a_listening_loopback_server_receives_nothing_when_loopback_is_not_allowed(
    sessions: Callable[..., aiohttp.ClientSession], host: str
) -> None:
    session = sessions(allow_insecure_loopback=False, resolver=FakeResolver({}))
    async with LocalServer(token_response) as server:
        with pytest.raises(DestinationRefused):
            async with request(session, "POST", server.url(host=host), data={"code": "c"}):
                pass
    assert server.connections == 0 and server.requests == []


async def test_loopback_is_reached_over_http_when_insecure_urls_are_allowed(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    session = sessions(allow_insecure_loopback=True)  # aiohttp's own resolver for localhost
    async with LocalServer(token_response) as server:
        for url in (server.url(), server.url(host="localhost")):
            async with request(session, "POST", url, data={"grant_type": "x"}) as response:
                assert response.status == 200
                assert parse_json_object(await read_bounded(response, 1024))["access_token"]
    assert len(server.requests) == 2


async def test_a_name_rebound_to_a_private_address_is_refused_at_the_next_connection(
    sessions: Callable[..., aiohttp.ClientSession], tls: Tls
) -> None:
    resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    session = sessions(allow_insecure_loopback=True, resolver=resolver)
    async with LocalServer(closing_token_response, tls=tls.server) as server:
        url = server.url(host="rebind.test")
        async with session.post(url, data={"code": "c"}, ssl=tls.client) as response:
            assert response.status == 200
        with pytest.raises(DestinationRefused, match="resolves to a private address"):
            async with session.post(url, data={"code": "c"}, ssl=tls.client):
                pass
    assert len(resolver.calls) == 2
    assert server.connections == 1 and len(server.requests) == 1


async def test_validation_and_the_call_each_resolve_so_a_rebind_after_validation_is_caught(
    sessions: Callable[..., aiohttp.ClientSession], tls: Tls
) -> None:
    resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    async with LocalServer(token_response, tls=tls.server) as server:
        url = server.url(host="rebind.test")
        await check_provider_url_resolved(url, allow_insecure_loopback=True, resolver=resolver)
        session = sessions(allow_insecure_loopback=True, resolver=resolver)
        with pytest.raises(DestinationRefused, match="private address"):
            async with session.post(url, data={"code": "c"}, ssl=tls.client):
                pass
    assert server.connections == 0


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 300, 304])
async def test_a_redirect_is_refused_and_its_target_receives_nothing(
    sessions: Callable[..., aiohttp.ClientSession], status: int
) -> None:
    async with LocalServer(token_response, host="127.0.0.2") as target:

        async def redirect(request: web.BaseRequest) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": target.url("/steal")})

        async with LocalServer(redirect) as origin:
            session = sessions(allow_insecure_loopback=True)
            with pytest.raises(DestinationRefused, match=f"redirect refused \\(status {status}\\)"):
                async with request(session, "POST", origin.url(), data={"code": "c"}):
                    pass
            with pytest.raises(DestinationRefused, match="redirect refused"):
                async with session.post(origin.url(), data={"code": "c"}, allow_redirects=True):
                    pass
    assert len(origin.requests) == 2
    assert target.connections == 0 and target.requests == []


# --- bounded bodies ----------------------------------------------------------------------------


async def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    async def huge(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(body=b"x" * (8 * MEGABYTE), content_type="application/json")

    session = sessions()
    async with LocalServer(huge) as server, request(session, "GET", server.url()) as response:
        assert response.content_length == 8 * MEGABYTE
        with pytest.raises(ResponseTooLarge, match="declares more than 1048576 bytes"):
            await read_bounded(response, MEGABYTE)
        assert response.closed


@dataclass
class Streamed:
    total: int
    sent: int = 0


async def test_a_chunked_body_is_refused_at_the_limit_and_the_rest_is_never_sent(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    stream = Streamed(total=64 * MEGABYTE)

    async def endless(request: web.BaseRequest) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while stream.sent < stream.total:
                await response.write(b"[" * 65536)
                stream.sent += 65536
        return response

    session = sessions()
    async with LocalServer(endless) as server, request(session, "GET", server.url()) as response:
        assert response.content_length is None
        with pytest.raises(ResponseTooLarge, match="larger than 1048576 bytes"):
            await read_bounded(response, MEGABYTE)
    assert stream.sent < stream.total


@contextlib.asynccontextmanager
async def close_delimited_server(stream: Streamed) -> AsyncIterator[int]:
    """HTTP/1.1 without Content-Length or chunking: the body ends when the server closes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Connection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            while stream.sent < stream.total:
                writer.write(b"{" * 65536)
                stream.sent += 65536
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_body_without_any_length_is_refused_at_the_limit(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    stream = Streamed(total=64 * MEGABYTE)
    session = sessions()
    async with (
        close_delimited_server(stream) as port,
        request(session, "GET", f"http://127.0.0.1:{port}/") as response,
    ):
        assert response.content_length is None
        assert "chunked" not in response.headers.get("Transfer-Encoding", "")
        with pytest.raises(ResponseTooLarge, match="larger than 1048576 bytes"):
            await read_bounded(response, MEGABYTE)
    assert stream.sent < stream.total


@pytest.mark.parametrize(("limit", "accepted"), [(1000, True), (999, False)])
async def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    sessions: Callable[..., aiohttp.ClientSession], limit: int, accepted: bool
) -> None:
    async def thousand(request: web.BaseRequest) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"a" * 1000)
        return response

    session = sessions()
    async with LocalServer(thousand) as server, request(session, "GET", server.url()) as response:
        if accepted:
            assert await read_bounded(response, limit) == b"a" * 1000
        else:
            with pytest.raises(ResponseTooLarge):
                await read_bounded(response, limit)


# --- JSON --------------------------------------------------------------------------------------


def test_a_json_object_within_bounds_is_parsed() -> None:
    raw = json.dumps({"access_token": "at", "scope": ["a", {"b": [1, 2]}], "s": '[{"]}'})
    assert parse_json_object(raw.encode())["scope"] == ["a", {"b": [1, 2]}]


def test_nesting_up_to_the_bound_is_accepted_and_one_level_more_is_refused() -> None:
    inner = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert parse_json_object(f'{{"a": {inner}}}'.encode())
    deeper = "[" + inner + "]"
    with pytest.raises(MalformedResponse, match="nests deeper"):
        parse_json_object(f'{{"a": {deeper}}}'.encode())


def test_pathologically_deep_json_is_refused_without_recursing() -> None:
    with pytest.raises(MalformedResponse, match="nests deeper"):
        parse_json_object(b'{"a": ' + b"[" * 500_000 + b"]" * 500_000 + b"}")
    with pytest.raises(MalformedResponse, match="nests deeper"):
        parse_json_object(b'{"a": ' + b'{"a": ' * 200_000)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count_as_nesting() -> None:
    text = json.dumps({"a": "[" * 1000, "b": '\\"' + "{" * 1000, "c": "\\"})
    assert parse_json_object(text.encode())["a"] == "[" * 1000


def test_a_json_array_within_bounds_is_parsed_by_the_value_parser_only() -> None:
    raw = b'[{"id": "c-1", "url": "https://acme.atlassian.net", "scopes": ["read"]}]'
    assert parse_json_document(raw)[0]["id"] == "c-1"
    with pytest.raises(MalformedResponse, match="not a JSON object"):
        parse_json_object(raw)
    with pytest.raises(MalformedResponse, match="nests deeper"):
        parse_json_document(b"[" * 100_000)


@pytest.mark.parametrize("raw", [b"[]", b'"token"', b"1", b"null", b"true", b"[{}]"])
def test_json_that_is_not_an_object_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not a JSON object"):
        parse_json_object(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"a": }',
        b"{'a': 1}",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1} x',
        b'{"a": ' + b"1" * 5000 + b"}",
        b"\xef\xbb\xbf{}",
    ],
)
def test_invalid_json_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not valid JSON"):
        parse_json_object(raw)


@pytest.mark.parametrize("raw", [b'{"a": "\xff"}', b'{"a": "\xc3"}', b'{"a": "\xed\xa0\x80"}'])
def test_invalid_utf8_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not valid UTF-8"):
        parse_json_object(raw)


# --- session hygiene ---------------------------------------------------------------------------


async def test_the_session_keeps_no_cookie_between_calls(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    async def set_cookie(request: web.BaseRequest) -> web.StreamResponse:
        response = web.json_response({})
        response.set_cookie("tenant", "a-tenant-session", path="/")
        return response

    # a name, not an IP literal: aiohttp's default jar would keep this cookie and send it back
    session = sessions(resolver=FakeResolver({"idp.localhost": [["127.0.0.1"]]}))
    async with LocalServer(set_cookie) as server:
        for _ in range(2):
            async with request(session, "GET", server.url(host="idp.localhost")) as response:
                assert response.cookies["tenant"].value == "a-tenant-session"
    assert [seen.headers.get("Cookie") for seen in server.requests] == [None, None]
    assert len(session.cookie_jar) == 0


async def test_proxy_environment_variables_are_ignored(
    sessions: Callable[..., aiohttp.ClientSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with LocalServer(token_response) as proxy, LocalServer(token_response) as target:
        for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(variable, proxy.url("/"))
        for variable in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(variable, raising=False)
        session = sessions()
        async with request(session, "POST", target.url(), data={"code": "c"}) as response:
            assert response.status == 200
        assert proxy.requests == [] and len(target.requests) == 1
        # the same variables do send an environment-trusting session through the proxy
        async with (
            aiohttp.ClientSession(trust_env=True) as trusting,
            trusting.get(target.url()) as response,
        ):
            assert response.status == 200
        assert len(proxy.requests) == 1


async def test_a_session_not_built_for_providers_is_refused_by_the_helper() -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(TypeError, match="create_provider_session"):
            async with request(plain, "GET", "https://idp.test/"):
                pass


async def test_a_refusal_never_repeats_the_url_its_host_or_its_query(
    sessions: Callable[..., aiohttp.ClientSession],
) -> None:
    session = sessions(resolver=FakeResolver({"metadata.test": [["169.254.169.254"]]}))
    for url in (
        "https://metadata.test/token?client_secret=s3cr3t&refresh_token=rt-9",
        "https://169.254.169.254/token?client_secret=s3cr3t&refresh_token=rt-9",
    ):
        with pytest.raises(DestinationRefused) as refused:
            async with request(session, "GET", url):
                pass
        message = str(refused.value)
        assert not any(part in message for part in ("s3cr3t", "rt-9", "metadata", "169.254"))


# --- validation at profile creation ------------------------------------------------------------


async def test_validation_accepts_a_name_that_resolves_only_to_public_addresses() -> None:
    resolver = FakeResolver({"idp.example": [["8.8.8.8", "2606:4700::1111"]]})
    url = "https://idp.example/oauth/token"
    assert await check_provider_url_resolved(url, allow_insecure_loopback=False, resolver=resolver)
    assert resolver.calls == [("idp.example", socket.AF_UNSPEC)]


@pytest.mark.parametrize(
    ("url", "reason", "resolves"),
    [
        ("https://metadata.test/token", "resolves to a link-local address", True),
        ("https://mixed.test/token", "resolves to a private address", True),
        ("https://unknown.test/token", "does not resolve", True),
        ("https://10.0.0.1/token", "host is a private address", False),
        ("https://0x7f.1/token", "host is a loopback address", False),
        ("http://idp.example/token", "must use https", False),
        ("https://user:pw@idp.example/token", "no credentials", False),
    ],
)
async def test_validation_refuses_a_url_aimed_inward_statically_or_once_resolved(
    url: str, reason: str, resolves: bool
) -> None:
    resolver = FakeResolver(
        {"metadata.test": [["169.254.169.254"]], "mixed.test": [["8.8.8.8", "192.168.0.10"]]}
    )
    with pytest.raises(DestinationRefused, match=reason):
        await check_provider_url_resolved(url, allow_insecure_loopback=False, resolver=resolver)
    assert bool(resolver.calls) is resolves


async def test_validation_refuses_a_name_that_does_not_resolve_in_time() -> None:
    resolver = SlowResolver({"slow.test": [["8.8.8.8"]]})
    with pytest.raises(DestinationRefused, match="did not resolve in time"):
        await check_provider_url_resolved(
            "https://slow.test/token",
            allow_insecure_loopback=False,
            resolver=resolver,
            timeout_seconds=0.05,
        )


async def test_validation_resolves_localhost_with_the_default_resolver_when_allowed() -> None:
    url = "http://localhost:9400/token"
    assert await check_provider_url_resolved(url, allow_insecure_loopback=True) == url
    with pytest.raises(DestinationRefused, match="must use https"):
        await check_provider_url_resolved(url, allow_insecure_loopback=False)
