"""What template-service answers to a run (contract §3 "Runs"), as tool-service reads it, pure.

`RunReport` is a run body: its status, messages, the failed step's error and, for
`authorization_required`, the end user's link; `body` keeps the whole body as it came, since it
is handed to the agent as `structuredContent`. `RunRefusal` is a problem answer instead of a run
(404 `dialog_task_not_found`, 409 `insufficient_scope` / `integration_disabled` /
`run_in_progress`, 422 `validation_error`, 503 ...). A run body never holds an access token
(contract §3), so passing it on leaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

RunStatus = Literal["running", "succeeded", "failed", "authorization_required"]
USER_SUBJECT_REQUIRED = "user_subject_required"


class MalformedRun(ValueError):
    """A run answer tool-service cannot read."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StepError(_Loose):
    code: str
    # The contract names it `detail`; template-service's model says `description`.
    detail: str | None = None
    description: str | None = None

    @property
    def text(self) -> str:
        return self.detail or self.description or ""


class Step(_Loose):
    node: str
    status: str
    error: StepError | None = None


class ConsentLink(_Loose):
    link: str
    expires_at: str


class _Run(_Loose):
    run_id: str
    status: RunStatus
    messages: list[str] = []
    steps: list[Step] = []
    authorization: ConsentLink | None = None


@dataclass(frozen=True)
class RunReport:
    run_id: str
    status: RunStatus
    messages: tuple[str, ...]
    failed_step: Step | None
    authorization: ConsentLink | None
    body: dict[str, Any]

    @classmethod
    def of(cls, body: Any) -> RunReport:
        try:
            run = _Run.model_validate(body)
        except ValidationError:
            raise MalformedRun("template-service answered a run tool-service cannot read") from None
        failed = next((step for step in run.steps if step.status == "failed"), None)
        return cls(
            run_id=run.run_id,
            status=run.status,
            messages=tuple(run.messages),
            failed_step=failed,
            authorization=run.authorization,
            body=dict(body),
        )

    @property
    def needs_consent(self) -> bool:
        return self.status == "authorization_required" and self.authorization is not None


@dataclass(frozen=True)
class RunRefusal:
    """A problem answer (RFC 9457) instead of a run."""

    status: int
    code: str
    detail: str
    errors: tuple[Mapping[str, Any], ...] = ()
    missing_scopes: tuple[str, ...] = ()
    body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, body: Any) -> RunRefusal:
        problem = body if isinstance(body, dict) else {}
        errors = problem.get("errors")
        missing = problem.get("missing_scopes")
        return cls(
            status=status,
            code=str(problem.get("code") or f"http_{status}"),
            detail=str(problem.get("detail") or ""),
            errors=tuple(e for e in errors if isinstance(e, dict))
            if isinstance(errors, list)
            else (),
            missing_scopes=tuple(str(s) for s in missing) if isinstance(missing, list) else (),
            body=problem,
        )

    @property
    def needs_user(self) -> bool:
        """template-service refused because the integration runs for an end user and none was
        named (422, field `subject`)."""
        return self.status == 422 and any(
            e.get("field") == "subject" or e.get("type") == USER_SUBJECT_REQUIRED
            for e in self.errors
        )
