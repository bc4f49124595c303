"""A stand-in for api.atlassian.com as it answers OAuth 2.0 (3LO) apps today.

It serves accessible-resources, Confluence Cloud REST v2 (pages, blog posts, footer comments,
spaces), what is left of Confluence v1 for OAuth apps (CQL search; the content and space
endpoints answer 410 Gone) and Jira Cloud REST v3 (issues, comments, JQL search), all behind a
gateway that checks bearer tokens against the local identity provider and the scopes of each
operation (`operations.OPERATIONS`). State lives in memory, per cloud id. Test control routes
live under `/__control` (see `control`).

Modules: `operations` (the route and scope table), `gateway` (log, rate limits, tokens, scopes),
`errors` (Atlassian's error bodies), `state`, `resources`, `confluence_v1`, `confluence_v2`,
`jira`, `control`, and `app` (the application, its runners and the command line).
"""

from devinfra.atlassian.app import (
    HOST,
    AtlassianFake,
    AtlassianFakeProcess,
    create_atlassian_app,
    main,
)
from devinfra.atlassian.operations import KNOWN_SCOPES, OPERATIONS, Api, Operation
from devinfra.atlassian.state import DEFAULT_SITES, DEFAULT_SPACES, FakeState, Site

__all__ = [
    "DEFAULT_SITES",
    "DEFAULT_SPACES",
    "HOST",
    "KNOWN_SCOPES",
    "OPERATIONS",
    "Api",
    "AtlassianFake",
    "AtlassianFakeProcess",
    "FakeState",
    "Operation",
    "Site",
    "create_atlassian_app",
    "main",
]
