"""Structured JSON logging with a request or event id on every line, and secret redaction.

Every log line, from structlog or from the standard library (aiohttp, aio-pika, pymongo), goes
through the same processors, so `redact_secrets` sees all of them. Redaction works on key names
(an `authorization` header, a `client_secret` field) and on values (a `Bearer ...` string, a JWT,
`code=`/`state=`/`*_token=` in a URL), recursively.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.types import EventDict, Processor

REDACTED = "[redacted]"

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

# Each pattern keeps its first group (the name) and masks the rest (the secret).
_SECRET_VALUE_PATTERNS = (
    re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)\b((?:code|state|access_token|refresh_token|id_token|client_secret|code_verifier"
        r"|token)=)[^&\s\"']+"
    ),
)


def _redact_text(text: str) -> str:
    for pattern in _SECRET_VALUE_PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


def redact(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in SECRET_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v) for v in value]
    return value


def redact_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    return {key: redact(value, key) for key, value in event_dict.items()}


class RedactRecord(logging.Filter):
    """Redacts a stdlib record in place, for handlers that are not ours (test log capture)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) for arg in record.args)
        return True


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
