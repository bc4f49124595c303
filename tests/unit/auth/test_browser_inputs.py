"""What the browser routes read, as the OpenAPI document shows it: the identity provider's
redirect keeps working when it adds parameters of its own, and only the capabilities' shape is
judged before the service layer looks them up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from auth_service.domain.secrets import new_capability
from auth_service.entrypoints.forms import CallbackQuery, ConnectForm, LinkPath, SiteForm


def test_a_callback_with_parameters_the_provider_adds_is_read_without_them() -> None:
    state = new_capability()
    query = CallbackQuery.model_validate(
        {"state": state, "code": "c", "iss": "https://idp.example", "session_state": "s"}
    )
    assert query.model_dump(exclude_none=True) == {"state": state, "code": "c"}


@pytest.mark.parametrize("state", [None, "", "not base64url!", "s" * 7000])
def test_a_callback_without_a_state_this_service_could_have_made_is_refused(
    state: str | None,
) -> None:
    with pytest.raises(ValidationError):
        CallbackQuery.model_validate({} if state is None else {"state": state})


def test_links_and_selections_are_the_capabilities_this_service_makes() -> None:
    token = new_capability()
    assert LinkPath(opaque=token).opaque == token
    assert SiteForm.model_validate({"selection": token}).selection == token
    with pytest.raises(ValidationError):
        LinkPath(opaque="../admin")
    with pytest.raises(ValidationError):
        SiteForm.model_validate({"cloud_id": "x"})


def test_the_form_token_is_left_to_the_service_layer_to_judge() -> None:
    # A missing, empty or forged one is its 400 page (invalid_form_token), after the link.
    for form in ({}, {"form_token": ""}, {"form_token": "forged"}):
        ConnectForm.model_validate(form)
    with pytest.raises(ValidationError):
        ConnectForm.model_validate({"form_token": "x", "selection": "y"})
