"""Runs (contract §3 "Runs"): a dialog task executed as a dialog runtime would, end to end.

A run checks its entities, refuses a disabled integration or a connection without the template's
scopes before anything is called, then gets a token from auth-service for the task's integration
and the run's subject (the app for pre_authorize, the end user for user_authorize), runs the
script and service nodes in transition order and renders the message nodes. An end user with no
usable credential gets `authorization_required` and a link (their open one while it is valid),
and nothing is called. A provider answer of 401/403/404 is "maybe expired": one forced refresh,
one retry. 429 and 503 wait for Retry-After (bounded; backoff with jitter when absent) a bounded
number of times; a write is retried only after those answers (they say it was not carried out),
never after a timeout, a lost connection or another 5xx. Each call has a timeout and the run a
deadline. The finished run is stored with `dialog_task.run_finished`; an idempotency key makes
a retried run return the first one. No access token is ever stored, logged or returned.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from platform_core.api import PageQuery
from platform_core.contract_types import (
    AppSubject,
    ErrorInfo,
    Subject,
    SystemProfileRef,
    UserSubject,
    utc_now,
)
from platform_core.errors import IntegrationDisabled, ValidationFailed
from platform_core.logs import get_logger
from platform_core.paging import Page
from template_service.domain import expressions, placeholders
from template_service.domain.dialog_task import DialogTask
from template_service.domain.errors import (
    DialogTaskNotFound,
    InsufficientScope,
    RunInProgress,
    RunNotFound,
)
from template_service.domain.integration_state import IntegrationState
from template_service.domain.nodes import (
    TaskLegacyScriptNode,
    TaskMessageNode,
    TaskScriptNode,
    TaskServiceNode,
)
from template_service.domain.run import (
    Action,
    AuthorizationLink,
    Output,
    Run,
    RunStatus,
    Step,
    check_entities,
    execution_order,
    kept_body,
)
from template_service.domain.template import TemplateCatalog
from template_service.service_layer.ports import (
    AuthService,
    Clock,
    Connection,
    NoUsableCredential,
    ProviderApi,
    ProviderCallFailed,
    ProviderRequest,
    ProviderResponse,
    RunMetrics,
    Tx,
    Units,
    UserLink,
)

log = get_logger("template_service.runs")

MAYBE_EXPIRED = frozenset({401, 403, 404})
NOT_CARRIED_OUT = frozenset({429, 503})
LINK_MARGIN_SECONDS = 60
SETTLE_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class RunLimits:
    call_timeout_seconds: float = 15.0
    deadline_seconds: float = 60.0
    max_attempts: int = 4
    max_wait_seconds: float = 10.0
    backoff_seconds: float = 0.5


@dataclass(frozen=True)
class Integration:
    """What a run needs of an integration's manifest."""

    display_name: str
    api_base_url: str


class StepFailed(Exception):
    def __init__(
        self, code: str, detail: str, *, attempts: int = 1, http_status: int | None = None
    ) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail
        self.attempts, self.http_status = attempts, http_status


@dataclass
class _Call:
    http_status: int
    attempts: int
    body: Any


class Runs:
    def __init__(
        self,
        uow: Units,
        catalog: TemplateCatalog,
        integrations: Mapping[str, Integration],
        auth: AuthService,
        api: ProviderApi,
        limits: RunLimits,
        metrics: RunMetrics,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._uow = uow
        self._catalog = catalog
        self._integrations = integrations
        self._auth = auth
        self._limits = limits
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._calls = _Calls(api, auth, limits, clock, sleep)

    # --- queries -----------------------------------------------------------------------------

    async def get(self, app_id: str, dialog_task_id: str, run_id: str) -> Run:
        await self._task(app_id, dialog_task_id)
        run = await self._uow.reads().runs.get(app_id, dialog_task_id, run_id)
        if run is None:
            raise RunNotFound(f"Dialog task {dialog_task_id!r} has no run {run_id!r}")
        return run

    async def page(self, app_id: str, dialog_task_id: str, query: PageQuery) -> Page[Run]:
        await self._task(app_id, dialog_task_id)
        return await self._uow.reads().runs.page(app_id, dialog_task_id, query)

    # --- the run -----------------------------------------------------------------------------

    async def start(
        self,
        app_id: str,
        dialog_task_id: str,
        entities: Mapping[str, Any],
        subject: Subject | None,
        idempotency_key: str | None,
    ) -> tuple[Run, bool]:
        """The run, and whether this call made it (False: the idempotency key's first run)."""
        task = await self._task(app_id, dialog_task_id)
        if idempotency_key is not None:
            earlier = await self._uow.reads().runs.by_key(app_id, dialog_task_id, idempotency_key)
            if earlier is not None:
                return await self._settled(earlier), False
        accepted = check_entities(task, entities)
        if task.status != "active":
            raise IntegrationDisabled(f"The app's {task.integration} integration is disabled")
        state = await self._uow.reads().integrations.get(app_id, task.integration)
        if state is None or state.authorization_type is None:
            raise IntegrationDisabled(f"The app's {task.integration} integration is not usable")
        runs_as = _subject_for(state, subject)
        run = Run(
            run_id=f"run_{uuid.uuid4().hex}",
            dialog_task_id=dialog_task_id,
            app_id=app_id,
            subject=runs_as,
            idempotency_key=idempotency_key,
            started_at=self._clock(),
        )
        try:
            connection = await self._auth.access_token(
                app_id, task.integration, runs_as, force_refresh=False
            )
        except NoUsableCredential as exc:
            return await self._without_credential(task, state, run, exc.code)
        self._require_scopes(task, connection)
        earlier = await self._earlier_run(run)
        if earlier is not None:
            return earlier, False
        return await self._execute(task, run, accepted, connection), True

    async def _task(self, app_id: str, dialog_task_id: str) -> DialogTask:
        task = await self._uow.reads().tasks.get(app_id, dialog_task_id)
        if task is None:
            raise DialogTaskNotFound(f"App {app_id!r} has no dialog task {dialog_task_id!r}")
        return task

    async def _earlier_run(self, run: Run) -> Run | None:
        """The finished first run with this run's idempotency key when another call made it;
        None when this call goes on. Only a run with a key is stored before it runs (that is
        what makes the key once-only); without one nobody can ask for it before it finishes,
        so it is written once, finished."""
        key = run.idempotency_key
        if key is None or await self._uow.reads().runs.claim(run) is not None:
            return None
        earlier = await self._uow.reads().runs.by_key(run.app_id, run.dialog_task_id, key)
        assert earlier is not None
        return await self._settled(earlier)

    async def _settled(self, run: Run) -> Run:
        """A run with the same idempotency key: once it has finished."""
        deadline = time.monotonic() + self._limits.deadline_seconds + 5
        while not run.finished:
            if time.monotonic() > deadline:
                raise RunInProgress("The first run with this idempotency key has not finished")
            await self._sleep(SETTLE_POLL_SECONDS)
            found = await self._uow.reads().runs.get(run.app_id, run.dialog_task_id, run.run_id)
            run = found or run
        return run

    def _require_scopes(self, task: DialogTask, connection: Connection) -> None:
        template = self._catalog.get(task.source.template_id)
        required = template.required_scopes if template is not None else []
        missing = [scope for scope in required if scope not in connection.scopes]
        if missing:
            raise InsufficientScope(missing)

    async def _without_credential(
        self, task: DialogTask, state: IntegrationState, run: Run, code: str
    ) -> tuple[Run, bool]:
        actions, messages = execution_order(task)
        skipped = [_skipped(node) for node in [*actions, *messages]]
        if isinstance(run.subject, UserSubject):
            link = await self._link_for(state, run.subject.user_id)
            name = self._integrations[task.integration].display_name
            authorization = AuthorizationLink(link=link.link, expires_at=link.expires_at)
            finished = run.finish(
                "authorization_required",
                steps=skipped,
                outputs={},
                messages=[f"Connect your {name} account to continue: {link.link}"],
                authorization=authorization,
                now=self._clock(),
            )
        else:
            steps = skipped
            if steps:
                error = ErrorInfo(code=code, description="The app's credential needs a new consent")
                steps[0] = steps[0].model_copy(update={"status": "failed", "error": error})
            finished = run.finish(
                "failed",
                steps=steps,
                outputs={},
                messages=[],
                authorization=None,
                now=self._clock(),
            )
        earlier = await self._earlier_run(run)
        if earlier is not None:
            return earlier, False
        await self._commit(task, finished.after, finished.events)
        return finished.after, True

    async def _link_for(self, state: IntegrationState, user_id: str) -> UserLink:
        """The user's open link while it is valid, else a new one (auth-service publishes
        authorization.link_issued for it)."""
        reads = self._uow.reads()
        stored = await reads.user_links.get(state.app_id, state.integration, user_id)
        now = self._clock()
        if (
            stored is not None
            and (stored.expires_at - now).total_seconds() > LINK_MARGIN_SECONDS
            and await self._auth.link_open(state.app_id, stored.authorization_id)
        ):
            return stored
        link = await self._auth.user_link(
            state.app_id, state.integration, state.profile or SystemProfileRef(), user_id
        )
        await self._uow.run(lambda tx: tx.repos.user_links.put(link))
        return link

    async def _commit(self, task: DialogTask, run: Run, events: tuple[Any, ...]) -> None:
        async def work(tx: Tx) -> None:
            await tx.repos.runs.save(run)
            tx.publish_all(events)

        await self._uow.run(work)
        self._metrics.run_finished(task.integration, run.status)
        log.info(
            "run_finished", run_id=run.run_id, dialog_task_id=run.dialog_task_id, status=run.status
        )

    # --- execution ---------------------------------------------------------------------------

    async def _execute(
        self, task: DialogTask, run: Run, entities: dict[str, Any], connection: Connection
    ) -> Run:
        integration = self._integrations[task.integration]
        execution = _Execution(self._calls, integration, task, run, entities, connection)
        try:
            async with asyncio.timeout(self._limits.deadline_seconds):
                await execution.run_actions()
        except TimeoutError:
            execution.fail_current("deadline_exceeded", "The run took longer than its deadline")
        status = execution.finish_messages()
        finished = run.finish(
            status,
            steps=execution.steps,
            outputs=execution.outputs,
            messages=execution.messages,
            authorization=None,
            now=self._clock(),
        )
        await self._commit(task, finished.after, finished.events)
        return finished.after


class _Calls:
    """How one service node's call is made: retried, refreshed and waited out as the contract
    says."""

    def __init__(
        self,
        api: ProviderApi,
        auth: AuthService,
        limits: RunLimits,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._api, self._auth, self._limits = api, auth, limits
        self._clock, self._sleep = clock, sleep

    async def make(self, execution: _Execution, node: TaskServiceNode) -> _Call:
        limits = self._limits
        try:
            values = execution.values()
            url = placeholders.render_url(node.url, values)
            query = placeholders.render_query(node.query, values)
            body = placeholders.render_body(node.body, values) if node.body is not None else None
            headers = {k: placeholders.render_text(v, values) for k, v in node.headers.items()}
        except placeholders.RenderError as exc:
            raise StepFailed("render_failed", str(exc)) from None
        attempts, refreshed = 0, False
        while True:
            attempts += 1
            request = ProviderRequest(
                execution.task.integration,
                node.method,
                url,
                query,
                headers,
                body,
                execution.connection.access_token,
            )
            try:
                answer = await self._api.call(request, limits.call_timeout_seconds)
            except ProviderCallFailed as exc:
                if node.method == "GET" and attempts < limits.max_attempts:
                    await self._sleep(self._backoff(attempts))
                    continue
                code = "provider_timeout" if exc.timed_out else "provider_unreachable"
                raise StepFailed(code, str(exc), attempts=attempts) from None
            if answer.status in MAYBE_EXPIRED and not refreshed:
                refreshed = True
                execution.connection = await self._refreshed(execution)
                continue
            if answer.status in NOT_CARRIED_OUT and attempts < limits.max_attempts:
                await self._sleep(self._wait(answer, attempts))
                continue
            if answer.status >= 500 and node.method == "GET" and attempts < limits.max_attempts:
                await self._sleep(self._backoff(attempts))
                continue
            if 200 <= answer.status < 300:
                return _Call(answer.status, attempts, answer.body)
            raise StepFailed(
                "provider_error",
                f"The provider answered {answer.status}: {_error_detail(answer.body)}",
                attempts=attempts,
                http_status=answer.status,
            )

    async def _refreshed(self, execution: _Execution) -> Connection:
        run = execution.run
        try:
            return await self._auth.access_token(
                run.app_id, execution.task.integration, run.subject, force_refresh=True
            )
        except NoUsableCredential as exc:
            raise StepFailed(exc.code, "The provider no longer accepts this credential") from None

    def _wait(self, answer: ProviderResponse, attempt: int) -> float:
        retry_after = _retry_after(answer.headers, self._clock)
        if retry_after is None:
            return self._backoff(attempt)
        return min(retry_after, self._limits.max_wait_seconds)

    def _backoff(self, attempt: int) -> float:
        limits = self._limits
        ceiling = min(limits.backoff_seconds * 2 ** (attempt - 1), limits.max_wait_seconds)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


class _Execution:
    """One run's walk through its nodes, with the context later nodes read."""

    def __init__(
        self,
        calls: _Calls,
        integration: Integration,
        task: DialogTask,
        run: Run,
        entities: dict[str, Any],
        conn: Connection,
    ) -> None:
        self._calls, self._integration = calls, integration
        self.task, self.run = task, run
        self.actions, self.message_nodes = execution_order(task)
        self.connection = conn
        self.context: dict[str, Any] = {"entities": entities}
        self.steps: list[Step] = []
        self.outputs: dict[str, Output] = {}
        self.messages: list[str] = []
        self._current: Action | None = None
        self._current_started = 0.0
        self.failed = False

    def values(self) -> dict[str, Any]:
        conn = self.connection
        return {
            "connection": {
                key: value
                for key, value in (
                    ("api_base_url", conn.api_base_url),
                    ("cloud_id", conn.cloud_id),
                    ("site_url", conn.site_url),
                )
                if value is not None
            },
            "provider": {"api_base_url": self._integration.api_base_url},
            "context": self.context,
        }

    async def run_actions(self) -> None:
        for node in self.actions:
            if self.failed:
                self.steps.append(_skipped(node))
                continue
            self._current, self._current_started = node, time.monotonic()
            try:
                step = await self._action(node)
            except StepFailed as exc:
                step = self._failed_step(node, exc.code, exc.detail, exc.attempts, exc.http_status)
                self.failed = True
            self._current = None
            self.steps.append(step)

    def fail_current(self, code: str, detail: str) -> None:
        done = {step.node for step in self.steps}
        for node in self.actions:
            if node.name in done:
                continue
            if node is self._current:
                self.steps.append(self._failed_step(node, code, detail, 1, None))
            else:
                self.steps.append(_skipped(node))
        self.failed = True

    def finish_messages(self) -> RunStatus:
        for node in self.message_nodes:
            if self.failed:
                self.steps.append(_skipped(node))
                continue
            try:
                self.messages.append(placeholders.render_text(node.text, self.values()))
            except placeholders.RenderError as exc:
                self.steps.append(_failed(node, "render_failed", str(exc), 0, None, 0))
                self.failed = True
                continue
            self.steps.append(Step(node=node.name, type="message", status="succeeded"))
        return "failed" if self.failed else "succeeded"

    def _failed_step(
        self, node: Action, code: str, detail: str, attempts: int, http_status: int | None
    ) -> Step:
        elapsed = int((time.monotonic() - self._current_started) * 1000)
        return _failed(node, code, detail, attempts, http_status, elapsed)

    async def _action(self, node: Action) -> Step:
        started = time.monotonic()
        if isinstance(node, TaskScriptNode):
            try:
                self.context.update(expressions.run_script(node.set, self.context))
            except expressions.ScriptFailed as exc:
                raise StepFailed("script_failed", exc.message) from None
            except expressions.ExpressionError as exc:
                raise StepFailed("script_error", str(exc)) from None
            return Step(node=node.name, type="script", status="succeeded", attempts=1)
        if isinstance(node, TaskLegacyScriptNode):
            raise StepFailed(
                "outdated_task", "This task predates its template: install the template again"
            )
        assert isinstance(node, TaskServiceNode)
        call = await self._calls.make(self, node)
        self.context[node.name] = {
            "response": {"status": call.http_status, "body": call.body, "headers": {}}
        }
        self.outputs[node.name] = Output(status=call.http_status, body=kept_body(call.body))
        return Step(
            node=node.name,
            type="service",
            status="succeeded",
            http_status=call.http_status,
            attempts=call.attempts,
            duration_ms=int((time.monotonic() - started) * 1000),
        )


def _subject_for(state: IntegrationState, subject: Subject | None) -> Subject:
    if state.authorization_type == "pre_authorize":
        return AppSubject()
    if not isinstance(subject, UserSubject):
        raise ValidationFailed(
            [
                {
                    "field": "subject",
                    "location": "body",
                    "message": "a user_authorize integration runs for an end user",
                    "type": "user_subject_required",
                }
            ]
        )
    return subject


def _kind(node: Action | TaskMessageNode) -> str:
    return "script" if isinstance(node, TaskLegacyScriptNode) else node.type


def _skipped(node: Action | TaskMessageNode) -> Step:
    return Step(node=node.name, type=_kind(node), status="skipped")


def _failed(
    node: Action | TaskMessageNode,
    code: str,
    detail: str,
    attempts: int,
    http_status: int | None,
    duration_ms: int,
) -> Step:
    return Step(
        node=node.name,
        type=_kind(node),
        status="failed",
        http_status=http_status,
        attempts=attempts,
        duration_ms=duration_ms,
        error=ErrorInfo(code=code, description=detail[:500]),
    )


def _retry_after(headers: Mapping[str, str], clock: Clock) -> float | None:
    """Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3); None when absent or odd."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - clock()).total_seconds()) if when.tzinfo else None


def _error_detail(body: Any) -> str:
    """What a provider's error body says, whatever its shape (Atlassian has several)."""
    if isinstance(body, dict):
        for key in ("message", "errorMessage", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])[:200]
        for key in ("errorMessages", "errors"):
            items = body.get(key)
            if isinstance(items, list) and items:
                first = items[0]
                text = (
                    first.get("title") or first.get("detail") if isinstance(first, dict) else first
                )
                return str(text)[:200]
    if isinstance(body, str):
        return body[:200]
    return "no details"
