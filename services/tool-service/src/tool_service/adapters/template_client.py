"""The calls tool-service makes to template-service (contract §3), each with a service JWT it
mints itself for that one app, naming template-service as its audience:

- `GET /v1/apps/{app_id}/tools?format=mcp` (scope `integrations:read`), every page;
- `POST /v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs` (scope `actions:run`);
- `GET /healthz`, for readiness.

The MCP caller's own token never leaves tool-service. A run's answer lost on the way (timeout,
dropped connection) is asked for once more with the same idempotency key: template-service then
answers the first run instead of starting a second, so nothing is done twice. Exceptions carry
messages safe to log: a status, a code, a class name; never a token, never a body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from platform_core.contract_types import Subject
from platform_core.logs import get_logger
from platform_core.peer_http import PeerUnreachable, call_peer
from platform_core.service_auth import Scope, mint_token
from tool_service.domain.runs import MalformedRun, RunRefusal, RunReport
from tool_service.domain.tools import MalformedTool, ToolDefinition
from tool_service.service_layer.ports import TemplateServiceUnavailable

log = get_logger("tool_service.template_client")

CALLER = "tool-service"
AUDIENCE = ("template-service",)
PAGE_LIMIT = 200
MAX_PAGES = 50
TOKEN_TTL_SECONDS = 300
# A run answer lost in transit: asked for again this many more times, with the same key.
RUN_RESENDS = 1
# Answers that are a refusal of the run, not a failure to reach template-service.
REFUSALS = frozenset({400, 404, 409, 422, 429, 503})


class TemplateServiceClient:
    """Opened (`async with`) inside the running event loop, where its HTTP session must live."""

    def __init__(
        self,
        base_url: str,
        jwt_secret: str,
        *,
        timeout_seconds: float,
        run_timeout_seconds: float,
    ) -> None:
        self._http: aiohttp.ClientSession | None = None
        self._base_url = base_url.rstrip("/")
        self._secret = jwt_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._run_timeout = aiohttp.ClientTimeout(total=run_timeout_seconds)

    async def __aenter__(self) -> TemplateServiceClient:
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise TemplateServiceUnavailable("the template-service client is not open")
        return self._http

    async def tools(self, app_id: str) -> list[ToolDefinition]:
        path = f"/v1/apps/{quote(app_id, safe='')}/tools"
        tools: list[ToolDefinition] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query = {"format": "mcp", "limit": str(PAGE_LIMIT)}
            if cursor is not None:
                query["cursor"] = cursor
            status, body = await self._call(
                "GET", path, app_id, Scope.READ, params=query, timeout=self._timeout
            )
            if status != 200 or not isinstance(body, dict):
                raise TemplateServiceUnavailable(f"tools answered {status}")
            for item in body.get("items") or []:
                try:
                    tools.append(ToolDefinition.from_listing(item))
                except MalformedTool as exc:
                    log.warning("tool_left_out", reason=str(exc))
            cursor = body.get("next_cursor")
            if not isinstance(cursor, str):
                return tools
        raise TemplateServiceUnavailable(f"tools did not end within {MAX_PAGES} pages")

    async def start_run(
        self,
        app_id: str,
        dialog_task_id: str,
        entities: Mapping[str, Any],
        subject: Subject,
        idempotency_key: str,
    ) -> RunReport | RunRefusal:
        path = (
            f"/v1/apps/{quote(app_id, safe='')}/dialog-tasks/{quote(dialog_task_id, safe='')}/runs"
        )
        body = {
            "entities": dict(entities),
            "subject": subject.model_dump(mode="json"),
            "idempotency_key": idempotency_key,
        }
        for attempt in range(RUN_RESENDS + 1):
            try:
                status, answer = await self._call(
                    "POST", path, app_id, Scope.RUN_ACTIONS, json=body, timeout=self._run_timeout
                )
                break
            except TemplateServiceUnavailable:
                if attempt == RUN_RESENDS:
                    raise
                log.warning("run_answer_lost_asking_again", attempt=attempt + 1)
        if status in (200, 201):
            try:
                return RunReport.of(answer)
            except MalformedRun as exc:
                raise TemplateServiceUnavailable(str(exc)) from None
        if status in REFUSALS or status == 500:
            return RunRefusal.of(status, answer)
        # 401/403: our own token was refused, a deployment mistake the agent cannot fix.
        log.error("template_service_refused_tool_service", status=status)
        raise TemplateServiceUnavailable(f"runs answered {status}")

    async def reachable(self) -> bool:
        try:
            async with self._session.get(
                f"{self._base_url}/healthz", timeout=self._timeout
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, TemplateServiceUnavailable):
            return False

    async def _call(
        self,
        method: str,
        path: str,
        app_id: str,
        scope: Scope,
        *,
        timeout: aiohttp.ClientTimeout,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> tuple[int, Any]:
        token = mint_token(
            self._secret,
            CALLER,
            [scope],
            app_ids=[app_id],
            ttl_seconds=TOKEN_TTL_SECONDS,
            audience=AUDIENCE,
        )
        try:
            answer = await call_peer(
                self._session,
                method,
                f"{self._base_url}{path}",
                token,
                json=json,
                params=params,
                timeout=timeout,
            )
        except PeerUnreachable as exc:
            log.warning("template_service_unreachable", error=str(exc))
            raise TemplateServiceUnavailable(f"template-service did not answer ({exc})") from None
        return answer.status, answer.body
