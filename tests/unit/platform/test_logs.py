"""Log lines are JSON and never carry a token, a secret or an authorization code."""

from __future__ import annotations

import io
import json
import logging

import structlog

from platform_core.logs import REDACTED, configure_logging, get_logger, redact


def test_secret_keys_are_redacted_at_any_depth() -> None:
    record = {
        "access_token": "at-123",
        "nested": {"client_secret": "cs-1", "list": [{"refresh_token": "rt-1"}]},
        "headers": {"Authorization": "Bearer abc"},
        "harmless": "value",
    }
    assert redact(record) == {
        "access_token": REDACTED,
        "nested": {"client_secret": REDACTED, "list": [{"refresh_token": REDACTED}]},
        "headers": {"Authorization": REDACTED},
        "harmless": "value",
    }


def test_secret_values_are_redacted_inside_free_text() -> None:
    text = (
        "GET /oauth/callback?code=AUTHCODE1&state=STATE1 with Bearer tok.en-1 and "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl refresh_token=RT9"
    )
    cleaned = redact(text)
    for secret in ("AUTHCODE1", "STATE1", "tok.en-1", "eyJhbGciOiJIUzI1NiJ9", "RT9"):
        assert secret not in cleaned
    assert "code=[redacted]" in cleaned


def test_lines_are_json_with_the_bound_request_id_and_no_secret() -> None:
    stream = io.StringIO()
    configure_logging("demo", "INFO", stream=stream)
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        get_logger("t").info("exchanged", code="AUTHCODE2", url="https://x/cb?code=AUTHCODE3")
        logging.getLogger("aiohttp.access").info("header Authorization: Bearer SECRET4")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-1", "req-1"]
    assert all(line["service"] == "demo" for line in lines)
    for secret in ("AUTHCODE2", "AUTHCODE3", "SECRET4"):
        assert secret not in stream.getvalue()
