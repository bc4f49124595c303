"""Building a dialog task from a blueprint, binding it, and the integration read model (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration_manifests import load_integrations
from template_service.adapters.template_files import load_catalog
from template_service.domain import placeholders
from template_service.domain.dialog_task import DialogTask, build_dialog_task, with_binding
from template_service.domain.integration_state import unknown_integration
from template_service.domain.nodes import AuthBinding, TaskEntityNode, TaskServiceNode

CATALOG = load_catalog(load_integrations({}))
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
BOUND = AuthBinding(integration="confluence", authorization_type="pre_authorize")


def create_content_task(binding: AuthBinding | None = BOUND, task_id: str = "dt_1") -> DialogTask:
    template = CATALOG.get("confluence.create_content")
    assert template is not None
    return build_dialog_task(
        template, app_id="app-1", dialog_task_id=task_id, binding=binding, now=NOW
    )


def test_a_task_gets_the_blueprints_nodes_with_ids_and_transitions_between_ids() -> None:
    task = create_content_task()
    definition = task.definition()
    assert definition["name"] == "createContent"
    assert definition["source"] == {
        "template_id": "confluence.create_content",
        "template_version": "2.0.0",
    }
    assert definition["created_at"] == "2026-11-29T10:00:00Z"
    assert "integration" not in definition
    ids = [node["id"] for node in definition["nodes"]]
    assert len(set(ids)) == len(ids)
    by_name = {node["name"]: node["id"] for node in definition["nodes"]}
    assert definition["transitions"][0] == {
        "from": by_name["createContent"],
        "to": by_name["contentType"],
    }
    assert create_content_task().definition() == definition
    assert create_content_task(task_id="dt_2").definition()["nodes"][0]["id"] != ids[0]


def test_entity_nodes_carry_the_input_they_ask_for() -> None:
    entity = next(n for n in create_content_task().nodes if isinstance(n, TaskEntityNode))
    assert (entity.name, entity.entity_type, entity.required) == ("contentType", "string", True)
    assert entity.values == ["page", "blogpost"]
    assert entity.prompt


def test_binding_and_unbinding_switch_every_service_node_and_the_status() -> None:
    task = create_content_task()
    services = [n for n in task.nodes if isinstance(n, TaskServiceNode)]
    assert task.status == "active" and all(n.auth == BOUND for n in services)

    unbound = with_binding(task, None)
    assert unbound.status == "integration_disabled"
    assert all(n.auth is None for n in unbound.nodes if isinstance(n, TaskServiceNode))
    assert [n for n in unbound.nodes if not isinstance(n, TaskServiceNode)] == [
        n for n in task.nodes if not isinstance(n, TaskServiceNode)
    ]
    assert with_binding(unbound, BOUND) == task
    assert create_content_task(binding=None) == unbound


def test_a_lone_placeholder_keeps_its_type_and_one_in_text_becomes_text() -> None:
    context = {"context": {"n": {"value": 8}, "b": {"response": {"body": {"ok": True}}}}}
    assert placeholders.render_body({"number": "{{context.n.value}}"}, context) == {"number": 8}
    text = "v{{context.n.value}} {{context.b.response.body.ok}}"
    assert placeholders.render_text(text, context) == "v8 true"
    assert list(placeholders.find({"a": ["{{x.y}}", {"b": "{{z}} {{w}}"}]})) == ["x.y", "z", "w"]


def test_script_nodes_are_placed_with_their_expressions() -> None:
    task = create_content_task()
    script = next(n for n in task.definition()["nodes"] if n["type"] == "script")
    assert script["name"] == "prepareContentScript"
    assert set(script) == {"id", "name", "type", "set"}
    assert set(script["set"]) == {"spaceId", "contentPath"}
    service = next(n for n in task.definition()["nodes"] if n["name"] == "getSpaceService")
    assert service["query"] == {"keys": "{{context.entities.spaceKey}}"}


def test_the_read_model_is_installable_only_while_configured_and_enabled() -> None:
    state = unknown_integration("app-1", "confluence")
    assert not state.installable and state.binding() is None

    configured = state.configure("user_authorize", None, NOW)
    assert configured.binding() == AuthBinding(
        integration="confluence", authorization_type="user_authorize"
    )
    later = NOW + timedelta(seconds=1)
    disabled = configured.disable(later)
    assert not disabled.installable
    assert disabled.enable(later + timedelta(seconds=1)).installable
    removed = configured.remove(later)
    assert not removed.installable
    assert not removed.enable(later + timedelta(seconds=1)).installable
    assert removed.configure("pre_authorize", None, later + timedelta(seconds=1)).installable


def test_an_event_older_than_the_last_change_changes_nothing() -> None:
    configured = unknown_integration("app-1", "confluence").configure("pre_authorize", None, NOW)
    assert configured.disable(NOW - timedelta(seconds=1)) == configured
    assert configured.disable(NOW).installable is False
