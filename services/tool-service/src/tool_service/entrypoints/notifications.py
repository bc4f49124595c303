"""Telling an app's connected MCP clients that its tools changed, the way their protocol version
provides (contract §3 "Tools"):

- protocol 2025-11-25 (initialize handshake, stateful Streamable HTTP): the server sends
  `notifications/tools/list_changed` on the session's standalone GET stream (MCP transports,
  "Listening for messages from the server"). `LegacySessions` knows each session's app: the
  SDK's runner hands every inbound message's `ServerSession` to `capture_sessions` (a server
  middleware), and the session's notification goes to its standalone stream when sent without a
  related request. Sessions are forgotten as the SDK forgets them: on DELETE, on a 404 for their
  id, or once idle (no request in flight, the GET stream included) for longer than the SDK's
  idle timeout, after which the SDK has closed them too.
- protocol 2026-07-28 (no sessions): a client asks with `subscriptions/listen` (SEP-2575), whose
  response is the stream. `AppListeners` serves it with the SDK's `ListenHandler` over one
  in-memory `SubscriptionBus` per app, so a stream hears of its own app only.

`McpAnnouncer` does both. Delivery is best-effort and bounded in time: a client that stopped
reading cannot hold up the event consumer, and a change notification is a hint to refetch,
never state (both protocol versions say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_core.logs import get_logger
from tool_service.domain.access import McpCaller
from tool_service.entrypoints.auth import caller_of
from tool_service.entrypoints.observability import ToolMetrics

log = get_logger("tool_service.notifications")

SESSION_HEADER = "mcp-session-id"
NOTIFY_TIMEOUT_SECONDS = 2.0
GET_CHANNEL = "session_get_stream"
LISTEN_CHANNEL = "subscriptions_listen"

Clock = Callable[[], float]


@dataclass
class _Session:
    app_id: str
    principal: str
    session: ServerSession


class LegacySessions:
    """The stateful sessions (2025-11-25) alive now, by id, with their app."""

    def __init__(self, idle_timeout_seconds: float, clock: Clock = time.monotonic) -> None:
        self._idle_timeout = idle_timeout_seconds
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._in_flight: dict[str, int] = {}
        self._last_seen: dict[str, float] = {}

    def seen(self, session_id: str, caller: McpCaller, session: ServerSession) -> None:
        self._sessions[session_id] = _Session(caller.app_id, caller.principal, session)
        self._last_seen[session_id] = self._clock()

    def ended(self, session_id: str, principal: str | None = None) -> None:
        """Forget the session; given `principal`, only if it is the session's own (the SDK
        answers 404 to anyone else's token too, and that must not silence the owner's)."""
        entry = self._sessions.get(session_id)
        if entry is not None and principal is not None and entry.principal != principal:
            return
        self._sessions.pop(session_id, None)
        self._last_seen.pop(session_id, None)

    @contextlib.contextmanager
    def serving(self, session_id: str) -> Iterator[None]:
        """One HTTP request of the session in flight (a POST, or the GET stream while open)."""
        self._in_flight[session_id] = self._in_flight.get(session_id, 0) + 1
        try:
            yield
        finally:
            left = self._in_flight[session_id] - 1
            if left:
                self._in_flight[session_id] = left
            else:
                del self._in_flight[session_id]
            if session_id in self._sessions:
                self._last_seen[session_id] = self._clock()

    def of_app(self, app_id: str) -> list[ServerSession]:
        self._forget_idle()
        return [entry.session for entry in self._sessions.values() if entry.app_id == app_id]

    def __len__(self) -> int:
        return len(self._sessions)

    def _forget_idle(self) -> None:
        cutoff = self._clock() - self._idle_timeout
        for session_id, seen in list(self._last_seen.items()):
            if seen < cutoff and session_id not in self._in_flight:
                self.ended(session_id)


class SessionActivity:
    """ASGI middleware on `/mcp` keeping `LegacySessions` in step with the SDK's sessions, and
    counting the GET streams clients hold open."""

    def __init__(self, app: ASGIApp, sessions: LegacySessions, metrics: ToolMetrics) -> None:
        self._app = app
        self._sessions = sessions
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = _header(scope, SESSION_HEADER)
        if scope["type"] != "http" or session_id is None:
            await self._app(scope, receive, send)
            return
        method = scope.get("method")
        status: int | None = None
        stream_open = False

        async def watch(message: Message) -> None:
            nonlocal status, stream_open
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if method == "GET" and status == 200:
                    stream_open = True
                    self._metrics.streams_opened.labels(GET_CHANNEL).inc()
                    self._metrics.open_streams.labels(GET_CHANNEL).inc()
            await send(message)

        try:
            with self._sessions.serving(session_id):
                await self._app(scope, receive, watch)
        finally:
            if stream_open:
                self._metrics.open_streams.labels(GET_CHANNEL).dec()
            if status == 404 or (method == "DELETE" and status is not None and status < 300):
                caller = caller_of(scope)
                self._sessions.ended(session_id, caller.principal if caller else None)


def capture_sessions(sessions: LegacySessions) -> ServerMiddleware[Any]:
    """A server middleware (`Server.middleware`) recording each handshake-era message's session."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        request = ctx.request
        if request is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            session_id = request.headers.get(SESSION_HEADER)
            caller = caller_of(request.scope)
            if session_id and caller is not None:
                sessions.seen(session_id, caller, ctx.session)
        return await call_next(ctx)

    return middleware


class AppListeners:
    """Serves `subscriptions/listen` (2026-07-28): each app's streams on a bus of its own."""

    def __init__(self, metrics: ToolMetrics, max_streams_per_app: int = 1024) -> None:
        self._metrics = metrics
        self._max = max_streams_per_app
        self._apps: dict[str, tuple[InMemorySubscriptionBus, ListenHandler, int]] = {}

    async def listen(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        caller = caller_of(getattr(ctx.request, "scope", None))
        if caller is None:
            raise MCPError(INTERNAL_ERROR, "No caller for this request")
        app_id = caller.app_id
        bus, handler, streams = self._apps.get(app_id) or self._new_app()
        self._apps[app_id] = (bus, handler, streams + 1)
        self._metrics.streams_opened.labels(LISTEN_CHANNEL).inc()
        self._metrics.open_streams.labels(LISTEN_CHANNEL).inc()
        try:
            return await handler(ctx, params)
        finally:
            self._metrics.open_streams.labels(LISTEN_CHANNEL).dec()
            bus, handler, streams = self._apps[app_id]
            if streams == 1:
                del self._apps[app_id]
            else:
                self._apps[app_id] = (bus, handler, streams - 1)

    async def publish(self, app_id: str) -> int:
        """Tell the app's open listen streams; how many there were."""
        entry = self._apps.get(app_id)
        if entry is None:
            return 0
        bus, _, streams = entry
        await bus.publish(ToolsListChanged())
        return streams

    def close(self) -> None:
        """End every open stream gracefully (at shutdown): each sends its final result."""
        for _, handler, _ in self._apps.values():
            handler.close()

    def _new_app(self) -> tuple[InMemorySubscriptionBus, ListenHandler, int]:
        bus = InMemorySubscriptionBus()
        return bus, ListenHandler(bus, max_subscriptions=self._max), 0


class McpAnnouncer:
    """The service layer's `Announcer`: both eras, best-effort, bounded."""

    def __init__(
        self, sessions: LegacySessions, listeners: AppListeners, metrics: ToolMetrics
    ) -> None:
        self._sessions = sessions
        self._listeners = listeners
        self._metrics = metrics

    async def tools_changed(self, app_id: str) -> None:
        sent = 0
        for session in self._sessions.of_app(app_id):
            if await _bounded(session.send_tool_list_changed()):
                sent += 1
                self._metrics.list_changed.labels(GET_CHANNEL).inc()
        streams = await self._listeners.publish(app_id)
        self._metrics.list_changed.labels(LISTEN_CHANNEL).inc(streams)
        log.info("tools_list_changed_announced", app_id=app_id, sessions=sent, streams=streams)


async def _bounded(step: Any) -> bool:
    try:
        await asyncio.wait_for(step, NOTIFY_TIMEOUT_SECONDS)
    except TimeoutError:
        log.warning("tools_list_changed_not_delivered", reason="timeout")
        return False
    except Exception as exc:
        # A session that ended between lookup and send: nothing to tell any more.
        log.info("tools_list_changed_not_delivered", reason=type(exc).__name__)
        return False
    return True


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None
