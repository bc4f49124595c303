"""A typed async client of the integrations platform's contract API (contract v2).

`IntegrationsClient` has one method per route of auth-service, integration-service and
template-service; `models` holds the bodies (strict requests, lenient responses), `errors`
one exception class per problem code, `tokens` the token function and its JWT minter,
`transport` the base URLs and the retry policy, `paging` the pager every list returns.
"""

from __future__ import annotations

from integrations_client import errors, models
from integrations_client.client import DEFAULT_TIMEOUT_SECONDS, IntegrationsClient
from integrations_client.errors import (
    ClientError,
    ProblemError,
    ServiceUnreachable,
    UnexpectedResponse,
)
from integrations_client.models import (
    REVEAL,
    AppSubject,
    CustomProfileRef,
    NewProfile,
    Page,
    ProfileChanges,
    SystemProfileRef,
    UserSubject,
)
from integrations_client.paging import Pager
from integrations_client.tokens import JwtMinter, Scope, ServiceName, TokenFunction, TokenRequest
from integrations_client.transport import NO_RETRIES, RetryPolicy, ServiceUrls

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "NO_RETRIES",
    "REVEAL",
    "AppSubject",
    "ClientError",
    "CustomProfileRef",
    "IntegrationsClient",
    "JwtMinter",
    "NewProfile",
    "Page",
    "Pager",
    "ProblemError",
    "ProfileChanges",
    "RetryPolicy",
    "Scope",
    "ServiceName",
    "ServiceUnreachable",
    "ServiceUrls",
    "SystemProfileRef",
    "TokenFunction",
    "TokenRequest",
    "UnexpectedResponse",
    "UserSubject",
    "errors",
    "models",
]
