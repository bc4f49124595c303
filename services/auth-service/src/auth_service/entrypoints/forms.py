"""What the browser routes read (contract §2), as models: the link in `/connect/{opaque}`, the
forms the pages post, and the identity provider's redirect to `/oauth/callback`. `ApiRoutes`
validates each before a view runs and the OpenAPI document shows the same models.

The link, the state and the site picker's selection are capabilities this service made
(`domain.secrets.new_capability`: base64url text); whether one is known, unused and unexpired
is the service layer's to judge, so a well-formed one that is not known is a page (404, 410 or
400) the service layer chooses, never a validation failure.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from platform_core.api import FormModel, RequestModel

Capability = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
FormValue = Annotated[str, StringConstraints(max_length=200)]


class LinkPath(RequestModel):
    opaque: Capability = Field(description="The link's token, as the authorization_url carries it")


class ConnectForm(FormModel):
    """The confirmation page's form: its one-time token. A missing or wrong token is the service
    layer's 400 page (`invalid_form_token`), after the link itself was judged."""

    form_token: FormValue | None = None


class SiteForm(FormModel):
    """The site picker's form: the selection it was shown with, and the chosen site or cancel."""

    selection: Capability
    cloud_id: FormValue | None = None
    cancel: FormValue | None = None


class CallbackQuery(RequestModel):
    """The authorization response (RFC 6749 §4.1.2, errors §4.1.2.1). Parameters a provider adds
    (RFC 9207 `iss`, OpenID Connect's `session_state`) are ignored rather than refused. What
    `code` and `error` hold is judged after the state is consumed, so that such a failure
    still ends its authorization (`authorization.failed`)."""

    model_config = ConfigDict(extra="ignore")

    state: Capability
    code: str | None = None
    error: str | None = None
    error_description: str | None = None
