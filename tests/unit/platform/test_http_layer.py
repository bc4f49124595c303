"""The HTTP skeleton: problem+json errors, body validation, JWT rules, OpenAPI, metrics, and the
routes that read HTML forms and answer pages."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import Field

from platform_core.api import (
    ApiRoutes,
    AppId,
    FormModel,
    Header,
    Reply,
    RequestModel,
    ResponseModel,
    View,
)
from platform_core.app import create_http_app
from platform_core.errors import NotFound, ProblemError
from platform_core.logs import configure_logging
from platform_core.service_auth import Scope, mint_token
from platform_core.settings import ServiceSettings

SECRET = "unit-test-secret-of-at-least-32-bytes"
OTHER_SECRET = "another-secret-of-32-bytes-or-more!"


class AppPath(RequestModel):
    app_id: AppId


class Page(RequestModel):
    limit: int = Field(default=50, ge=1, le=200)


class ThingIn(RequestModel):
    name: str = Field(min_length=1, max_length=20)
    count: int
    urgent: bool = False


class ThingOut(ResponseModel):
    app_id: str
    name: str
    count: int


class ThingMissing(NotFound):
    code = "thing_not_found"


routes = ApiRoutes(tags=["demo"])


@routes.get(
    "/v1/apps/{app_id}/things", summary="List", responses={200: ThingOut}, errors=[ThingMissing]
)
async def list_things(request: web.Request, *, path: AppPath, query: Page) -> Reply:
    if path.app_id == "missing":
        raise ThingMissing("No thing here")
    return Reply(ThingOut(app_id=path.app_id, name="n", count=query.limit))


@routes.post("/v1/apps/{app_id}/things", summary="Create", responses={201: ThingOut})
async def create_thing(request: web.Request, *, path: AppPath, body: ThingIn) -> Reply:
    return Reply(ThingOut(app_id=path.app_id, name=body.name, count=body.count), status=201)


@routes.post("/v1/tokens", summary="Issue", responses={200: None}, scope=Scope.ISSUE_TOKENS)
async def issue(request: web.Request) -> Reply:
    return Reply(status=200)


@routes.get("/v1/boom", summary="Fails", responses={200: None})
async def boom(request: web.Request) -> Reply:
    raise RuntimeError("database password is hunter2")


@routes.post(
    "/v1/apps/{app_id}/moved",
    summary="Declares a header it forgets to send",
    responses={201: None},
    headers={201: {"Location": Header("Where it went")}},
)
async def forgetful(request: web.Request, *, path: AppPath) -> Reply:
    return Reply(status=201)


class Note(FormModel):
    text: str = Field(min_length=1, max_length=20)
    tag: str | None = None


def as_page(view: View) -> View:
    """A guard as a browser-facing service has one: every failure a page."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await view(request)
        except ProblemError as exc:
            return web.Response(
                status=exc.status, text=f"<p>{exc.detail}</p>", content_type="text/html"
            )

    return guarded


pages = ApiRoutes(tags=["pages"], guard=as_page)


@pages.post(
    "/notes/{app_id}",
    summary="A page's form",
    responses={303: None},
    public=True,
    html=True,
    headers={303: {"Location": Header("The new note")}},
)
async def post_note(request: web.Request, *, path: AppPath, body: Note) -> web.StreamResponse:
    return web.Response(status=303, headers={"Location": f"/notes/{path.app_id}/{body.text}"})


class DemoSettings(ServiceSettings):
    port: int = 1


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings = DemoSettings(platform_jwt_secret=SECRET, max_body_bytes=2048)
    app = create_http_app(settings, service="demo", version="1.0", routes=[routes, pages])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def bearer(scopes: Any = (Scope.READ, Scope.WRITE), **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, 'caller', scopes, **kw)}"}


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["code"] == code
    assert body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail", "code"}
    return body


async def test_a_valid_call_answers_with_its_declared_model(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/apps/app-1/things", json={"name": "x", "count": 2}, headers=bearer()
    )
    assert response.status == 201
    assert await response.json() == {"app_id": "app-1", "name": "x", "count": 2}
    assert response.headers["X-Request-Id"]


async def test_validation_errors_name_each_bad_field(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/apps/app-1/things", json={"name": "", "extra": 1}, headers=bearer()
    )
    body = await problem(response, 422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"name", "count", "extra"}


async def test_bad_path_and_query_values_are_validation_errors(
    client: TestClient[Any, Any],
) -> None:
    body = await problem(
        await client.get("/v1/apps/bad%20id/things?limit=0", headers=bearer()),
        422,
        "validation_error",
    )
    assert body["errors"][0]["location"] == "path"
    body = await problem(
        await client.get("/v1/apps/ok/things?limit=0", headers=bearer()), 422, "validation_error"
    )
    assert body["errors"][0] == {
        "field": "limit",
        "location": "query",
        "message": "Input should be greater than or equal to 1",
        "type": "greater_than_equal",
    }


async def test_malformed_json_wrong_type_and_oversized_bodies_are_clear_4xx(
    client: TestClient[Any, Any],
) -> None:
    url, headers = "/v1/apps/app-1/things", bearer()
    await problem(
        await client.post(
            url, data="{not json", headers={**headers, "Content-Type": "application/json"}
        ),
        400,
        "malformed_json",
    )
    await problem(
        await client.post(url, data="name=x", headers={**headers, "Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    await problem(
        await client.post(url, json={"name": "x" * 5000, "count": 1}, headers=headers),
        413,
        "payload_too_large",
    )
    await problem(
        await client.post(url, data="", headers={**headers, "Content-Type": "application/json"}),
        400,
        "bad_request",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "count": "2"}, "count"),
        ({"name": "x", "count": True}, "count"),
        ({"name": "x", "count": 2.5}, "count"),
        ({"name": "x", "count": 2, "urgent": 0}, "urgent"),
        ({"name": "x", "count": 2, "urgent": "true"}, "urgent"),
        ({"name": 7, "count": 2}, "name"),
    ],
    ids=[
        "string-for-int",
        "bool-for-int",
        "fraction-for-int",
        "int-for-bool",
        "text-for-bool",
        "int-for-string",
    ],
)
async def test_a_json_body_of_the_wrong_json_type_is_refused_not_coerced(
    client: TestClient[Any, Any], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/apps/app-1/things", json=body, headers=bearer())
    problem_body = await problem(response, 422, "validation_error")
    assert [e["field"] for e in problem_body["errors"]] == [field]


async def test_a_whole_number_is_an_integer_as_json_schema_has_it(
    client: TestClient[Any, Any],
) -> None:
    response = await client.post(
        "/v1/apps/app-1/things",
        data='{"name": "x", "count": 2.0}',
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert response.status == 201
    assert (await response.json())["count"] == 2


async def test_a_declared_header_left_out_is_a_bug_not_a_silent_drift(
    client: TestClient[Any, Any],
) -> None:
    await problem(
        await client.post("/v1/apps/app-1/moved", headers=bearer()), 500, "internal_error"
    )


def test_headers_for_a_status_a_route_never_answers_are_refused_at_declaration() -> None:
    declare = ApiRoutes().get(
        "/x", summary="x", responses={200: None}, headers={302: {"Location": Header("?")}}
    )
    with pytest.raises(ValueError, match="never answers"):
        declare(boom)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_a_form_body_is_read_from_the_urlencoded_form(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/notes/app-1", data="text=hello&tag=", headers=FORM, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/notes/app-1/hello"


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (
            b"text=hi",
            {"Content-Type": "application/json"},
            415,
            "application/x-www-form-urlencoded",
        ),
        (b"text=hi", {}, 415, "application/x-www-form-urlencoded"),
        (b"text=" + b"a" * 9000, FORM, 413, "larger than 8192 bytes"),
        (b"text=a&text=b", FORM, 400, "sent twice"),
        (b"text=%ff", FORM, 400, "not UTF-8"),
        (b"&".join(b"f%d=v" % i for i in range(20)), FORM, 400, "more than 16 fields"),
        (b"tag=x", FORM, 400, "has no text"),
        (b"text=", FORM, 400, "Invalid value for text"),
        (b"text=hi&extra=1", FORM, 400, "Invalid value for extra"),
    ],
    ids=[
        "json",
        "no-type",
        "too-large",
        "twice",
        "not-utf8",
        "too-many",
        "missing",
        "empty",
        "unknown",
    ],
)
async def test_a_bad_form_to_a_page_route_is_a_4xx_page_saying_why(
    client: TestClient[Any, Any], body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    response = await client.post("/notes/app-1", data=body, headers=headers, allow_redirects=False)
    assert response.status == status
    assert response.content_type == "text/html"
    assert says in await response.text()


async def test_a_bad_path_of_a_page_route_is_a_400_page_not_a_422(
    client: TestClient[Any, Any],
) -> None:
    response = await client.post("/notes/bad%20id", data="text=hi", headers=FORM)
    assert (response.status, response.content_type) == (400, "text/html")


async def test_unknown_routes_and_methods_are_problems(client: TestClient[Any, Any]) -> None:
    await problem(await client.get("/nowhere"), 404, "not_found")
    await problem(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_a_service_error_keeps_its_code(client: TestClient[Any, Any]) -> None:
    body = await problem(
        await client.get("/v1/apps/missing/things", headers=bearer()), 404, "thing_not_found"
    )
    assert body["detail"] == "No thing here"


async def test_an_unexpected_exception_is_a_bare_500_logged_with_its_trace(
    client: TestClient[Any, Any],
) -> None:
    stream = io.StringIO()
    configure_logging("demo", "INFO", stream=stream)
    response = await client.get("/v1/boom", headers=bearer())
    body = await problem(response, 500, "internal_error")
    assert "hunter2" not in json.dumps(body)
    assert "RuntimeError" not in json.dumps(body)
    assert "Traceback" in stream.getvalue()


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthenticated"),
        ({"Authorization": "Basic abc"}, 401, "unauthenticated"),
        ({"Authorization": "Bearer not-a-jwt"}, 401, "unauthenticated"),
        (
            {"Authorization": f"Bearer {mint_token(SECRET, 'c', [Scope.READ], ttl_seconds=-120)}"},
            401,
            "unauthenticated",
        ),
        (
            {"Authorization": f"Bearer {mint_token(OTHER_SECRET, 'c', [Scope.READ])}"},
            401,
            "unauthenticated",
        ),
        (bearer([Scope.WRITE]), 403, "forbidden"),
        (bearer([Scope.READ], app_ids=["other-app"]), 403, "forbidden"),
    ],
    ids=[
        "missing",
        "not-bearer",
        "garbage",
        "expired",
        "wrong-signature",
        "wrong-scope",
        "wrong-app",
    ],
)
async def test_bad_tokens_are_refused_and_never_logged(
    client: TestClient[Any, Any], headers: dict[str, str], status: int, code: str
) -> None:
    stream = io.StringIO()
    configure_logging("demo", "DEBUG", stream=stream)
    await problem(await client.get("/v1/apps/app-1/things", headers=headers), status, code)
    token = headers.get("Authorization", "").partition(" ")[2]
    assert stream.getvalue()
    if token:
        assert token not in stream.getvalue()


async def test_a_token_without_exp_is_refused(client: TestClient[Any, Any]) -> None:
    token = jwt.encode({"sub": "c", "scope": "integrations:read"}, SECRET, algorithm="HS256")
    await problem(
        await client.get("/v1/apps/a/things", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthenticated",
    )


async def test_write_scope_does_not_imply_token_issuing(client: TestClient[Any, Any]) -> None:
    await problem(
        await client.post("/v1/tokens", headers=bearer([Scope.READ, Scope.WRITE])), 403, "forbidden"
    )
    response = await client.post("/v1/tokens", headers=bearer([Scope.ISSUE_TOKENS]))
    assert response.status == 200


async def test_the_app_restriction_allows_listed_apps(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/apps/app-1/things", headers=bearer(app_ids=["app-1"]))
    assert response.status == 200


async def test_openapi_describes_every_route_from_the_same_models(
    client: TestClient[Any, Any],
) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/asyncapi.json"),
        ("GET", "/v1/apps/{app_id}/things"),
        ("POST", "/v1/apps/{app_id}/things"),
        ("POST", "/v1/tokens"),
        ("GET", "/v1/boom"),
        ("POST", "/v1/apps/{app_id}/moved"),
        ("POST", "/notes/{app_id}"),
    }
    create = document["paths"]["/v1/apps/{app_id}/things"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_name.endswith("/ThingIn")
    assert document["components"]["schemas"]["ThingIn"]["required"] == ["name", "count"]
    listing = document["paths"]["/v1/apps/{app_id}/things"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"app_id", "limit"}
    assert "thing_not_found" in listing["responses"]["404"]["x-codes"]
    assert create["x-required-scope"] == "integrations:write"


async def test_openapi_documents_forms_pages_and_headers_as_they_are_served(
    client: TestClient[Any, Any],
) -> None:
    document = await (await client.get("/openapi.json")).json()
    note = document["paths"]["/notes/{app_id}"]["post"]
    schema = note["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert schema["$ref"].endswith("/Note")
    assert document["components"]["schemas"]["Note"]["required"] == ["text"]
    assert [p["name"] for p in note["parameters"]] == ["app_id"]
    responses = note["responses"]
    assert set(responses) == {"303", "400", "413", "415"}
    for status in ("400", "413", "415"):
        assert set(responses[status]["content"]) == {"text/html"}
    assert responses["400"]["x-codes"] == ["bad_request"]
    assert responses["303"]["headers"]["Location"]["required"] is True
    assert "security" not in note

    create = document["paths"]["/v1/apps/{app_id}/things"]["post"]
    assert set(create["responses"]["422"]["content"]) == {"application/problem+json"}
    assert create["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert create["responses"]["400"]["x-codes"] == ["malformed_json", "bad_request"]
    moved = document["paths"]["/v1/apps/{app_id}/moved"]["post"]
    assert moved["responses"]["201"]["headers"]["Location"]["schema"] == {"type": "string"}


async def test_metrics_count_requests_per_route_and_status(client: TestClient[Any, Any]) -> None:
    await client.get("/healthz")
    await client.get("/v1/apps/app-1/things")
    text = await (await client.get("/metrics")).text()
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'route="/v1/apps/{app_id}/things",status="401"' in text
    assert "http_request_duration_seconds_bucket" in text


async def test_readiness_is_503_while_mongodb_and_rabbitmq_are_not_reachable(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/readyz")
    assert response.status == 503
    assert await response.json() == {
        "status": "unavailable",
        "checks": {"mongodb": False, "rabbitmq": False},
    }
