"""The CLI's settings: flags first, then the environment the services themselves read.

| setting | flag | environment | default |
|---|---|---|---|
| auth-service | `--auth-url` | `AUTH_SERVICE_URL` | `http://127.0.0.1:8081` |
| integration-service | `--integration-url` | `INTEGRATION_SERVICE_URL` | `http://127.0.0.1:8082` |
| template-service | `--template-url` | `TEMPLATE_SERVICE_URL` | `http://127.0.0.1:8083` |
| JWT secret | `--jwt-secret-file PATH` | `PLATFORM_JWT_SECRET` | none: required |
| JWT `sub` | `--subject` | `PLATFORM_JWT_SUBJECT` | `integrations-cli` |
| seconds per attempt | `--timeout` | | 30 |
| tries when unavailable | `--attempts` | | 4 |

The secret has no flag of its own on purpose: a command line is visible to every user of the
machine (`ps`) and lands in shell histories. A problem with it is reported without its value.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from integrations_client import ServiceUrls
from integrations_client.tokens import MIN_SECRET_BYTES

__all__ = ["SECRET_VARIABLE", "Settings", "UsageError", "load_settings"]

SECRET_VARIABLE = "PLATFORM_JWT_SECRET"  # noqa: S105 - the variable's name, not a secret
SUBJECT_VARIABLE = "PLATFORM_JWT_SUBJECT"
DEFAULT_SUBJECT = "integrations-cli"


class UsageError(Exception):
    """The command cannot be run as given (exit status 2)."""


@dataclass(frozen=True)
class Settings:
    urls: ServiceUrls
    jwt_secret: str = field(repr=False)
    subject: str = DEFAULT_SUBJECT
    timeout: float = 30.0
    attempts: int = 4


def _secret(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    path: str | None = getattr(args, "jwt_secret_file", None)
    if path is not None:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read the JWT secret file {path}: {type(exc).__name__}"
            ) from None
        where = f"the file {path}"
    else:
        secret = environ.get(SECRET_VARIABLE, "")
        where = SECRET_VARIABLE
        if not secret:
            raise UsageError(f"{SECRET_VARIABLE} is not set (or pass --jwt-secret-file PATH)")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise UsageError(f"the JWT secret in {where} must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def load_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    local = ServiceUrls.local()

    def url(flag: str, variable: str, default: str) -> str:
        return getattr(args, flag, None) or environ.get(variable) or default

    try:
        urls = ServiceUrls(
            auth=url("auth_url", "AUTH_SERVICE_URL", local.auth),
            integration=url("integration_url", "INTEGRATION_SERVICE_URL", local.integration),
            template=url("template_url", "TEMPLATE_SERVICE_URL", local.template),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    given_timeout: float | None = getattr(args, "timeout", None)
    timeout = 30.0 if given_timeout is None else given_timeout
    if timeout <= 0:
        raise UsageError("--timeout must be positive")
    given_attempts: int | None = getattr(args, "attempts", None)
    attempts = 4 if given_attempts is None else given_attempts
    if attempts < 1:
        raise UsageError("--attempts must be at least 1")
    subject = getattr(args, "subject", None) or environ.get(SUBJECT_VARIABLE) or DEFAULT_SUBJECT
    return Settings(
        urls=urls,
        jwt_secret=_secret(args, environ),
        subject=subject,
        timeout=timeout,
        attempts=attempts,
    )
