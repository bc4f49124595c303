"""The body of a custom OAuth v2 profile (contract §2), as the tests create one."""

from __future__ import annotations

from typing import Any


def custom_profile_body(
    idp_base_url: str, client_id: str, client_secret: str, /, **changes: Any
) -> dict[str, Any]:
    """A Confluence profile for the identity provider at `idp_base_url` (Atlassian's paths)."""
    return {
        "name": "Team Confluence app",
        "integration": "confluence",
        "type": "oauth2",
        "idp_name": "Atlassian",
        "client_id": client_id,
        "client_secret": client_secret,
        "authorization_url": f"{idp_base_url}/authorize",
        "token_url": f"{idp_base_url}/oauth/token",
        "scopes": ["write:confluence-content", "offline_access"],
        **changes,
    }
