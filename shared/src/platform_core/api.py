"""Declaring HTTP routes once, so validation, authorization and OpenAPI come from one place.

A handler is an async function taking the request and, by keyword, any of `path`, `query` and
`body`, each annotated with a pydantic model. `ApiRoutes` reads those annotations: it validates
each part before the handler runs (422 `validation_error` naming each bad field, 400 for
malformed JSON, 415 for a wrong content type), enforces the route's scope and app restriction,
and hands the same models to the OpenAPI generator, so the document cannot drift from the code.

A JSON body is validated strictly, with JSON Schema's types, because the document promises
those: `0` is no boolean and `"5"` no integer, while `5.0` is the integer 5. A body model
deriving from `FormModel` is read as an HTML form instead (urlencoded UTF-8, each field once,
at most `max_bytes`). A route answering HTML pages (`html=True`) is read by a person, not a
program: any of its inputs that does not validate is one 400 (contract §2's pages), and a route
table's `guard` (say, one that renders failures as pages) wraps every view, input reading
included. `headers` names, per status, the response headers a route sends, for the document.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from platform_core.errors import (
    BadRequest,
    MalformedJson,
    PayloadTooLarge,
    ProblemError,
    UnsupportedMediaType,
    ValidationFailed,
)
from platform_core.service_auth import Caller, Scope

T = TypeVar("T")

AppId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

CALLER_KEY = web.RequestKey("caller", Caller)
MAX_BODY_KEY = web.AppKey("max_body_bytes", int)
INPUT_PARTS = ("path", "query", "body")

Handler = Callable[..., Awaitable["Reply | web.StreamResponse"]]
View = Callable[[web.Request], Awaitable[web.StreamResponse]]
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class RequestModel(BaseModel):
    """Base of every request body, query and path model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class FormModel(RequestModel):
    """Base of a body posted by an HTML form (application/x-www-form-urlencoded, UTF-8): the
    fields a page's form sends, each at most once, all strings."""

    max_bytes: ClassVar[int] = 8 * 1024
    max_fields: ClassVar[int] = 16


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Header:
    """A response header a route sends with one status, as the OpenAPI document shows it."""

    description: str
    required: bool = True


class PageQuery(RequestModel):
    """`?limit=` (1..200, default 50) and `?cursor=` of every list (contract §0)."""

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, min_length=1, max_length=200)


@dataclass(frozen=True)
class Reply:
    body: BaseModel | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    responses: Mapping[int, type[BaseModel] | None]
    scope: Scope | None
    errors: Sequence[type[ProblemError]]
    inputs: Mapping[str, type[BaseModel]]
    tags: Sequence[str]
    html: bool
    headers: Mapping[int, Mapping[str, Header]] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return self.scope is None


DEFAULT_SCOPE = {"GET": Scope.READ, "HEAD": Scope.READ}


class ApiRoutes:
    """A service's route table: what `install` serves is exactly what `openapi` describes."""

    def __init__(
        self, tags: Sequence[str] = (), guard: Callable[[View], View] | None = None
    ) -> None:
        self.endpoints: list[Endpoint] = []
        self._tags = tuple(tags)
        self._guard = guard

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        responses: Mapping[int, type[BaseModel] | None],
        scope: Scope | str | None = "default",
        errors: Sequence[type[ProblemError]] = (),
        public: bool = False,
        html: bool = False,
        headers: Mapping[int, Mapping[str, Header]] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            required = None if public else _resolve_scope(method, scope)
            answered = {*responses, *(error.status for error in errors)}
            if not set(headers or {}) <= answered:
                raise ValueError(f"{method} {path} declares headers for a status it never answers")
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    responses=responses,
                    scope=required,
                    errors=tuple(errors),
                    inputs=_input_models(handler),
                    tags=self._tags,
                    html=html,
                    headers=dict(headers or {}),
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)

    def install(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            view = _view(endpoint)
            app.router.add_route(
                endpoint.method, endpoint.path, self._guard(view) if self._guard else view
            )


def _resolve_scope(method: str, scope: Scope | str | None) -> Scope | None:
    if scope == "default":
        return DEFAULT_SCOPE.get(method, Scope.WRITE)
    return Scope(scope) if scope is not None else None


def _input_models(handler: Handler) -> dict[str, type[BaseModel]]:
    hints = typing.get_type_hints(handler)
    return {
        part: hints[part]
        for part in INPUT_PARTS
        if part in hints and isinstance(hints[part], type) and issubclass(hints[part], BaseModel)
    }


def _view(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def view(request: web.Request) -> web.StreamResponse:
        if endpoint.scope is not None:
            request[CALLER_KEY].require_scope(endpoint.scope)
        try:
            kwargs = {
                part: await _parse(request, part, model) for part, model in endpoint.inputs.items()
            }
        except ValidationFailed as exc:
            if not endpoint.html:
                raise
            raise BadRequest(_in_words(exc)) from None
        _check_app_access(request, kwargs)
        result = await endpoint.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        return _render(endpoint, result)

    view.__name__ = endpoint.handler.__name__
    return view


def _in_words(failed: ValidationFailed) -> str:
    """A page's one-line account of its bad input: what is missing, else what is not valid."""
    errors = failed.extra.get("errors", [])
    missing = [e["field"] for e in errors if e["type"] == "missing"]
    if missing:
        return f"The request has no {', '.join(missing)}."
    return f"{failed.detail}."


def _check_app_access(request: web.Request, inputs: Mapping[str, BaseModel]) -> None:
    caller = request.get(CALLER_KEY)
    if caller is None:
        return
    for model in inputs.values():
        app_id = getattr(model, "app_id", None)
        if isinstance(app_id, str):
            caller.require_app(app_id)


def _render(endpoint: Endpoint, reply: Reply) -> web.Response:
    declared = endpoint.responses.get(reply.status, ...)
    if (
        declared is ...
        or (reply.body is None) != (declared is None)
        or (declared is not None and not isinstance(reply.body, declared))
    ):
        raise TypeError(f"{endpoint.method} {endpoint.path} answered an undeclared {reply.status}")
    sent = {name.lower() for name in reply.headers}
    declared_headers = endpoint.headers.get(reply.status, {})
    if any(h.required and n.lower() not in sent for n, h in declared_headers.items()):
        raise TypeError(f"{endpoint.method} {endpoint.path} left out a header it declares")
    if reply.body is None:
        return web.Response(status=reply.status, headers=reply.headers)
    return web.Response(
        status=reply.status,
        body=reply.body.model_dump_json(),
        content_type="application/json",
        headers=reply.headers,
    )


async def _parse(request: web.Request, part: str, model: type[BaseModel]) -> BaseModel:
    try:
        if part == "path":
            return model.model_validate(dict(request.match_info))
        if part == "query":
            return model.model_validate(dict(request.query))
        if issubclass(model, FormModel):
            return model.model_validate(await _read_form(request, model))
        return _validate_json(model, await _read_json_bytes(request))
    except ValidationError as exc:
        raise _validation_problem(exc, part) from None


def _validate_json(model: type[BaseModel], raw: bytes) -> BaseModel:
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        if not any(e["type"] == "int_type" and _whole(e.get("input")) for e in exc.errors()):
            raise
        refused = exc
    # Strict mode refuses 5.0 for an int, which JSON Schema's `integer` counts as 5: read every
    # number without a fraction as an integer, and validate again.
    try:
        rewritten = json.dumps(_integers(json.loads(raw)))
    except (ValueError, RecursionError):  # what json cannot read or write back (huge numbers)
        raise refused from None
    return model.model_validate_json(rewritten, strict=True)


def _whole(value: object) -> bool:
    return isinstance(value, float) and value.is_integer()


def _integers(value: object) -> object:
    if _whole(value):
        return int(typing.cast(float, value))
    if isinstance(value, dict):
        return {key: _integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers(item) for item in value]
    return value


async def _read_form(request: web.Request, model: type[FormModel]) -> dict[str, str]:
    if request.content_type != FORM_CONTENT_TYPE:
        raise UnsupportedMediaType(f"Send the form as {FORM_CONTENT_TYPE}")
    too_large = PayloadTooLarge(f"The form is larger than {model.max_bytes} bytes")
    if (request.content_length or 0) > model.max_bytes:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(raw) > model.max_bytes:
        raise too_large
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=model.max_fields,
            errors="strict",
        )
    except ValueError:  # not UTF-8 (UnicodeDecodeError), or too many fields
        raise BadRequest(
            f"The form is not UTF-8 or has more than {model.max_fields} fields"
        ) from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise BadRequest("A field of the form was sent twice")
    return form


async def _read_json_bytes(request: web.Request) -> bytes:
    if request.content_type != "application/json" and not request.content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(
            f"The body is larger than {request.app[MAX_BODY_KEY]} bytes"
        ) from None
    if not raw.strip():
        raise BadRequest("This call needs a JSON object as its body")
    return raw


def _validation_problem(exc: ValidationError, part: str) -> ProblemError:
    errors = exc.errors(include_url=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return MalformedJson("The body is not valid JSON")
    return ValidationFailed(
        [
            {
                "field": ".".join(str(item) for item in error["loc"]) or part,
                "location": part,
                "message": error["msg"],
                "type": error["type"],
            }
            for error in errors
        ]
    )
