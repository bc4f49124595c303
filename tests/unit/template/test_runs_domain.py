"""A run's pure rules: which entities it accepts, the order its nodes run in, what it keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration_manifests import load_integrations
from platform_core.contract_types import AppSubject
from platform_core.errors import ValidationFailed
from platform_core.events import DialogTaskRunFinished
from template_service.adapters.template_files import load_catalog
from template_service.domain.dialog_task import DialogTask, build_dialog_task
from template_service.domain.nodes import AuthBinding
from template_service.domain.run import (
    MAX_KEPT_BODY_BYTES,
    Run,
    check_entities,
    execution_order,
    kept_body,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
CATALOG = load_catalog(load_integrations({}))


def task(template_id: str) -> DialogTask:
    template = CATALOG.get(template_id)
    assert template is not None
    binding = AuthBinding(integration=template.integration, authorization_type="pre_authorize")
    return build_dialog_task(template, app_id="a", dialog_task_id="dt_1", binding=binding, now=NOW)


def test_actions_follow_the_transitions_and_messages_come_last() -> None:
    actions, messages = execution_order(task("confluence.create_content"))
    assert [node.name for node in actions] == [
        "getResourceIdService",
        "getSpaceService",
        "prepareContentScript",
        "createContentService",
    ]
    assert [node.name for node in messages] == ["createContentMessage"]


def test_entities_must_be_present_of_their_type_and_among_the_allowed_values() -> None:
    create = task("confluence.create_content")
    with pytest.raises(ValidationFailed) as refused:
        check_entities(
            create, {"contentType": "whiteboard", "spaceKey": 7, "contentTitle": "", "extra": "x"}
        )
    fields = {e["field"]: e["type"] for e in refused.value.extra["errors"]}
    assert fields == {
        "entities.extra": "unknown_entity",
        "entities.contentType": "enum",
        "entities.spaceKey": "string_type",
        "entities.contentTitle": "missing",
        "entities.contentBody": "missing",
    }


def test_an_optional_entity_left_out_is_not_passed_on() -> None:
    search = task("confluence.search_content")
    assert check_entities(search, {"searchText": "plan"}) == {"searchText": "plan"}


def test_a_large_provider_body_is_kept_as_a_cut_preview() -> None:
    small = {"id": "1"}
    assert kept_body(small) is small
    large = kept_body({"text": "x" * (2 * MAX_KEPT_BODY_BYTES)})
    assert large["truncated"] is True
    assert len(large["preview"]) <= MAX_KEPT_BODY_BYTES


def test_finishing_a_run_raises_run_finished() -> None:
    run = Run(run_id="r1", dialog_task_id="dt_1", app_id="a", subject=AppSubject(), started_at=NOW)
    done = run.finish(
        "succeeded", steps=[], outputs={}, messages=["ok"], authorization=None, now=NOW
    )
    assert done.after.finished and done.after.version == 2
    assert done.events == (
        DialogTaskRunFinished(app_id="a", dialog_task_id="dt_1", run_id="r1", status="succeeded"),
    )
