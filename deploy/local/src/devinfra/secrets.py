"""Secrets for local runs: generated once into a git-ignored file, never committed.

`PLATFORM_JWT_SECRET` and `TOKEN_ENCRYPTION_KEYS` are made from the OS CSPRNG the first time
`up` runs and kept in `<state dir>/secrets.env`, so tokens and the vault survive restarts.
Values already in the environment win, so an operator can bring their own.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

SECRETS_FILE = "secrets.env"
SECRET_NAMES = frozenset(
    {"PLATFORM_JWT_SECRET", "TOKEN_ENCRYPTION_KEYS", "LOCAL_IDP_CLIENT_SECRET"}
)
SECRET_SUFFIXES = ("_SECRET", "_KEYS", "_PASSWORD", "_TOKEN")


def is_secret(name: str) -> bool:
    """Whether a variable holds a secret: never printed, never written to infra.env (the stand-in
    OAuth apps' CONFLUENCE_CLIENT_SECRET and the like as much as the generated ones)."""
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def _generate() -> dict[str, str]:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        "PLATFORM_JWT_SECRET": secrets.token_urlsafe(48),
        "TOKEN_ENCRYPTION_KEYS": f"local1:{key}",
        "LOCAL_IDP_CLIENT_SECRET": secrets.token_urlsafe(32),
    }


def ensure_secrets(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    path = state_dir / SECRETS_FILE
    stored = _read(path)
    missing = {k: v for k, v in _generate().items() if k not in stored}
    if missing:
        stored.update(missing)
        _write_private(path, stored)
    return {name: env.get(name) or value for name, value in stored.items()}


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _write_private(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{k}={v}\n" for k, v in values.items())
    partial.replace(path)


def forget_secrets(state_dir: Path) -> bool:
    """Secrets outlive `down` on purpose: stored credentials stay readable across restarts."""
    return False


def describe_secrets(state_dir: Path, env: Mapping[str, str]) -> str:
    path = state_dir / SECRETS_FILE
    return f"kept in {path}" if path.exists() else "not generated yet"
