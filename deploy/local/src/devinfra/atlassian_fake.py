"""The historical name of the Atlassian stand-in; `devinfra.atlassian` owns it now.

Kept so existing imports and `python -m devinfra.atlassian_fake --port --idp-url --sites` work.
"""

from __future__ import annotations

from devinfra.atlassian import (
    DEFAULT_SITES,
    DEFAULT_SPACES,
    HOST,
    KNOWN_SCOPES,
    AtlassianFake,
    AtlassianFakeProcess,
    FakeState,
    Site,
    create_atlassian_app,
    main,
)
from devinfra.atlassian.operations import (
    CONFLUENCE_CLASSIC_SCOPES,
    READ_CONTENT_ALL,
    READ_CONTENT_SUMMARY,
    READ_SPACE_SUMMARY,
    SEARCH,
    WRITE_CONTENT,
)

# The names the module had before it became a package.
WRITE = WRITE_CONTENT
READ_ALL = READ_CONTENT_ALL
READ_SUMMARY = READ_CONTENT_SUMMARY
READ_SPACES = READ_SPACE_SUMMARY
CONFLUENCE_SCOPES = list(CONFLUENCE_CLASSIC_SCOPES)

__all__ = [
    "CONFLUENCE_SCOPES",
    "DEFAULT_SITES",
    "DEFAULT_SPACES",
    "HOST",
    "KNOWN_SCOPES",
    "READ_ALL",
    "READ_SPACES",
    "READ_SUMMARY",
    "SEARCH",
    "WRITE",
    "AtlassianFake",
    "AtlassianFakeProcess",
    "FakeState",
    "Site",
    "create_atlassian_app",
    "main",
]

if __name__ == "__main__":
    main()
