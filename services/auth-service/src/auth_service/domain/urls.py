"""Which provider URLs are acceptable: https, or plain http to loopback when explicitly allowed."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 3000
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_provider_url(url: str, *, allow_insecure: bool) -> str:
    """Return `url` if acceptable, else raise ValueError saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValueError("must be an absolute URL with a host, no credentials or fragment")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_insecure and is_loopback(parts.hostname):
        return url
    raise ValueError("must use https (http only to a loopback host with insecure URLs allowed)")


def allowed_return_url(url: str, prefixes: tuple[str, ...]) -> bool:
    return any(url.startswith(prefix) for prefix in prefixes)
