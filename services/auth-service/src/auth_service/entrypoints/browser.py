"""The browser-facing routes of the dance (contract §2): /connect, /oauth/callback, /oauth/site.

They take no JWT; their capability is the link (with its page's form token), the state, or the
picker's selection token, each bound to this browser by the HttpOnly, SameSite=Lax cookie set
when the person continues: `__Host-auth_browser` on an https origin (Secure, Path=/, no Domain,
so no other host can set or read it), living no longer than the state it guards.

Their inputs are the models of `entrypoints.forms`, read and validated by `ApiRoutes` (a form
that is not one, too large, not UTF-8 or with a field twice is refused there). They answer HTML
pages (or a redirect to an allowed return_url), never JSON, and never a 500: whatever fails (bad
input, a provider answering garbage, a bug) becomes a readable 4xx page, the unexpected with its
trace in the log only. Each client address gets RATE_LIMIT_PER_MINUTE requests across these
routes (entrypoints.limits), counted before anything is read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from aiohttp import web

from auth_service.entrypoints import pages
from auth_service.entrypoints.forms import CallbackQuery, ConnectForm, LinkPath, SiteForm
from auth_service.entrypoints.http import LINKS_KEY
from auth_service.entrypoints.limits import LIMITS_KEY
from auth_service.service_layer.callback import Callbacks
from auth_service.service_layer.endings import Completed, PageError, SiteChoice
from platform_core.api import ApiRoutes, Header, View
from platform_core.errors import ProblemError
from platform_core.logs import get_logger

log = get_logger("auth_service.browser")

CALLBACKS_KEY = web.AppKey("callbacks", Callbacks)

SITE_PATH = "/oauth/site"
RETRY_AFTER = {"Retry-After": Header("Seconds until this client may send one more request")}


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


def browser_route(view: View) -> View:
    """Rate-limit a browser route, and turn every failure it meets (its input's included) into a
    4xx page."""

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


routes = ApiRoutes(tags=["browser"], guard=browser_route)


@routes.get(
    "/connect/{opaque}",
    summary="The link's confirmation page: what will be connected, and one Continue button",
    responses={200: None, 400: None, 404: None, 410: None, 429: None},
    public=True,
    html=True,
    headers={429: RETRY_AFTER},
)
async def connect_page(request: web.Request, path: LinkPath) -> web.StreamResponse:
    shown = await request.app[LINKS_KEY].confirmation(path.opaque)
    return pages.confirm(
        f"/connect/{quote(path.opaque, safe='')}",
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
    headers={
        302: {
            "Location": Header("The identity provider's authorization URL"),
            "Set-Cookie": Header("The cookie binding the state to this browser"),
        },
        429: RETRY_AFTER,
    },
)
async def connect(request: web.Request, path: LinkPath, body: ConnectForm) -> web.StreamResponse:
    cookie = request.app[COOKIE_KEY]
    redirect = await request.app[LINKS_KEY].start(
        path.opaque, body.form_token, cookie.read(request)
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
    headers={
        200: {"Set-Cookie": Header("With the site picker: the cookie, renewed", required=False)},
        302: {"Location": Header("The allowed return_url, with status and authorization_id")},
        429: RETRY_AFTER,
    },
)
async def oauth_callback(request: web.Request, query: CallbackQuery) -> web.StreamResponse:
    cookie = request.app[COOKIE_KEY]
    browser = cookie.read(request)
    outcome = await request.app[CALLBACKS_KEY].callback(
        query.model_dump(exclude_none=True), browser
    )
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
    headers={
        302: {"Location": Header("The allowed return_url, with status and authorization_id")},
        429: RETRY_AFTER,
    },
)
async def choose_site(request: web.Request, body: SiteForm) -> web.StreamResponse:
    chosen = body.cloud_id if body.cloud_id and not body.cancel else None
    outcome = await request.app[CALLBACKS_KEY].choose_site(
        body.selection, chosen, request.app[COOKIE_KEY].read(request)
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
