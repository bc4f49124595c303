"""Templates are data validated at start-up: the shipped ones pass, broken ones are refused."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from integration_manifests import load_integrations, packaged_root
from template_service.adapters.template_files import InvalidTemplate, load_catalog, load_template
from template_service.domain.nodes import (
    EntityNode,
    IntentNode,
    MessageNode,
    ScriptNode,
    ServiceNode,
)
from template_service.domain.template import Template, TemplateCatalog

CATALOG = load_catalog(load_integrations({}))


def create_content() -> dict[str, Any]:
    template = CATALOG.get("confluence.create_content")
    assert template is not None
    return template.model_dump(mode="json")


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Template.model_validate(data)
    return str(caught.value)


def node(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in data["blueprint"]["nodes"] if n["name"] == name)


def search_content() -> dict[str, Any]:
    template = CATALOG.get("confluence.search_content")
    assert template is not None
    return template.model_dump(mode="json")


def test_every_shipped_template_validates() -> None:
    assert [t.name for t in CATALOG.all("confluence")] == [
        "Add Comment",
        "Create Blog Post",
        "Create Content",
        "Get Content",
        "List Spaces",
        "Search Content",
        "Update Content",
    ]
    assert [t.name for t in CATALOG.all("jira")] == ["Add Comment", "Create Issue", "Search Issues"]
    for template in CATALOG.all():
        assert Template.model_validate(template.model_dump(mode="json")) == template
        assert template.template_id.startswith(f"{template.integration}.")
        assert template.blueprint.of_type("intent")[0].name == template.blueprint.name
        assert template.required_scopes


def test_the_rewritten_confluence_templates_are_version_2() -> None:
    assert {t.version for t in CATALOG.all("confluence")} == {"2.0.0"}


def test_create_content_matches_the_reference_product_node_for_node() -> None:
    template = CATALOG.get("confluence.create_content")
    assert template is not None
    blueprint = template.blueprint
    assert (template.name, blueprint.name) == ("Create Content", "createContent")
    kinds = [(n.name, type(n)) for n in blueprint.nodes]
    assert kinds == [
        ("createContent", IntentNode),
        ("contentType", EntityNode),
        ("spaceKey", EntityNode),
        ("contentTitle", EntityNode),
        ("contentBody", EntityNode),
        ("getResourceIdService", ServiceNode),
        ("getSpaceService", ServiceNode),
        ("prepareContentScript", ScriptNode),
        ("createContentService", ServiceNode),
        ("createContentMessage", MessageNode),
    ]
    names = [n.name for n in blueprint.nodes]
    assert [(t.from_, t.to) for t in blueprint.transitions] == list(itertools.pairwise(names))
    message = blueprint.node("createContentMessage")
    assert isinstance(message, MessageNode)
    assert (
        "{{context.createContentService.response.body._links.base}}"
        "{{context.createContentService.response.body._links.webui}}"
    ) in message.text


def test_the_templates_filter_by_integration() -> None:
    assert len(CATALOG.all("confluence")) == 7
    assert {t.template_id for t in CATALOG.all("jira")} == {
        "jira.create_issue",
        "jira.search_issues",
        "jira.add_comment",
    }
    assert CATALOG.all("servicenow") == []
    assert CATALOG.get("confluence.nothing") is None


def test_a_template_id_may_be_defined_only_once() -> None:
    template = CATALOG.get("confluence.create_content")
    assert template is not None
    with pytest.raises(ValueError, match="defined twice"):
        TemplateCatalog([template, template])


def test_duplicate_node_names_are_refused() -> None:
    data = create_content()
    node(data, "contentBody")["name"] = "contentTitle"
    assert "node names must be unique" in refused(data)


def test_a_transition_to_a_missing_node_is_refused() -> None:
    data = create_content()
    data["blueprint"]["transitions"].append({"from": "createContent", "to": "nowhere"})
    assert "does not exist" in refused(data)


def test_a_node_unreachable_from_the_intent_is_refused() -> None:
    data = create_content()
    data["blueprint"]["transitions"] = data["blueprint"]["transitions"][:-1]
    assert "not reachable from the intent" in refused(data)


def test_a_placeholder_naming_an_unknown_entity_is_refused() -> None:
    data = create_content()
    node(data, "createContentService")["body"]["title"] = "{{context.entities.nope}}"
    assert "names no earlier entity" in refused(data)


def test_a_placeholder_reading_a_later_node_is_refused() -> None:
    data = create_content()
    node(data, "getResourceIdService")["url"] = (
        "{{provider.api_base_url}}/x/{{context.createContentService.response.body.id}}"
    )
    assert "names no earlier service node" in refused(data)


def test_a_placeholder_outside_the_known_roots_is_refused() -> None:
    data = create_content()
    node(data, "createContentMessage")["text"] = "{{secrets.token}}"
    assert "names nothing a dialog provides" in refused(data)


def test_a_url_outside_the_allowed_roots_is_refused() -> None:
    data = create_content()
    node(data, "createContentService")["url"] = "https://evil.example/wiki/api/v2/pages"
    assert "the url must start with" in refused(data)


def test_a_placeholder_in_the_host_part_of_a_url_is_refused() -> None:
    data = create_content()
    node(data, "createContentService")["url"] = (
        "{{connection.api_base_url}}{{context.entities.spaceKey}}/wiki/api/v2/pages"
    )
    assert "the url must start with" in refused(data)


def test_a_query_string_in_a_url_is_refused_as_it_belongs_in_query() -> None:
    data = create_content()
    node(data, "getSpaceService")["url"] += "?keys={{context.entities.spaceKey}}"
    assert "its parameters belong in query" in refused(data)


def test_a_url_root_anywhere_but_at_the_start_is_refused() -> None:
    data = create_content()
    node(data, "createContentService")["url"] = (
        "{{connection.api_base_url}}/wiki/{{provider.api_base_url}}/pages"
    )
    assert "may only begin the url" in refused(data)


def test_an_empty_path_segment_is_refused() -> None:
    data = create_content()
    node(data, "createContentService")["url"] = "{{connection.api_base_url}}/wiki//api/v2/pages"
    assert "empty segment" in refused(data)


def test_a_query_placeholder_naming_an_unknown_entity_is_refused() -> None:
    data = create_content()
    node(data, "getSpaceService")["query"]["keys"] = "{{context.entities.spaceName}}"
    assert "names no earlier entity" in refused(data)


def test_a_credential_header_is_refused() -> None:
    data = create_content()
    node(data, "createContentService")["headers"]["Authorization"] = "Bearer x"
    assert "set by the runtime" in refused(data)


def test_a_get_with_a_body_and_a_post_without_one_are_refused() -> None:
    data = create_content()
    node(data, "getResourceIdService")["body"] = {"a": 1}
    node(data, "createContentService")["body"] = None
    problems = refused(data)
    assert "a GET call has no body" in problems
    assert "a POST call needs body" in problems


def test_a_template_must_require_at_least_one_scope_and_none_twice() -> None:
    data = create_content()
    data["required_scopes"] = []
    assert "required_scopes" in refused(data)
    data["required_scopes"] = ["read:page:confluence", "read:page:confluence"]
    assert "must not repeat" in refused(data)
    data["required_scopes"] = ["read:page:confluence write:page:confluence"]
    assert "required_scopes" in refused(data)


def test_an_expression_that_does_not_compile_refuses_the_template() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"]["spaceId"] = "context.getSpaceService.response +"
    assert "spaceId: does not compile" in refused(data)


def test_an_expression_using_a_filter_outside_the_sandbox_refuses_the_template() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"]["contentPath"] = "'pages' | center(10)"
    assert "No filter named 'center'" in refused(data)


def test_an_expression_reading_a_later_node_is_refused() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"]["spaceId"] = (
        "context.createContentService.response.body.id"
    )
    assert "names no earlier service node" in refused(data)


def test_an_expression_reading_a_name_other_than_context_is_refused() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"]["spaceId"] = "connection.site_url"
    assert "names nothing an expression can read" in refused(data)
    node(data, "prepareContentScript")["set"]["spaceId"] = "quote.__doc__"
    assert "reads an attribute of a helper" in refused(data)


def test_an_expression_reading_an_unknown_entity_is_refused() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"]["contentPath"] = "context.entities.kind.lower()"
    assert "names no earlier entity" in refused(data)


def test_a_script_output_is_read_through_its_value() -> None:
    data = create_content()
    node(data, "createContentService")["body"]["spaceId"] = "{{context.spaceId}}"
    assert "must read a script output's value" in refused(data)
    node(data, "createContentService")["body"]["spaceId"] = "{{context.spaceId.id}}"
    assert "must read a script output's value" in refused(data)


def test_a_script_output_named_like_a_node_or_entities_or_another_output_is_refused() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"]["getSpaceService"] = "1"
    node(data, "prepareContentScript")["set"]["entities"] = "2"
    assert "must not be named like a node or 'entities'" in refused(data)
    data = search_content()
    node(data, "summarizeResultsScript")["set"]["cql"] = "3"
    assert "script outputs must be unique: ['cql']" in refused(data)


def test_a_script_node_must_set_something() -> None:
    data = create_content()
    node(data, "prepareContentScript")["set"] = {}
    assert "script.set\n  Dictionary should have at least 1 item" in refused(data)


def test_an_optional_input_may_be_left_out_only_where_its_place_can_be_left_out() -> None:
    data = search_content()
    node(data, "searchContentService")["query"]["spaces"] = "{{context.entities.spaceKey}}"
    assert Template.model_validate(data)  # a lone query value: left out with it
    node(data, "searchContentService")["query"]["spaces"] = "key {{context.entities.spaceKey}}"
    assert "names an optional input" in refused(data)
    del node(data, "searchContentService")["query"]["spaces"]
    node(data, "searchContentService")["url"] += "/{{context.entities.spaceKey}}"
    assert "names an optional input" in refused(data)
    data = search_content()
    node(data, "searchContentMessage")["text"] += " in {{context.entities.spaceKey}}"
    assert "names an optional input" in refused(data)


def test_inputs_must_be_exactly_the_entity_nodes() -> None:
    data = create_content()
    data["inputs"] = data["inputs"][:-1]
    assert "must be the entity nodes" in refused(data)


def test_a_template_id_must_belong_to_its_integration() -> None:
    data = create_content()
    data["template_id"] = "jira.create_content"
    assert "must start with 'confluence.'" in refused(data)


def test_a_broken_template_file_stops_loading_with_its_name(tmp_path: Path) -> None:
    data = copy.deepcopy(create_content())
    data["blueprint"]["transitions"] = []
    folder = tmp_path / "confluence" / "templates"
    folder.mkdir(parents=True)
    manifest = packaged_root() / "confluence" / "manifest.toml"
    (tmp_path / "confluence" / "manifest.toml").write_text(manifest.read_text())
    (folder / "broken.json").write_text(json.dumps(data))
    with pytest.raises(InvalidTemplate, match=r"broken\.json: blueprint\.transitions"):
        load_catalog(load_integrations({}, tmp_path))
    (folder / "broken.json").write_text(json.dumps(create_content()))
    assert load_template(folder / "broken.json").template_id == "confluence.create_content"
