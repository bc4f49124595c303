"""What the stand-in holds in memory: the sites with their Confluence spaces and content and
their Jira projects and issues, the request log, and the faults tests inject."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

DEFAULT_AVATAR = "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"
DEFAULT_SPACES = [
    {"key": "ENG", "name": "Engineering"},
    {"key": "TEAM", "name": "Team Space"},
]
DEFAULT_PROJECTS = [{"key": "ENG", "name": "Engineering"}]
DEFAULT_ISSUE_TYPES = [("Task", "A small, distinct piece of work."), ("Bug", "A problem or error.")]
DEFAULT_SITES = [
    {
        "id": "1324a887-45db-1bf4-1e99-ef0ff456d421",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    }
]
# The account that "created" the seeded spaces and projects.
SEED_ACCOUNT = "557058:0b5c6a2e-seed-4f1e-9d3a-000000000000"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Confluence ---------------------------------------------------------------------------


@dataclass
class Space:
    id: str
    key: str
    name: str
    created: str


@dataclass
class Content:
    """A page, blog post or footer comment (`type` is "page", "blogpost" or "comment")."""

    id: str
    type: str
    title: str
    space_key: str
    body: str
    representation: str
    author: str
    created: str
    status: str = "current"
    version: int = 1
    updated: str = ""
    updated_by: str = ""
    parent_id: str | None = None
    container_id: str | None = None
    parent_comment_id: str | None = None


# --- Jira ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    description: str


@dataclass
class Project:
    id: str
    key: str
    name: str
    issue_types: list[IssueType]
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_key(self) -> str:
        return f"{self.key}-{next(self._numbers)}"

    def issue_type(self, name: str | None, type_id: str | None) -> IssueType | None:
        for candidate in self.issue_types:
            if candidate.id == type_id or (type_id is None and candidate.name == name):
                return candidate
        return None


@dataclass
class IssueComment:
    id: str
    author: str
    body: dict[str, Any]
    created: str


@dataclass
class Issue:
    id: str
    key: str
    project_key: str
    issue_type: IssueType
    summary: str
    description: dict[str, Any] | None
    reporter: str
    created: str
    updated: str
    status: str = "To Do"
    comments: list[IssueComment] = field(default_factory=list)


# --- sites --------------------------------------------------------------------------------


@dataclass
class Site:
    """One Atlassian site (cloud id): its Confluence and its Jira."""

    info: dict[str, Any]
    spaces: dict[str, Space] = field(default_factory=dict)
    contents: dict[str, Content] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    issues: dict[str, Issue] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(65537))
    _issue_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10000))
    _issue_comment_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10000))

    @property
    def cloud_id(self) -> str:
        return str(self.info["id"])

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def wiki(self) -> str:
        return f"{self.url}/wiki"

    def next_id(self) -> str:
        return str(next(self._ids))

    def next_issue_id(self) -> str:
        return str(next(self._issue_ids))

    def next_issue_comment_id(self) -> str:
        return str(next(self._issue_comment_ids))

    def space_by_id(self, space_id: str) -> Space | None:
        return next((s for s in self.spaces.values() if s.id == space_id), None)

    def issue(self, id_or_key: str) -> Issue | None:
        found = self.issues.get(id_or_key)
        if found is None:
            wanted = id_or_key.upper()
            found = next((i for i in self.issues.values() if i.key == wanted), None)
        return found

    def seed(self, raw: dict[str, Any]) -> None:
        if not self.spaces:
            for number, seed in enumerate(raw.get("spaces") or DEFAULT_SPACES):
                space = Space(str(98305 + number), str(seed["key"]), str(seed["name"]), now_iso())
                self.spaces[space.key] = space
        if not self.projects:
            for number, seed in enumerate(raw.get("projects") or DEFAULT_PROJECTS):
                base = 10001 + 10 * number
                types = [
                    IssueType(str(base + offset), name, text)
                    for offset, (name, text) in enumerate(DEFAULT_ISSUE_TYPES)
                ]
                key = str(seed["key"]).upper()
                self.projects[key] = Project(str(10000 + number), key, str(seed["name"]), types)


def _site_info(raw: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in ("id", "name", "url") if not raw.get(key)]
    if missing:
        raise ValueError(f"site {raw!r} lacks {', '.join(missing)}")
    return {
        "id": str(raw["id"]),
        "name": str(raw["name"]),
        "url": str(raw["url"]).rstrip("/"),
        "scopes": raw.get("scopes"),
        "avatarUrl": raw.get("avatarUrl", DEFAULT_AVATAR),
    }


# --- faults -------------------------------------------------------------------------------


@dataclass
class RateLimit:
    """The next `remaining` API calls answer `status` (429 or 503)."""

    remaining: int
    status: int = 429
    retry_after: int | None = None
    answered: int = 0


@dataclass
class Faults:
    rate_limit: RateLimit | None = None
    # sha256 of refused access tokens: the log and the state never hold a token itself.
    refused_tokens: set[str] = field(default_factory=set)


class FakeState:
    def __init__(self, idp_control_url: str, sites: list[dict[str, Any]]) -> None:
        base = idp_control_url.rstrip("/")
        self.introspect_url = (
            f"{base}/introspect" if base.endswith("/__control") else f"{base}/__control/introspect"
        )
        self.sites: dict[str, Site] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults = Faults()
        self.http: aiohttp.ClientSession | None = None
        self.replace_sites(sites)

    def replace_sites(self, sites: list[dict[str, Any]]) -> None:
        """Set the site list; sites whose cloud id stays keep their content and issues."""
        replaced: dict[str, Site] = {}
        for raw in sites:
            info = _site_info(raw)
            site = self.sites.get(info["id"]) or Site(info)
            site.info = info
            site.seed(raw)
            replaced[info["id"]] = site
        self.sites = replaced

    def refuse(self, token: str) -> None:
        self.faults.refused_tokens.add(token_digest(token))

    def is_refused(self, token: str) -> bool:
        return token_digest(token) in self.faults.refused_tokens


STATE = web.AppKey("state", FakeState)
