"""Settings refuse to start a service with a one-line reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

from platform_core.settings import ServiceSettings, load_settings

GOOD_SECRET = "s" * 32


class DemoSettings(ServiceSettings):
    port: int = 9999


def test_valid_environment_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_JWT_SECRET", GOOD_SECRET)
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(DemoSettings, "demo")
    assert settings.log_level == "DEBUG"
    assert settings.platform_jwt_secret.get_secret_value() == GOOD_SECRET


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, "PLATFORM_JWT_SECRET is required"),
        ({"PLATFORM_JWT_SECRET": "short"}, "PLATFORM_JWT_SECRET must be at least 32 bytes"),
        (
            {"PLATFORM_JWT_SECRET": GOOD_SECRET, "MONGODB_URL": "http://db"},
            "MONGODB_URL not a MongoDB connection string",
        ),
        (
            {"PLATFORM_JWT_SECRET": GOOD_SECRET, "AMQP_URL": "redis://x"},
            "AMQP_URL not an amqp:// or amqps:// URL",
        ),
        ({"PLATFORM_JWT_SECRET": GOOD_SECRET, "PORT": "http"}, "PORT"),
    ],
)
def test_a_bad_environment_refuses_to_start_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    reason: str,
) -> None:
    for name in ("PLATFORM_JWT_SECRET", "MONGODB_URL", "AMQP_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SystemExit) as exit_info:
        load_settings(DemoSettings, "demo")

    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("demo: refusing to start:")
    assert reason in lines[0]


def test_the_reason_never_echoes_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLATFORM_JWT_SECRET", "hunter2-short")
    with pytest.raises(SystemExit):
        load_settings(DemoSettings, "demo")
    assert "hunter2" not in capsys.readouterr().err


@pytest.mark.parametrize("module", ["auth_service", "integration_service", "template_service"])
def test_each_service_process_refuses_to_start_without_a_jwt_secret(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module],
        env={"PATH": "/usr/bin:/bin", "PLATFORM_JWT_SECRET": "too-short"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PLATFORM_JWT_SECRET must be at least 32 bytes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
