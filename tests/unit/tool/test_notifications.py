"""Which connected clients hear that an app's tools changed: the handshake-era sessions kept in
step with the SDK's (forgotten on DELETE, on 404, or once idle with nothing in flight)."""

from __future__ import annotations

from typing import Any, cast

from mcp.server.session import ServerSession
from starlette.types import Message, Receive, Scope, Send

from tests.unit.tool.fakes import caller
from tool_service.domain.access import McpCaller
from tool_service.entrypoints.auth import CALLER_SCOPE_KEY
from tool_service.entrypoints.notifications import LegacySessions, SessionActivity
from tool_service.entrypoints.observability import ToolMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def session(name: str) -> ServerSession:
    return cast(ServerSession, name)  # only identity matters to the bookkeeping


def test_sessions_are_listed_by_their_app() -> None:
    sessions = LegacySessions(idle_timeout_seconds=60)
    sessions.seen("s1", caller(app_id="app-1"), session("one"))
    sessions.seen("s2", caller(app_id="app-2"), session("two"))
    sessions.seen("s3", caller(app_id="app-1", user_id="u-3"), session("three"))
    assert sessions.of_app("app-1") == [session("one"), session("three")]
    sessions.ended("s1")
    assert sessions.of_app("app-1") == [session("three")]


def test_an_idle_session_is_forgotten_but_not_one_with_its_stream_open() -> None:
    clock = Clock()
    sessions = LegacySessions(idle_timeout_seconds=60, clock=clock)
    sessions.seen("idle", caller(), session("idle"))
    sessions.seen("listening", caller(), session("listening"))
    with sessions.serving("listening"):
        clock.now = 61
        assert sessions.of_app("app-1") == [session("listening")]
    clock.now = 100
    assert sessions.of_app("app-1") == [session("listening")]  # idle only since its stream closed
    clock.now = 122
    assert sessions.of_app("app-1") == []
    assert len(sessions) == 0


def asgi_answering(status: int) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


async def request(
    activity: SessionActivity, method: str, session_id: str, by: McpCaller | None = None
) -> None:
    scope: Scope = {
        "type": "http",
        "method": method,
        "headers": [(b"mcp-session-id", session_id.encode())],
        CALLER_SCOPE_KEY: by or caller(),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    await activity(scope, receive, send)


async def test_a_deleted_or_unknown_session_is_forgotten() -> None:
    sessions = LegacySessions(idle_timeout_seconds=60)
    metrics = ToolMetrics()
    for session_id in ("deleted", "expired", "alive"):
        sessions.seen(session_id, caller(), session(session_id))
    await request(SessionActivity(asgi_answering(200), sessions, metrics), "DELETE", "deleted")
    await request(SessionActivity(asgi_answering(404), sessions, metrics), "POST", "expired")
    await request(SessionActivity(asgi_answering(202), sessions, metrics), "POST", "alive")
    assert sessions.of_app("app-1") == [session("alive")]


async def test_a_stranger_refused_a_session_does_not_silence_its_owner() -> None:
    sessions = LegacySessions(idle_timeout_seconds=60)
    sessions.seen("s1", caller(user_id="u-1"), session("owner"))
    stranger = caller(user_id="u-2")
    activity = SessionActivity(asgi_answering(404), sessions, ToolMetrics())
    await request(activity, "POST", "s1", by=stranger)
    await request(activity, "DELETE", "s1", by=stranger)
    assert sessions.of_app("app-1") == [session("owner")]


async def test_an_open_get_stream_is_counted_while_it_lasts() -> None:
    sessions = LegacySessions(idle_timeout_seconds=60)
    metrics = ToolMetrics()
    await request(SessionActivity(asgi_answering(200), sessions, metrics), "GET", "s1")
    labels = {"channel": "session_get_stream"}
    sample = metrics.registry.get_sample_value
    assert sample("mcp_notification_streams_opened_total", labels) == 1
    assert sample("mcp_notification_streams_open", labels) == 0
