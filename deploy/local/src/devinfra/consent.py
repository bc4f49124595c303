"""A browser stand-in that walks the OAuth consent flow of the local identity provider.

It starts at our service's `/connect/...` link (or any URL that leads to the IdP's
`/authorize`, or the authorize URL itself). On the link's confirmation page (contract §2,
version 2: a form carrying a `form_token`) it presses Continue, as a person would; it then
signs in on oidc-provider's devInteractions login form (any login and password are accepted),
approves (or cancels) the consent form and follows the redirect back to the callback, all with
one cookie jar, like a browser would. `follow_link` is the whole of a person's part: that, then
the site picker when one shows.

The session must keep cookies for IP hosts: `aiohttp.ClientSession(cookie_jar=
aiohttp.CookieJar(unsafe=True))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp

REDIRECTS = {301, 302, 303, 307, 308}
MAX_STEPS = 20
CONFIRMATION_FIELD = "form_token"  # what marks auth-service's confirmation page's form


class ConsentFlowError(RuntimeError):
    """The flow did not look like the IdP's devInteractions pages, or looped."""


@dataclass(frozen=True)
class ConsentResult:
    """Where the flow ended.

    When `stopped` is True, `url` is the URL the browser was about to request (it starts with
    `stop_at_prefix`), `status` is the redirect status that pointed there and `text` is empty.
    """

    status: int
    url: str
    text: str
    visited: list[str] = field(default_factory=list)
    stopped: bool = False

    @property
    def query(self) -> dict[str, str]:
        """The query parameters of `url` (e.g. code/state or error on the callback)."""
        return dict(parse_qsl(urlsplit(self.url).query))


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)


class _PageParser(HTMLParser):
    """Collects forms (with their named inputs) and link targets of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.links: list[str] = []
        self._form: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = _Form(attr.get("action", ""), attr.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attr.get("name"):
            if attr.get("type", "").lower() in {"radio", "checkbox"}:
                self._form.choices.setdefault(attr["name"], []).append(attr.get("value", ""))
            else:
                self._form.fields[attr["name"]] = attr.get("value", "")
        elif tag == "button" and self._form is not None and attr.get("name"):
            self._form.choices.setdefault(attr["name"], []).append(attr.get("value", ""))
        elif tag == "a" and attr.get("href"):
            self.links.append(attr["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _parse(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


def _confirmation_form(page: _PageParser) -> _Form | None:
    """The one POST form of auth-service's confirmation page, if this page is that page."""
    return next(
        (f for f in page.forms if f.method == "post" and CONFIRMATION_FIELD in f.fields), None
    )


async def complete_consent(
    session: aiohttp.ClientSession,
    authorization_url: str,
    *,
    deny: bool = False,
    login: str = "user-1",
    stop_at_prefix: str | None = None,
) -> ConsentResult:
    """Drive the flow from `authorization_url` (a `/connect/...` link, typically) to the final
    response, pressing Continue on the link's confirmation page on the way.

    `deny=True` signs in, then cancels at the consent page, so the IdP redirects to the
    callback with `error=access_denied`. With `stop_at_prefix`, the URL starting with it is
    returned unrequested (e.g. the callback, to replay it or call it from another browser).
    """
    url = authorization_url
    method = "GET"
    data: dict[str, str] | None = None
    visited: list[str] = []
    last_status = 0

    for _ in range(MAX_STEPS):
        if stop_at_prefix is not None and url.startswith(stop_at_prefix):
            return ConsentResult(last_status, url, "", visited, stopped=True)

        async with session.request(method, url, data=data, allow_redirects=False) as resp:
            visited.append(url)
            last_status = resp.status
            text = await resp.text()
            location = resp.headers.get("Location")

        if resp.status in REDIRECTS and location:
            url = urljoin(url, location)
            if resp.status not in (307, 308):
                method, data = "GET", None
            continue

        page = _parse(text) if resp.status == 200 else None
        confirm = _confirmation_form(page) if page else None
        if confirm is not None:
            url, method, data = urljoin(url, confirm.action), "POST", dict(confirm.fields)
            continue
        form = next((f for f in page.forms if "prompt" in f.fields), None) if page else None
        if page is None or form is None:
            return ConsentResult(resp.status, url, text, visited)

        prompt = form.fields["prompt"]
        if prompt == "consent" and deny:
            abort = next((link for link in page.links if link.rstrip("/").endswith("/abort")), None)
            if abort is None:
                raise ConsentFlowError(f"no cancel link on the consent page {url}")
            url, method, data = urljoin(url, abort), "GET", None
            continue
        if prompt == "login":
            form.fields.update(login=login, password="any-password")  # noqa: S106 - any is accepted
        elif prompt != "consent":
            raise ConsentFlowError(f"unexpected interaction prompt {prompt!r} at {url}")
        url, method, data = urljoin(url, form.action), form.method.upper(), dict(form.fields)

    raise ConsentFlowError(f"no final response after {MAX_STEPS} steps: {visited}")


async def choose_site(
    session: aiohttp.ClientSession, page: ConsentResult, cloud_id: str
) -> ConsentResult:
    """On a site picker page, submit the choice of the site `cloud_id`, as a person would.

    Works whether the page offers one form with a radio button or a button per site, or one
    form per site carrying the cloud id in a hidden field.
    """
    for form in _parse(page.text).forms:
        data = dict(form.fields)
        chosen = [name for name, values in form.choices.items() if cloud_id in values]
        if chosen:
            data[chosen[0]] = cloud_id
        elif cloud_id not in form.fields.values():
            continue
        url = urljoin(page.url, form.action)
        async with session.request(
            form.method.upper(), url, data=data, allow_redirects=False
        ) as resp:
            return ConsentResult(resp.status, url, await resp.text(), [*page.visited, url])
    raise ConsentFlowError(f"no form on {page.url} offers the site {cloud_id}")


async def follow_link(
    session: aiohttp.ClientSession,
    link: str,
    *,
    login: str = "admin",
    cloud_id: str | None = None,
) -> ConsentResult:
    """Follow a consent link like a browser: sign in as `login`, approve, and, when a site
    picker shows and `cloud_id` is given, choose that site."""
    result = await complete_consent(session, link, login=login)
    if cloud_id is not None and result.status == 200 and "<form" in result.text:
        result = await choose_site(session, result, cloud_id)
    return result
