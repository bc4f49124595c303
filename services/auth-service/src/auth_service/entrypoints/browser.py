"""The browser-facing routes of the dance (contract §2): /connect, /oauth/callback, /oauth/site.

They take no JWT; their capability is the link, the state, or the picker's selection token,
each bound to this browser by the HttpOnly, SameSite=Lax cookie set at /connect. They answer
HTML pages (or a redirect to an allowed return_url), never JSON.
"""

from __future__ import annotations

from aiohttp import web

from auth_service.entrypoints import pages
from auth_service.entrypoints.http import LINKS_KEY
from auth_service.service_layer.callback import Callbacks
from auth_service.service_layer.endings import Completed, PageError, SiteChoice
from platform_core.api import ApiRoutes

routes = ApiRoutes(tags=["browser"])

CALLBACKS_KEY = web.AppKey("callbacks", Callbacks)

BROWSER_COOKIE = "auth_browser"
SITE_PATH = "/oauth/site"
COOKIE_MAX_AGE = 24 * 3600


@routes.get(
    "/connect/{opaque}",
    summary="Start the consent: 302 to the identity provider (410 page for a used or expired link)",
    responses={302: None, 404: None, 410: None},
    public=True,
    html=True,
)
async def connect(request: web.Request) -> web.StreamResponse:
    try:
        redirect = await request.app[LINKS_KEY].start(
            request.match_info["opaque"], request.cookies.get(BROWSER_COOKIE)
        )
    except PageError as exc:
        return pages.page(exc.status, exc.title, exc.message, exc.code)
    response = web.Response(status=302, headers={"Location": redirect.url, **pages.HEADERS})
    response.set_cookie(
        BROWSER_COOKIE,
        redirect.browser_cookie,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=redirect.secure_cookie,
    )
    return response


@routes.get(
    "/oauth/callback",
    summary="The OAuth 2.0 redirect URI: check the state, exchange the code, bind the site",
    responses={200: None, 302: None, 400: None},
    public=True,
    html=True,
)
async def oauth_callback(request: web.Request) -> web.StreamResponse:
    try:
        outcome = await request.app[CALLBACKS_KEY].callback(
            dict(request.query), request.cookies.get(BROWSER_COOKIE)
        )
    except PageError as exc:
        return pages.page(exc.status, exc.title, exc.message, exc.code)
    return _answer(outcome)


@routes.post(
    SITE_PATH,
    summary="The site picker's form: bind the chosen site, or cancel",
    responses={200: None, 302: None, 400: None},
    public=True,
    html=True,
)
async def choose_site(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    selection = form.get("selection")
    if not isinstance(selection, str) or not selection:
        return pages.page(400, "Nothing chosen", "The form was incomplete.", "invalid_request")
    cloud_id = form.get("cloud_id")
    chosen = cloud_id if isinstance(cloud_id, str) and not form.get("cancel") else None
    try:
        outcome = await request.app[CALLBACKS_KEY].choose_site(
            selection, chosen, request.cookies.get(BROWSER_COOKIE)
        )
    except PageError as exc:
        return pages.page(exc.status, exc.title, exc.message, exc.code)
    return _answer(outcome)


def _answer(outcome: Completed | SiteChoice) -> web.StreamResponse:
    if isinstance(outcome, SiteChoice):
        return pages.site_picker(SITE_PATH, outcome.display_name, outcome.sites, outcome.selection)
    if outcome.return_url:
        separator = "&" if "?" in outcome.return_url else "?"
        location = (
            f"{outcome.return_url}{separator}status=connected"
            f"&authorization_id={outcome.authorization_id}"
        )
        return web.Response(status=302, headers={"Location": location, **pages.HEADERS})
    return pages.success(outcome.display_name, outcome.site)
