"""auth-service's MongoDB collections, their indexes, and the document shapes they hold.

- `profiles`: custom OAuth 2.0 profiles; `client_secret` sealed by the vault.
- `authorizations`: one browser dance; link, state, selection and browser cookie stored only as
  SHA-256 hashes; the PKCE verifier and tokens awaiting a site choice sealed.
- `credentials`: one per app + integration + subject (unique); tokens sealed, `version` bumped
  by every write so refreshes can compare-and-set; `last_refreshed_at` is set by refreshes only
  (the force_refresh window), `tokens_obtained_at` by consents and refreshes (keep-alive).
- `refresh_leases`: the cross-replica refresh lease, one per credential being refreshed.
- `profile_usage`: which custom profile each configured (app, integration) uses, from events.
"""

from __future__ import annotations

from pymongo import ASCENDING

from platform_core.mongo import IndexSpec

PROFILES = "profiles"
AUTHORIZATIONS = "authorizations"
CREDENTIALS = "credentials"
LEASES = "refresh_leases"
USAGE = "profile_usage"

SEALED_CREDENTIAL_FIELDS = ("access_token", "refresh_token")
SEALED_AUTHORIZATION_FIELDS = ("code_verifier", "pending_access_token", "pending_refresh_token")
SEALED_PROFILE_FIELDS = ("client_secret",)


def _unique_string(field: str) -> dict[str, object]:
    return {"unique": True, "partialFilterExpression": {field: {"$type": "string"}}}


INDEXES = (
    IndexSpec(PROFILES, [("app_id", ASCENDING), ("created_at", ASCENDING)], "profiles_by_app"),
    IndexSpec(AUTHORIZATIONS, [("link_hash", ASCENDING)], "link_hash", _unique_string("link_hash")),
    IndexSpec(
        AUTHORIZATIONS, [("state_hash", ASCENDING)], "state_hash", _unique_string("state_hash")
    ),
    IndexSpec(
        AUTHORIZATIONS,
        [("selection_hash", ASCENDING)],
        "selection_hash",
        _unique_string("selection_hash"),
    ),
    IndexSpec(AUTHORIZATIONS, [("status", ASCENDING), ("sweep_at", ASCENDING)], "open_by_expiry"),
    IndexSpec(
        CREDENTIALS,
        [("app_id", ASCENDING), ("integration", ASCENDING), ("subject_key", ASCENDING)],
        "one_per_subject",
        {"unique": True},
    ),
    IndexSpec(
        CREDENTIALS,
        [("status", ASCENDING), ("tokens_obtained_at", ASCENDING)],
        "keepalive",
    ),
    IndexSpec(CREDENTIALS, [("profile.profile_id", ASCENDING)], "by_profile"),
    IndexSpec(LEASES, [("expires_at", ASCENDING)], "lease_expiry", {"expireAfterSeconds": 300}),
    IndexSpec(USAGE, [("profile_id", ASCENDING)], "usage_by_profile"),
)
