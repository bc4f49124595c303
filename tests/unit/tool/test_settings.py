"""tool-service's settings: contract §5's own variables, refused at start-up with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit.tool.fakes import SECRET
from tool_service.settings import ToolSettings

ENV = {"PLATFORM_JWT_SECRET": SECRET, "MCP_AUTHORIZATION_SERVERS": "http://127.0.0.1:8081"}


def test_its_own_variables_and_the_urls_made_from_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **ENV,
        "PUBLIC_BASE_URL": "https://tools.example/",
        "MCP_AUTHORIZATION_SERVERS": " https://auth.example ,https://idp.example/t/1,",
        "TEMPLATE_SERVICE_URL": "http://template:8083/",
    }.items():
        monkeypatch.setenv(name, value)
    settings = ToolSettings()
    assert settings.port == 8084
    assert settings.authorization_servers == ("https://auth.example", "https://idp.example/t/1")
    assert settings.resource_url == "https://tools.example/mcp"
    assert settings.resource_metadata_url == (
        "https://tools.example/.well-known/oauth-protected-resource"
    )
    assert settings.template_service_url == "http://template:8083"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"MCP_AUTHORIZATION_SERVERS": None}, "MCP_AUTHORIZATION_SERVERS is required"),
        ({"MCP_AUTHORIZATION_SERVERS": " , "}, "at least one authorization server"),
        ({"MCP_AUTHORIZATION_SERVERS": "http://auth.example"}, "must be https"),
        ({"MCP_AUTHORIZATION_SERVERS": "https://auth.example/?tenant=1"}, "query or fragment"),
        ({"MCP_AUTHORIZATION_SERVERS": "auth.example"}, "has no host"),
        ({"PUBLIC_BASE_URL": "https://tools.example/mcp"}, "PUBLIC_BASE_URL"),
        ({"TEMPLATE_SERVICE_URL": "template:8083"}, "TEMPLATE_SERVICE_URL"),
    ],
)
def test_a_bad_value_refuses_the_start_with_one_line_naming_it_not_echoing_it(
    env: dict[str, str | None], reason: str
) -> None:
    environment = {name: value for name, value in {**ENV, **env}.items() if value is not None}
    script = (
        "from platform_core.settings import load_settings\n"
        "from tool_service.settings import SERVICE_NAME, ToolSettings\n"
        "load_settings(ToolSettings, SERVICE_NAME)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tool-service: refusing to start:")
    assert reason in lines[0]
    for value in env.values():
        if value and value.strip(" ,"):
            assert value not in lines[0]
