"""How runs and refusals read to an agent: messages as text, the run as structured content,
isError for everything that did not do what was asked, and a reason the model can act on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.tool.fakes import listed, report, run_body, tool
from tool_service.domain.results import (
    ConsentNeeded,
    ToolOutcome,
    declined,
    link_to_connect,
    of_refusal,
    of_run,
)
from tool_service.domain.runs import MalformedRun, RunRefusal, RunReport
from tool_service.domain.tools import MalformedTool, ToolDefinition


def outcome(value: ToolOutcome | ConsentNeeded) -> ToolOutcome:
    assert isinstance(value, ToolOutcome), value
    return value


def test_a_listed_tool_keeps_everything_but_its_routing_for_the_agent() -> None:
    item = listed()
    definition = ToolDefinition.from_listing(item)
    assert (definition.dialog_task_id, definition.integration) == ("dt_1", "confluence")
    assert definition.wire() == {key: value for key, value in item.items() if key != "_meta"}
    assert definition.integration_name == "Confluence"


@pytest.mark.parametrize("missing", ["name", "inputSchema", "_meta"])
def test_a_tool_without_its_name_schema_or_routing_is_malformed(missing: str) -> None:
    item = {key: value for key, value in listed().items() if key != missing}
    with pytest.raises(MalformedTool):
        ToolDefinition.from_listing(item)


def test_a_succeeded_run_is_its_messages_and_its_body() -> None:
    body = run_body("succeeded")
    result = outcome(of_run(tool(), RunReport.of(body)))
    assert result.is_error is False and result.kind == "succeeded"
    assert result.text == tuple(body["messages"])
    assert result.structured == body


def test_a_succeeded_run_without_messages_still_says_so() -> None:
    result = outcome(of_run(tool(), report("succeeded", messages=[])))
    assert result.text == ("Create Content succeeded.",)


def test_a_failed_run_is_an_error_naming_the_failed_step_and_why() -> None:
    steps: list[dict[str, Any]] = [
        {"node": "getSpaceService", "type": "service", "status": "succeeded", "error": None},
        {
            "node": "createContentService",
            "type": "service",
            "status": "failed",
            "error": {"code": "provider_error", "description": "Atlassian answered 400"},
        },
        {"node": "doneMessage", "type": "message", "status": "skipped", "error": None},
    ]
    result = outcome(of_run(tool(), report("failed", steps=steps)))
    assert result.is_error is True and result.kind == "failed"
    assert result.text[0] == (
        "Create Content failed at step createContentService with provider_error: "
        "Atlassian answered 400."
    )
    assert result.structured is not None and result.structured["status"] == "failed"


def test_a_run_waiting_for_consent_asks_for_it_and_falls_back_to_the_link() -> None:
    needed = of_run(tool(), report("authorization_required"))
    assert isinstance(needed, ConsentNeeded)
    assert needed.link == "https://auth.example/connect/abc"
    assert "Confluence" in needed.message and needed.link not in needed.message

    fallback = link_to_connect(needed)
    assert fallback.is_error is True and fallback.kind == "authorization_required"
    assert needed.link in fallback.text[0]
    assert "2026-11-29T11:00:00Z" in fallback.text[0]
    assert "call confluence_create_content again" in fallback.text[0]
    assert fallback.structured is not None
    assert fallback.structured["authorization"]["link"] == needed.link


def test_a_declined_consent_says_the_tool_did_not_run() -> None:
    result = declined(tool())
    assert result.is_error is True and "declined" in result.text[0]


def refused(status: int, **problem: Any) -> RunRefusal:
    return RunRefusal.of(status, {"status": status, "detail": "refused", **problem})


@pytest.mark.parametrize(
    ("refusal", "names_user", "says"),
    [
        (
            refused(
                422,
                code="validation_error",
                errors=[{"field": "subject", "type": "user_subject_required", "message": "a user"}],
            ),
            False,
            "must carry the end user's user_id claim",
        ),
        (
            refused(
                422,
                code="validation_error",
                errors=[{"field": "entities.spaceKey", "message": "is required"}],
            ),
            True,
            "The arguments for confluence_create_content are not valid: spaceKey is required.",
        ),
        (
            refused(409, code="insufficient_scope", missing_scopes=["write:page:confluence"]),
            False,
            "lacks write:page:confluence",
        ),
        (refused(409, code="integration_disabled"), False, "integration is disabled"),
        (refused(404, code="dialog_task_not_found"), False, "no longer installed"),
        (refused(409, code="run_in_progress"), False, "still running"),
        (refused(503, code="auth_service_unavailable"), False, "could not be run right now"),
    ],
    ids=[
        "no end user",
        "bad arguments",
        "missing scopes",
        "disabled",
        "uninstalled",
        "in progress",
        "unavailable",
    ],
)
def test_a_refused_run_is_an_error_saying_what_to_do(
    refusal: RunRefusal, names_user: bool, says: str
) -> None:
    result = of_refusal(tool(), refusal, names_user=names_user)
    assert result.is_error is True
    assert says in result.text[0]
    assert result.structured == {"error": refusal.body}
    assert result.kind == ("unavailable" if refusal.status >= 500 else "refused")


def test_a_run_answer_without_its_fields_is_malformed() -> None:
    with pytest.raises(MalformedRun):
        RunReport.of({"status": "succeeded"})
    with pytest.raises(MalformedRun):
        RunReport.of({"run_id": "r", "status": "exploded"})
