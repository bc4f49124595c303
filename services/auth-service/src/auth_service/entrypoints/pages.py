"""The HTML pages a person sees during the dance: the confirmation behind a link, success, each
failure, and the site picker.

Small, readable, every dynamic value escaped, never a secret. They carry no script, and tell
the browser not to cache or frame them. The confirmation page's form may lead to the identity
provider (its POST answers a redirect there), so its `form-action` names that origin too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

from aiohttp import web

from auth_service.domain.authorization import Site

CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# An origin that can stand in a CSP source list as it is (no space, quote, semicolon or comma).
_PLAIN_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "color:#172b4d}h1{font-size:1.5rem}button{font-size:1rem;margin:.25rem 0;padding:.4rem 1rem}"
    "code{background:#f4f5f7;padding:0 .25rem}"
)


def render(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def page(
    status: int,
    title: str,
    message: str,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    detail = f"<p>Error code: <code>{escape(code)}</code></p>" if code else ""
    body = f"<h1>{escape(title)}</h1><p>{escape(message)}</p>{detail}"
    if status >= 400:
        body += "<p>You can close this window and try again from the app.</p>"
    return web.Response(
        status=status,
        text=render(title, body),
        content_type="text/html",
        headers={**HEADERS, **(headers or {})},
    )


def confirm(
    action: str,
    *,
    display_name: str,
    app_label: str,
    user_id: str | None,
    form_token: str,
    identity_provider_origin: str,
) -> web.Response:
    """One "Continue" button, posting the form token back to the link."""
    who = f" for <strong>{escape(user_id)}</strong>" if user_id else ""
    body = (
        f"<h1>Connect {escape(display_name)}</h1>"
        f"<p><strong>{escape(app_label)}</strong> asks to connect to "
        f"{escape(display_name)}{who}.</p>"
        f"<p>Continue to sign in to {escape(display_name)} and approve the access.</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="form_token" value="{escape(form_token)}">'
        '<p><button type="submit">Continue</button></p></form>'
    )
    csp = CSP
    if _PLAIN_ORIGIN.fullmatch(identity_provider_origin):
        csp = f"{CSP} {identity_provider_origin}"
    return web.Response(
        text=render(f"Connect {display_name}", body),
        content_type="text/html",
        headers={**HEADERS, "Content-Security-Policy": csp},
    )


def success(display_name: str, site: Site | None) -> web.Response:
    where = f" to <strong>{escape(site.name)}</strong> ({escape(site.url)})" if site else ""
    body = (
        "<h1>Integration Successful</h1>"
        f"<p>You're connected{where}: {escape(display_name)} is ready to use.</p>"
        "<p>You can close this window.</p>"
    )
    return web.Response(
        text=render("Integration Successful", body), content_type="text/html", headers=HEADERS
    )


def site_picker(action: str, display_name: str, sites: list[Site], selection: str) -> web.Response:
    choices = "".join(
        f'<p><button type="submit" name="cloud_id" value="{escape(site.cloud_id)}">'
        f"{escape(site.name)} &mdash; {escape(site.url)}</button></p>"
        for site in sites
    )
    body = (
        f"<h1>Choose a site</h1><p>Your account reaches several sites. Which one should "
        f"{escape(display_name)} use?</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="selection" value="{escape(selection)}">'
        f'{choices}<p><button type="submit" name="cancel" value="1">Cancel</button></p></form>'
    )
    return web.Response(
        text=render("Choose a site", body), content_type="text/html", headers=HEADERS
    )
