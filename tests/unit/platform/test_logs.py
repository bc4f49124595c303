"""Log lines are JSON and never carry a token, a secret or an authorization code, and redacting
them takes time linear in what is logged, whatever it is."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from platform_core import tracing
from platform_core.logs import (
    MAX_DEPTH,
    MAX_SCANNED_CHARS,
    REDACTED,
    TRUNCATED,
    configure_logging,
    get_logger,
    redact,
    redact_text,
)


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


def test_a_line_logged_inside_a_span_carries_its_trace_and_span_ids() -> None:
    stream = io.StringIO()
    configure_logging("demo", "INFO", stream=stream)
    tracing.use_provider(TracerProvider())
    try:
        get_logger("t").info("outside")
        with tracing.span("work", SpanKind.INTERNAL) as span:
            get_logger("t").info("inside")
    finally:
        tracing.use_provider(None)
    outside, inside = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "trace_id" not in outside and "span_id" not in outside
    assert span is not None
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
MEGABYTES = 4 << 20

# Inputs that make a backtracking pattern quadratic (or worse): long runs of what a token may
# hold that never complete a token, and many starts of one.
ADVERSARIAL = {
    "jwt starts": "-eyJ" * (MEGABYTES // 4),
    "one endless jwt segment": "eyJ" + "a" * MEGABYTES,
    "dotted almost-jwts": ".eyJaaaaa.aa" * (MEGABYTES // 12),
    "jwt starts after word characters": "_eyJ" * (MEGABYTES // 4),
    "bearer then whitespace": "Bearer " + "\t " * (MEGABYTES // 2),
    "many bearers": "bearer " * (MEGABYTES // 7),
    "query keys": "code=" * (MEGABYTES // 5),
    "empty query values": "state=&" * (MEGABYTES // 7),
    "short runs": ("x" * 14 + " ") * (MEGABYTES // 15),
    "one long word": "a" * MEGABYTES + " ",
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_megabytes_of_adversarial_text_are_scanned_in_linear_time(name: str) -> None:
    text = ADVERSARIAL[name]
    cleaned = redact_text(text, limit=None)
    assert len(cleaned) <= len(text) + len(REDACTED) * (len(text) // 4 + 1)


@pytest.mark.timeout(20)
def test_every_log_value_is_cut_before_it_is_scanned_so_a_huge_one_costs_little() -> None:
    text = "error=" + "-eyJ" * (MEGABYTES // 4)
    cleaned = redact({"error_description": text, "nested": [{"detail": text}]})
    assert len(cleaned["error_description"]) <= MAX_SCANNED_CHARS + len(TRUNCATED)
    assert cleaned["error_description"].endswith(TRUNCATED)
    assert cleaned["nested"][0]["detail"] == cleaned["error_description"]


def test_a_secret_cut_in_half_by_the_bound_is_dropped_whole() -> None:
    cut = redact_text("refresh_token " + "R" * 20_000, limit=100)
    assert "R" not in cut
    assert cut == "refresh_token " + TRUNCATED
    assert redact_text("short", limit=100) == "short"


def test_nesting_deeper_than_the_bound_is_cut_not_recursed() -> None:
    nested: dict[str, object] = {"leaf": "x"}
    for _ in range(100_000):
        nested = {"next": nested}
    cleaned = redact(nested)
    depth = 0
    while isinstance(cleaned, dict):
        cleaned, depth = cleaned["next"], depth + 1
    assert cleaned == TRUNCATED and depth <= MAX_DEPTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"jwt {JWT} end", f"jwt {REDACTED} end"),
        (f"x-{JWT}", f"x-{REDACTED}"),
        (f"a.{JWT}.b", f"a.{REDACTED}.b"),
        (f"{JWT} and {JWT}", f"{REDACTED} and {REDACTED}"),
        (f"x_{JWT}", f"x_{JWT}"),  # no word boundary before it: not a token of its own
        ("eyJabc.defgh.ij", "eyJabc.defgh.ij"),  # a first segment too short to be a JWT
        (
            "see https://host/?code=abc&state=def",
            f"see https://host/?code={REDACTED}&state={REDACTED}",
        ),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: Basic {REDACTED}"),
    ],
)
def test_value_patterns_mask_exactly_what_they_did_before(text: str, expected: str) -> None:
    assert redact_text(text) == expected
