"""The browser-facing routes of the dance (contract §2): /connect, /oauth/callback, /oauth/site.

They take no JWT; their capability is the link (with its page's form token), the state, or the
picker's selection token, each bound to this browser by the HttpOnly, SameSite=Lax cookie set
when the person continues: `__Host-auth_browser` on an https origin (Secure, Path=/, no Domain,
so no other host can set or read it), living no longer than the state it guards.

They answer HTML pages (or a redirect to an allowed return_url), never JSON, and never a 500:
whatever fails (a form that is not one, too large, not UTF-8, a provider answering garbage, a
bug) becomes a readable 4xx page, the unexpected with its trace in the log only. Each client
address gets RATE_LIMIT_PER_MINUTE requests across these routes (entrypoints.limits).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from aiohttp import web

from auth_service.entrypoints import pages
from auth_service.entrypoints.http import LINKS_KEY
from auth_service.entrypoints.limits import LIMITS_KEY
from auth_service.service_layer.callback import Callbacks
from auth_service.service_layer.endings import Completed, PageError, SiteChoice
from platform_core.api import ApiRoutes
from platform_core.errors import ProblemError
from platform_core.logs import get_logger

log = get_logger("auth_service.browser")

routes = ApiRoutes(tags=["browser"])

CALLBACKS_KEY = web.AppKey("callbacks", Callbacks)

SITE_PATH = "/oauth/site"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 8 * 1024
MAX_FORM_FIELDS = 16


@dataclass(frozen=True)
class BrowserCookie:
    name: str
    secure: bool
    max_age: int

    @classmethod
    def for_origin(cls, secure: bool, state_ttl_seconds: int) -> BrowserCookie:
        return cls("__Host-auth_browser" if secure else "auth_browser", secure, state_ttl_seconds)

    def read(self, request: web.Request) -> str | None:
        return request.cookies.get(self.name)

    def set_on(self, response: web.StreamResponse, value: str) -> None:
        response.set_cookie(
            self.name,
            value,
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.secure,
        )


COOKIE_KEY = web.AppKey("browser_cookie", BrowserCookie)

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def browser_route(view: View) -> View:
    """Rate-limit a browser route, and turn every failure it meets into a 4xx page."""

    @functools.wraps(view)
    async def guarded(request: web.Request) -> web.StreamResponse:
        limits = request.app[LIMITS_KEY]
        wait = limits.browser.take(limits.client_address(request))
        if wait is not None:
            return pages.page(
                429,
                "Too many requests",
                "Wait a moment, then try again.",
                "too_many_requests",
                headers={"Retry-After": str(wait)},
            )
        try:
            return await view(request)
        except PageError as exc:
            return pages.page(exc.status, exc.title, exc.message, exc.code)
        except ProblemError as exc:
            status = exc.status if 400 <= exc.status < 500 else 400
            return pages.page(status, exc.title, exc.detail, exc.code)
        except Exception:
            log.exception("browser_route_failed", route=request.path.split("/")[1])
            return pages.page(
                400, "Something went wrong", "This step could not be completed.", "request_failed"
            )

    return guarded


async def read_form(request: web.Request) -> dict[str, str]:
    """A small urlencoded form (what this service's pages send), each field once; else a page
    saying what was wrong."""
    if request.content_type != FORM_CONTENT_TYPE:
        raise PageError(415, "Unexpected form", "Send the form from the page.", "unsupported_form")
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise PageError(413, "Form too large", "Send the form from the page.", "form_too_large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PageError(
            413, "Form too large", "Send the form from the page.", "form_too_large"
        ) from None
    if len(raw) > MAX_FORM_BYTES:
        raise PageError(413, "Form too large", "Send the form from the page.", "form_too_large")
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except ValueError:  # UnicodeDecodeError included
        raise PageError(
            400, "Unreadable form", "Send the form from the page.", "invalid_form"
        ) from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise PageError(400, "Unreadable form", "A field was sent twice.", "invalid_form")
    return form


@routes.get(
    "/connect/{opaque}",
    summary="The link's confirmation page: what will be connected, and one Continue button",
    responses={200: None, 404: None, 410: None, 429: None},
    public=True,
    html=True,
)
@browser_route
async def connect_page(request: web.Request) -> web.StreamResponse:
    opaque = request.match_info["opaque"]
    shown = await request.app[LINKS_KEY].confirmation(opaque)
    return pages.confirm(
        f"/connect/{quote(opaque, safe='')}",
        display_name=shown.display_name,
        app_label=shown.app_label,
        user_id=shown.user_id,
        form_token=shown.form_token,
        identity_provider_origin=shown.identity_provider_origin,
    )


@routes.post(
    "/connect/{opaque}",
    summary="Continue: spend the link, 302 to the identity provider with state and PKCE",
    responses={302: None, 400: None, 404: None, 410: None, 413: None, 415: None, 429: None},
    public=True,
    html=True,
)
@browser_route
async def connect(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    cookie = request.app[COOKIE_KEY]
    redirect = await request.app[LINKS_KEY].start(
        request.match_info["opaque"], form.get("form_token"), cookie.read(request)
    )
    response = web.Response(status=302, headers={"Location": redirect.url, **pages.HEADERS})
    cookie.set_on(response, redirect.browser_cookie)
    return response


@routes.get(
    "/oauth/callback",
    summary="The OAuth 2.0 redirect URI: check the state, exchange the code, bind the site",
    responses={200: None, 302: None, 400: None, 429: None},
    public=True,
    html=True,
)
@browser_route
async def oauth_callback(request: web.Request) -> web.StreamResponse:
    cookie = request.app[COOKIE_KEY]
    browser = cookie.read(request)
    outcome = await request.app[CALLBACKS_KEY].callback(dict(request.query), browser)
    response = _answer(outcome)
    if isinstance(outcome, SiteChoice) and browser is not None:
        cookie.set_on(response, browser)  # the picker has a state lifetime of its own
    return response


@routes.post(
    SITE_PATH,
    summary="The site picker's form: bind the chosen site, or cancel",
    responses={200: None, 302: None, 400: None, 413: None, 415: None, 429: None},
    public=True,
    html=True,
)
@browser_route
async def choose_site(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    selection = form.get("selection")
    if not selection:
        return pages.page(400, "Nothing chosen", "The form was incomplete.", "invalid_request")
    cloud_id = form.get("cloud_id")
    chosen = cloud_id if cloud_id and not form.get("cancel") else None
    outcome = await request.app[CALLBACKS_KEY].choose_site(
        selection, chosen, request.app[COOKIE_KEY].read(request)
    )
    return _answer(outcome)


def _answer(outcome: Completed | SiteChoice) -> web.StreamResponse:
    if isinstance(outcome, SiteChoice):
        return pages.site_picker(SITE_PATH, outcome.display_name, outcome.sites, outcome.selection)
    if outcome.return_url:
        location = _with_query(
            outcome.return_url,
            {"status": "connected", "authorization_id": outcome.authorization_id},
        )
        return web.Response(status=302, headers={"Location": location, **pages.HEADERS})
    return pages.success(outcome.display_name, outcome.site)


def _with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query (before any fragment)."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))
