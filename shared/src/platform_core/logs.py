"""Structured JSON logging with a request or event id on every line, and secret redaction.

Every log line, from structlog or from the standard library (aiohttp, aio-pika, pymongo), goes
through the same processors, so `redact_secrets` sees all of them. Redaction works on key names
(an `authorization` header, a `client_secret` field) and on values (a `Bearer ...` string, a JWT,
`code=`/`state=`/`*_token=` in a URL), recursively.

Redaction cannot be made slow by what it is given (a provider's error text, a huge header): a
string is cut to `MAX_SCANNED_CHARS` before it is scanned (a token cut in half by that is dropped
whole), nesting is followed `MAX_DEPTH` levels deep, and every pattern runs in time linear in
its input. The value patterns have no quantifier that can backtrack into another (each scan is
one character class run, or a fixed word followed by one), and a JWT is found by splitting runs
of its alphabet at their dots instead of by a pattern, since a pattern for three dotted
segments retries every `eyJ` of a long run against the rest of it (quadratic).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.types import EventDict, Processor

from platform_core import tracing

REDACTED = "[redacted]"
TRUNCATED = "[truncated]"
MAX_SCANNED_CHARS = 8192
MAX_DEPTH = 12

SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "secret",
        "password",
        "authorization",
        "cookie",
        "set-cookie",
        "code",
        "code_verifier",
        "state",
        "platform_jwt_secret",
        "token_encryption_keys",
    }
)

# Each pattern keeps its first group (the name) and masks the rest (the secret). Possessive
# quantifiers: nothing a run consumed is ever given back to be tried again.
_SECRET_VALUE_PATTERNS = (
    re.compile(r"(?i)\b((?:bearer|basic)\s++)[A-Za-z0-9._~+/=-]++"),
    re.compile(
        r"(?i)\b((?:code|state|access_token|refresh_token|id_token|client_secret|code_verifier"
        r"|token)=)[^&\s\"']++"
    ),
)
# Runs of the JWT alphabet plus its separator; each character is visited by one run only.
_JWT_RUN = re.compile(r"[A-Za-z0-9_.-]{15,}+")
_JWT_HEADER = "eyJ"  # base64url of '{"', how every JWT header starts
_MIN_FIRST, _MIN_SECOND = 8, 5  # "eyJ" + 5 characters; 5 characters (as the old pattern had)
# What a token may hold: any of it at the very end of a cut string may be half of a secret.
_CUTTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-"


def _jwt_start(segment: str) -> int:
    """Where a JWT may start in one dot-free segment: `eyJ` at its start or after a `-` (a word
    boundary inside the alphabet), else -1."""
    at = segment.find(_JWT_HEADER)
    while at > 0 and segment[at - 1] != "-":
        at = segment.find(_JWT_HEADER, at + 1)
    return at


def _redact_jwts_in_run(run: str) -> str:
    if _JWT_HEADER not in run:
        return run
    parts = run.split(".")
    out: list[str] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        start = _jwt_start(part)
        if (
            start >= 0
            and len(part) - start >= _MIN_FIRST
            and index + 2 < len(parts)
            and len(parts[index + 1]) >= _MIN_SECOND
        ):
            out.append(part[:start] + REDACTED)
            index += 3
        else:
            out.append(part)
            index += 1
    return ".".join(out)


def _redact_jwts(text: str) -> str:
    if _JWT_HEADER not in text:
        return text
    return _JWT_RUN.sub(lambda match: _redact_jwts_in_run(match.group()), text)


def redact_text(text: str, *, limit: int | None = MAX_SCANNED_CHARS) -> str:
    """`text` with every secret-looking value masked; cut to `limit` characters first (None:
    scan all of it, which takes time linear in its length)."""
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip(_CUTTABLE) + TRUNCATED
    for pattern in _SECRET_VALUE_PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return _redact_jwts(text)


def redact(value: Any, key: str | None = None, *, _depth: int = 0) -> Any:
    if key is not None and key.lower() in SECRET_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping | list | tuple | set) and _depth >= MAX_DEPTH:
        return TRUNCATED
    if isinstance(value, Mapping):
        return {k: redact(v, str(k), _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v, _depth=_depth + 1) for v in value]
    return value


def redact_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    return {key: redact(value, key) for key, value in event_dict.items()}


class RedactRecord(logging.Filter):
    """Redacts a stdlib record in place, for handlers that are not ours (test log capture)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) for arg in record.args)
        return True


def add_trace_ids(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """The current trace and span, so a log line can be found from its trace and back."""
    ids = tracing.current_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def _shared_processors(service: str) -> list[Processor]:
    def add_service(_: Any, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        add_trace_ids,
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """Route structlog and stdlib logging to one JSON stream (stdout by default)."""
    shared = _shared_processors(service)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("aiohttp.access", "aiohttp.server", "aiohttp.web", "aiohttp.client"):
        logging.getLogger(name).addFilter(_REDACT_RECORD)
    for noisy in ("aio_pika", "aiormq", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


_REDACT_RECORD = RedactRecord()


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
