"""Rendering a service node's call and a message's text from the run's values (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from template_service.domain import placeholders
from template_service.domain.placeholders import (
    UnknownPlaceholder,
    UnsafeUrl,
    render_body,
    render_query,
    render_text,
    render_url,
)

ROOT = "https://api.atlassian.com/ex/confluence/cloud-1"


def values(**entities: Any) -> dict[str, Any]:
    return {
        "connection": {"api_base_url": ROOT, "cloud_id": "cloud-1", "site_url": "https://x.net"},
        "provider": {"api_base_url": "https://api.atlassian.com"},
        "context": {
            "entities": entities,
            "getPage": {"response": {"status": 200, "body": {"id": "123456", "version": 7}}},
            "nextVersion": {"value": 8},
            "flag": {"value": True},
        },
    }


def test_the_root_is_substituted_as_is_and_other_placeholders_as_one_encoded_segment() -> None:
    url = "{{connection.api_base_url}}/wiki/api/v2/pages/{{context.entities.pageId}}"
    assert render_url(url, values(pageId="123")) == f"{ROOT}/wiki/api/v2/pages/123"
    assert render_url(url, values(pageId="123/../../spaces")) == (
        f"{ROOT}/wiki/api/v2/pages/123%2F..%2F..%2Fspaces"
    )
    assert render_url(url, values(pageId="a b?c=d#e&f%")) == (
        f"{ROOT}/wiki/api/v2/pages/a%20b%3Fc%3Dd%23e%26f%25"
    )
    provider = "{{provider.api_base_url}}/oauth/token/accessible-resources"
    assert (
        render_url(provider, values())
        == "https://api.atlassian.com/oauth/token/accessible-resources"
    )


def test_a_path_segment_that_would_resolve_away_is_refused() -> None:
    url = "{{connection.api_base_url}}/wiki/api/v2/pages/{{context.entities.pageId}}"
    for resolved in ("", ".", ".."):
        with pytest.raises(UnsafeUrl, match="would render as"):
            render_url(url, values(pageId=resolved))
    assert render_url(url, values(pageId="...")).endswith("/pages/...")


def test_a_url_must_begin_with_a_root_placeholder() -> None:
    with pytest.raises(UnsafeUrl):
        render_url("https://evil.example/{{context.entities.pageId}}", values(pageId="1"))
    with pytest.raises(UnsafeUrl):
        render_url("{{context.entities.host}}/wiki", values(host="https://evil.example"))


def test_a_missing_path_raises_naming_it_even_for_an_entity_in_a_url() -> None:
    url = "{{connection.api_base_url}}/wiki/api/v2/pages/{{context.entities.pageId}}"
    with pytest.raises(UnknownPlaceholder) as missing:
        render_url(url, values())
    assert missing.value.path == "context.entities.pageId"
    assert "context.entities.pageId" in str(missing.value)
    with pytest.raises(UnknownPlaceholder, match=r"context\.getPage\.response\.body\.nope"):
        render_body({"id": "{{context.getPage.response.body.nope}}"}, values())
    with pytest.raises(UnknownPlaceholder, match=r"context\.later\.value"):
        render_query({"q": "{{context.later.value}}"}, values())
    with pytest.raises(UnknownPlaceholder, match=r"connection\.nope"):
        render_text("{{connection.nope}}", values())


def test_a_lone_placeholder_takes_the_type_of_the_value_itself() -> None:
    body = {
        "id": "{{context.entities.pageId}}",
        "flag": "{{context.entities.flag}}",
        "version": {"number": "{{context.nextVersion.value}}"},
        "fromResponse": "{{context.getPage.response.body.id}}",
        "really": "{{context.flag.value}}",
        "count": "{{context.entities.count}}",
    }
    sent = render_body(body, values(pageId="123456", flag="True", count=3))
    assert sent == {
        "id": "123456",
        "flag": "True",
        "version": {"number": 8},
        "fromResponse": "123456",
        "really": True,
        "count": 3,
    }
    assert isinstance(sent["id"], str) and isinstance(sent["flag"], str)
    assert isinstance(sent["version"]["number"], int)


def test_a_placeholder_inside_text_becomes_text() -> None:
    body = {"title": "v{{context.nextVersion.value}} of {{context.entities.pageId}}", "n": 1}
    assert render_body(body, values(pageId="123")) == {"title": "v8 of 123", "n": 1}
    assert render_text("{{context.flag.value}}/{{context.nextVersion.value}}", values()) == (
        "true/8"
    )


def test_an_optional_input_left_out_is_left_out_of_the_body() -> None:
    body = {
        "title": "{{context.entities.title}}",
        "parentId": "{{context.entities.parentId}}",
        "labels": ["fixed", "{{context.entities.label}}", "{{context.entities.other}}"],
        "nested": {"only": "{{context.entities.parentId}}"},
    }
    assert render_body(body, values(title="T", other="x")) == {
        "title": "T",
        "labels": ["fixed", "x"],
        "nested": {},
    }


def test_an_optional_input_left_out_is_left_out_of_the_query() -> None:
    query = {
        "keys": "{{context.entities.spaceKey}}",
        "status": "current",
        "type": "{{context.entities.spaceType}}",
        "limit": "{{context.nextVersion.value}}",
        "flag": "{{context.flag.value}}",
    }
    assert render_query(query, values(spaceKey="ENG")) == [
        ("keys", "ENG"),
        ("status", "current"),
        ("limit", "8"),
        ("flag", "true"),
    ]
    assert render_query({"keys": "{{context.entities.keys}}"}, values(keys=["A", "B"])) == [
        ("keys", "A"),
        ("keys", "B"),
    ]
    assert render_query({"keys": "{{context.entities.keys}}"}, values()) == []


def test_a_missing_optional_input_inside_text_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(UnknownPlaceholder):
        render_query({"cql": "space = {{context.entities.spaceKey}}"}, values())
    with pytest.raises(UnknownPlaceholder):
        render_body({"title": "About {{context.entities.topic}}"}, values())


def test_a_json_structure_is_not_a_query_value_or_a_path_segment() -> None:
    with pytest.raises(placeholders.RenderError):
        render_query({"q": "{{context.getPage.response.body}}"}, values())
    with pytest.raises(placeholders.RenderError):
        render_url("{{connection.api_base_url}}/x/{{context.getPage.response.body}}", values())


def test_lookup_and_find_serve_the_blueprint_rules() -> None:
    assert placeholders.lookup({"a": {"b": [{"c": 1}]}}, "a.b.0.c") == 1
    with pytest.raises(UnknownPlaceholder):
        placeholders.lookup({"a": {"b": []}}, "a.b.0")
    assert placeholders.is_well_formed("context.entities.x")
    assert not placeholders.is_well_formed("context..x")
    assert list(placeholders.find_lone({"a": "{{x.y}}", "b": ["t {{z}}", "{{w}}"]})) == [
        "x.y",
        "w",
    ]
