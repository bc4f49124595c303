"""How a tool call's result reads to an agent (contract §3 "Tools"; MCP `CallToolResult`), pure.

A run that finished becomes its messages as text and its body as `structuredContent`; a failed
run is `isError: true` and says which step failed and why. A refusal (the task was uninstalled,
the integration disabled, the connection lacks scopes, the arguments are wrong, no end user was
named) is also `isError: true`: MCP asks tools to report errors in the result, where the model
can read them and correct itself, not as protocol errors. A run that needs the end user's
consent, when the client cannot be asked (or the user has not finished), carries the link and
says what to do; it is `isError: true` too, since the action was not carried out and no agent
may take it for done.

`kind` says which of these an outcome is, for logs and metrics; it never reaches the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tool_service.domain.runs import RunRefusal, RunReport
from tool_service.domain.tools import ToolDefinition

OutcomeKind = Literal[
    "succeeded",
    "failed",
    "refused",
    "authorization_required",
    "declined",
    "unavailable",
]


@dataclass(frozen=True)
class ToolOutcome:
    kind: OutcomeKind
    text: tuple[str, ...]
    structured: dict[str, Any] | None
    is_error: bool


@dataclass(frozen=True)
class ConsentNeeded:
    """The run needs the end user's consent: ask them to open `link`."""

    tool: ToolDefinition
    report: RunReport
    link: str
    expires_at: str

    @property
    def message(self) -> str:
        """What the client shows the user beside the link (no link inside: it is its own field)."""
        return (
            f"{self.tool.display_name} needs access to your {self.tool.integration_name} "
            "account. Open the link to connect it."
        )


def of_run(tool: ToolDefinition, report: RunReport) -> ToolOutcome | ConsentNeeded:
    if report.needs_consent:
        assert report.authorization is not None
        return ConsentNeeded(
            tool, report, report.authorization.link, report.authorization.expires_at
        )
    if report.status == "succeeded":
        text = report.messages or (f"{tool.display_name} succeeded.",)
        return ToolOutcome("succeeded", text, report.body, is_error=False)
    return ToolOutcome("failed", (_why_failed(tool, report), *report.messages), report.body, True)


def _why_failed(tool: ToolDefinition, report: RunReport) -> str:
    step = report.failed_step
    if step is None or step.error is None:
        return f"{tool.display_name} failed (run {report.run_id})."
    detail = f": {step.error.text}" if step.error.text else ""
    return f"{tool.display_name} failed at step {step.node} with {step.error.code}{detail}."


def link_to_connect(needed: ConsentNeeded) -> ToolOutcome:
    """The fallback when the user cannot be asked through the client, or has not finished."""
    text = (
        f"{needed.tool.display_name} did not run: the end user must first connect their "
        f"{needed.tool.integration_name} account. Ask them to open {needed.link} (valid until "
        f"{needed.expires_at}) and approve access, then call {needed.tool.name} again."
    )
    return ToolOutcome("authorization_required", (text,), needed.report.body, is_error=True)


def declined(tool: ToolDefinition) -> ToolOutcome:
    text = (
        f"{tool.display_name} did not run: the end user declined to connect their "
        f"{tool.integration_name} account."
    )
    return ToolOutcome("declined", (text,), None, is_error=True)


def of_refusal(tool: ToolDefinition, refusal: RunRefusal, *, names_user: bool) -> ToolOutcome:
    structured = {"error": refusal.body} if refusal.body else None
    kind: OutcomeKind = "unavailable" if refusal.status >= 500 else "refused"
    return ToolOutcome(kind, (_why_refused(tool, refusal, names_user),), structured, True)


def _why_refused(tool: ToolDefinition, refusal: RunRefusal, names_user: bool) -> str:
    integration = tool.integration_name
    if refusal.needs_user and not names_user:
        return (
            f"{tool.display_name} acts for an end user through their own {integration} "
            "account, and this request names none: the agent's token must carry the end "
            "user's user_id claim."
        )
    if refusal.status == 422:
        problems = "; ".join(_field_problem(e) for e in refusal.errors) or refusal.detail
        return f"The arguments for {tool.name} are not valid: {problems}."
    if refusal.code == "insufficient_scope":
        missing = ", ".join(refusal.missing_scopes) or "some scopes"
        return (
            f"{tool.display_name} did not run: the app's {integration} connection lacks "
            f"{missing}. An admin must connect {integration} again with those scopes."
        )
    if refusal.code == "integration_disabled":
        return (
            f"{tool.display_name} did not run: the app's {integration} integration is "
            "disabled. An admin must enable it."
        )
    if refusal.code == "dialog_task_not_found":
        return f"{tool.name} is no longer installed for this app: list the tools again."
    if refusal.code == "run_in_progress":
        return f"An earlier call of {tool.name} is still running: try again shortly."
    return unavailable(tool.display_name).text[0]


def _field_problem(error: Any) -> str:
    field = str(error.get("field", "")).removeprefix("entities.")
    message = str(error.get("message", "is not valid"))
    return f"{field} {message}".strip()


def unavailable(display_name: str) -> ToolOutcome:
    text = f"{display_name} could not be run right now: try again in a moment."
    return ToolOutcome("unavailable", (text,), None, is_error=True)
