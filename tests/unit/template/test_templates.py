"""Templates are data validated at start-up: the shipped ones pass, broken ones are refused."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from template_service.adapters.template_files import InvalidTemplate, load_catalog, load_template
from template_service.domain.nodes import EntityNode, IntentNode, MessageNode, ServiceNode
from template_service.domain.template import Template, TemplateCatalog

CATALOG = load_catalog()


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


def test_every_shipped_template_validates() -> None:
    templates = CATALOG.all()
    assert [t.name for t in templates] == [
        "Add Comment",
        "Create Blog Post",
        "Create Content",
        "Get Content",
        "List Spaces",
        "Search Content",
        "Update Content",
    ]
    for template in templates:
        assert Template.model_validate(template.model_dump(mode="json")) == template
        assert template.template_id.startswith("confluence.")
        assert template.blueprint.of_type("intent")[0].name == template.blueprint.name


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
    assert CATALOG.all("jira") == []
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
    node(data, "createContentService")["url"] = "https://evil.example/wiki/rest/api/content"
    assert "the url must start with" in refused(data)


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
    folder = tmp_path / "confluence"
    folder.mkdir()
    (folder / "broken.json").write_text(json.dumps(data))
    with pytest.raises(InvalidTemplate, match=r"broken\.json: blueprint\.transitions"):
        load_catalog(tmp_path)
    (folder / "broken.json").write_text(json.dumps(create_content()))
    assert load_template(folder / "broken.json").template_id == "confluence.create_content"
