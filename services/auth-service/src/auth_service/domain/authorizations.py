"""Authorizations: one browser dance from link to credential, and its rules.

Status moves pending → (site_selection_required →) completed | failed; a pending link past its
expiry reads as expired. The link, the OAuth state and the browser cookie are separate
capabilities (domain.secrets). Site binding never guesses: one site binds, several bind only
the one matching a hint, otherwise the user picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from platform_core.contract_types import AppSubject, Subject

AuthorizationStatus = Literal[
    "pending", "site_selection_required", "completed", "failed", "expired"
]
OPEN_STATUSES = ("pending", "site_selection_required")


class NoSites(ValueError):
    """The token reaches no site: nothing to bind the credential to."""


@dataclass(frozen=True)
class Site:
    cloud_id: str
    name: str
    url: str


def link_ttl_seconds(
    subject: Subject, requested: int | None, *, admin_default: int, user_default: int, maximum: int
) -> int:
    default = admin_default if isinstance(subject, AppSubject) else user_default
    return min(requested or default, maximum)


def effective_status(status: str, link_expires_at: datetime, clicked: bool, now: datetime) -> str:
    """A pending link nobody clicked in time is expired, whatever the stored status says."""
    if status == "pending" and not clicked and now >= link_expires_at:
        return "expired"
    return status


def parse_sites(body: Any) -> list[Site]:
    """accessible-resources: `[{"id", "name", "url", ...}]`, in no meaningful order."""
    if not isinstance(body, list):
        raise ValueError("accessible-resources did not answer a list")
    sites = []
    for item in body:
        if not isinstance(item, dict) or not item.get("id") or not item.get("url"):
            raise ValueError("accessible-resources answered an item without id or url")
        sites.append(Site(str(item["id"]), str(item.get("name") or item["url"]), str(item["url"])))
    return sites


def _normalise(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return (parts.hostname or "").lower()


def bind_site(sites: list[Site], hint: str | None) -> Site | None:
    """The site to bind, or None when the user must choose. Never the first of several."""
    if not sites:
        raise NoSites("the authorization reaches no site")
    if len(sites) == 1:
        return sites[0]
    if hint:
        wanted = _normalise(hint)
        matches = [s for s in sites if s.cloud_id == hint or _normalise(s.url) == wanted]
        if len(matches) == 1:
            return matches[0]
    return None
