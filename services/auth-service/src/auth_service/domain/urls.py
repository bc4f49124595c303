"""Which URLs auth-service accepts: where provider calls may go, and where a browser may return.

Provider URLs follow `platform_core.addresses`, the platform's one rule (contract §2: https, or
plain http to a loopback host only when insecure URLs are allowed; an IP literal must be a
public address; what a name resolves to is judged when it is resolved).

Return URLs (the redirect after a consent) are matched against RETURN_URL_ALLOWLIST on their
parsed parts, never as text: the scheme, the host and the port must be an entry's, and the path
must be the entry's path or go below it at a `/` (RFC 3986 §3). What parsers and browsers read
differently is refused before any match: control characters and whitespace (a CR/LF would also
split the Location header), backslashes (WHATWG URL reads them as `/`), non-ASCII text, dot
segments (a browser resolves `/allowed/../elsewhere`), and credentials (`https://allowed@evil`
goes to `evil`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from platform_core.addresses import MAX_URL_LENGTH, check_provider_destination

DEFAULT_PORTS = {"http": 80, "https": 443}


def check_provider_url(url: str, *, allow_insecure: bool) -> str:
    """Return `url` if a provider call may be aimed at it (judged without resolving), else
    raise ValueError saying why."""
    return check_provider_destination(url, allow_insecure_loopback=allow_insecure)


class MalformedReturnUrl(ValueError):
    """A return URL that is not one clean absolute http(s) URL; the message says why."""


@dataclass(frozen=True)
class ReturnUrlRule:
    """One allowlist entry: its scheme, host, port and path (no trailing `/`; empty: any)."""

    scheme: str
    host: str
    port: int
    path: str

    def allows(self, target: _Parsed) -> bool:
        if (target.scheme, target.host, target.port) != (self.scheme, self.host, self.port):
            return False
        return not self.path or target.path == self.path or target.path.startswith(f"{self.path}/")


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    path: str
    has_credentials: bool
    has_query_or_fragment: bool


def _parse(url: str) -> _Parsed:
    if len(url) > MAX_URL_LENGTH:
        raise MalformedReturnUrl(f"must be at most {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise MalformedReturnUrl("must be ASCII, without whitespace or control characters")
    if "\\" in url:
        raise MalformedReturnUrl("must not contain a backslash")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise MalformedReturnUrl("must be an absolute URL with a valid host and port") from None
    if parts.scheme not in DEFAULT_PORTS or not host:
        raise MalformedReturnUrl("must be an absolute http or https URL with a host")
    if any(unquote(segment) in {".", ".."} for segment in parts.path.split("/")):
        raise MalformedReturnUrl("must not contain . or .. path segments")
    return _Parsed(
        scheme=parts.scheme,
        host=host.lower(),
        port=port or DEFAULT_PORTS[parts.scheme],
        path=parts.path,
        has_credentials=parts.username is not None or parts.password is not None,
        has_query_or_fragment="?" in url or "#" in url,
    )


def parse_return_allowlist(raw: str) -> tuple[ReturnUrlRule, ...]:
    """RETURN_URL_ALLOWLIST's comma-separated entries; ValueError naming the first bad entry by
    its position (never echoing it)."""
    rules = []
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue
        try:
            parsed = _parse(entry)
        except MalformedReturnUrl as exc:
            raise ValueError(f"entry {position} {exc}") from None
        if parsed.has_credentials or parsed.has_query_or_fragment:
            raise ValueError(f"entry {position} must have no credentials, query or fragment")
        rules.append(
            ReturnUrlRule(parsed.scheme, parsed.host, parsed.port, parsed.path.rstrip("/"))
        )
    return tuple(rules)


def allowed_return_url(url: str, rules: tuple[ReturnUrlRule, ...]) -> bool:
    """Whether a browser may be sent to `url`; raises MalformedReturnUrl for a URL that is not
    one clean absolute http(s) URL, whatever the allowlist holds."""
    target = _parse(url)
    if target.has_credentials:
        return False
    return any(rule.allows(target) for rule in rules)
